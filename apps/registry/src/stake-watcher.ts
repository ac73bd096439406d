import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { artifacts, idToBytes32, readStake } from '@starminer/chain';
import { nodeDecider } from '@starminer/domain';
import { chainConfigSchema, loadConfig, publicClientFor, ServiceRuntime, Ticker, type ChainConfig } from '@starminer/service-kit';
import { NodeRow } from './node-row.entity';

/** How far one scan reads the chain, and how often. */
export const STAKE_SCAN_BLOCKS_MAX = 2_000n;
export const STAKE_SCAN_INTERVAL_MS = 2_000;

/** The last block whose staking events the registry has turned into node events. */
@Entity({ name: 'chain_cursors' })
export class ChainCursor {
  @PrimaryColumn({ type: 'text' }) name!: string;
  @Column({ type: 'bigint' }) block!: string;
}

/** The registry's chain access, when it has one (stake is then learned from chain events). */
export function optionalChainConfig(env: NodeJS.ProcessEnv = process.env): ChainConfig | undefined {
  if (!env.RPC_URL || !env.MARKET_ADDRESSES) return undefined;
  return loadConfig(chainConfigSchema, env);
}

/**
 * Learns providers' stake from the staking contract: each Staked, UnbondRequested, Withdrawn or
 * Slashed of a registered node key in the pool it registered with becomes `NodeStakeChanged` with
 * the stake the contract holds now (so replays and re-read blocks record nothing new).
 */
@Injectable()
export class StakeWatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('stake');
  private readonly chain = optionalChainConfig();
  private readonly client = this.chain ? publicClientFor(this.chain) : undefined;
  private readonly ticker = new Ticker('stake-scan', STAKE_SCAN_INTERVAL_MS, () => this.scan());

  constructor(private readonly rt: ServiceRuntime) {}

  onApplicationBootstrap(): void {
    if (!this.chain || !this.chain.MARKET_ADDRESSES.staking) {
      this.logger.warn('no staking contract configured: stake is taken from registrations only');
      return;
    }
    this.ticker.start();
  }

  onApplicationShutdown(): void {
    this.ticker.stop();
  }

  async scan(): Promise<void> {
    if (!this.chain || !this.client) return;
    const addresses = this.chain.MARKET_ADDRESSES;
    const staking = addresses.staking;
    if (!staking) return;
    const client = this.client;
    const cursors = this.rt.db.getRepository(ChainCursor);
    const cursor = await cursors.findOne({ where: { name: 'staking' } });
    const from = cursor ? BigInt(cursor.block) + 1n : BigInt(addresses.deployBlock ?? 0);
    const latest = await client.getBlockNumber();
    if (latest < from) return;
    const to = latest - from > STAKE_SCAN_BLOCKS_MAX ? from + STAKE_SCAN_BLOCKS_MAX : latest;
    const logs = await client.getContractEvents({ address: staking, abi: artifacts().StakingPools.abi, fromBlock: from, toBlock: to });
    const nodes = this.rt.db.getRepository(NodeRow);
    for (const log of logs) {
      const args = log.args as { poolId?: `0x${string}`; staker?: `0x${string}` };
      if (!args.staker || !args.poolId) continue;
      const node = await nodes.findOne({ where: { nodeAddress: args.staker.toLowerCase() } });
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
    await cursors.upsert({ name: 'staking', block: String(to) }, ['name']);
  }
}
