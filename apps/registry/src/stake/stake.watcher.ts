import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { artifacts, idToBytes32, readStake, type ChainPublicClient, type MarketAddresses } from '@starminer/chain';
import { nodeDecider } from '@starminer/domain';
import { InjectConfig, publicClientFor, ServiceRuntime, Ticker } from '@starminer/service-kit';
import { NodesProjection } from '../nodes/nodes.projection';
import type { RegistryConfig } from '../registry.config';
import { ChainCursor } from './chain-cursor.entity';

/** How far one scan reads the chain, and how often. */
export const STAKE_SCAN_BLOCKS_MAX = 2_000n;
export const STAKE_SCAN_INTERVAL_MS = 2_000;
const CURSOR = 'staking';

/**
 * Learns providers' stake from the staking contract, when the registry has a chain with one: each
 * Staked, UnbondRequested, Withdrawn or Slashed of a registered node key in the pool it registered
 * with becomes `NodeStakeChanged` with the stake the contract holds now (so replays and re-read
 * blocks record nothing new). Without a chain, stake is what registrations say.
 */
@Injectable()
export class StakeWatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('stake');
  private readonly chain?: { client: ChainPublicClient; addresses: MarketAddresses; staking: `0x${string}` };
  private readonly ticker = new Ticker('stake-scan', STAKE_SCAN_INTERVAL_MS, () => this.scan());

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly nodes: NodesProjection,
    @InjectConfig() config: RegistryConfig,
  ) {
    const staking = config.chain?.MARKET_ADDRESSES.staking;
    if (config.chain && staking) this.chain = { client: publicClientFor(config.chain), addresses: config.chain.MARKET_ADDRESSES, staking };
  }

  onApplicationBootstrap(): void {
    if (!this.chain) {
      this.logger.warn('no staking contract configured: stake is taken from registrations only');
      return;
    }
    this.ticker.start();
  }

  // before the kit closes the log and the database (its global module's shutdown hooks run first)
  async onModuleDestroy(): Promise<void> {
    await this.ticker.stop();
  }

  /** One round: the staking events of the next blocks, at most STAKE_SCAN_BLOCKS_MAX + 1 of them. */
  async scan(): Promise<void> {
    if (!this.chain) return;
    const { client, addresses, staking } = this.chain;
    const cursors = this.rt.db.getRepository(ChainCursor);
    const cursor = await cursors.findOne({ where: { name: CURSOR } });
    const from = cursor ? BigInt(cursor.block) + 1n : BigInt(addresses.deployBlock ?? 0);
    const latest = await client.getBlockNumber();
    if (latest < from) return;
    const to = latest - from > STAKE_SCAN_BLOCKS_MAX ? from + STAKE_SCAN_BLOCKS_MAX : latest;
    const logs = await client.getContractEvents({ address: staking, abi: artifacts().StakingPools.abi, fromBlock: from, toBlock: to });
    for (const log of logs) {
      const args = log.args as { poolId?: `0x${string}`; staker?: `0x${string}` };
      if (!args.staker || !args.poolId) continue;
      const node = await this.nodes.byAddress(args.staker);
      if (!node?.poolId || idToBytes32(node.poolId) !== args.poolId) continue;
      const stake = await readStake(client, { addresses, poolId: node.poolId, staker: args.staker });
      await this.rt.execute(
        'node',
        node.nodeId,
        nodeDecider,
        { type: 'RecordStake', poolId: node.poolId, stakeWei: stake.activeWei, blockNumber: String(log.blockNumber), txHash: log.transactionHash ?? '0x' },
        { correlationId: node.nodeId, causationId: log.transactionHash ?? node.nodeId, actor: 'service:registry' },
      );
    }
    await cursors.upsert({ name: CURSOR, block: String(to) }, ['name']);
  }
}
