import { Logger } from '@nestjs/common';
import { uuidv7 } from 'uuidv7';
import { artifacts, jobIdToBytes32, readStake, slashStake, type ChainPublicClient, type ChainWalletClient, type MarketAddresses } from '@starminer/chain';
import { makeEvent, type TradeEventOf } from '@starminer/events';
import { nodeDecider } from '@starminer/domain';
import type { ServiceRuntime } from '@starminer/service-kit';

/**
 * A proven failure (a result that recomputation rejected) costs the provider stake: up to the
 * job's escrow is slashed from the node key's stake in its pool and paid to the requester, on top
 * of the refund. Exactly once per job: the chain's `Slashed` events (indexed by job) and the
 * pool's `StakeSlashed` events are both checked before acting, so a redelivery only records.
 */
export class Slashing {
  private readonly logger = new Logger('slashing');

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly wallet: ChainWalletClient,
    private readonly publicClient: ChainPublicClient,
    private readonly addresses: MarketAddresses,
  ) {}

  async afterRefund(refunded: TradeEventOf<'ContractRefunded'>): Promise<void> {
    const jobId = refunded.data.jobId;
    if (!this.addresses.staking) return;
    const contract = await this.rt.events('contract', jobId);
    if (!contract.some((e) => e.type === 'ResultRejected')) return; // a missed deadline is refunded, not slashed
    const matched = (await this.rt.events('job', jobId)).find((e): e is TradeEventOf<'JobMatched'> => e.type === 'JobMatched');
    if (!matched) return;
    const node = (await this.rt.load('node', matched.data.nodeId, nodeDecider)).state;
    if (node.status !== 'registered' || !node.poolId) return;
    const poolId = node.poolId;
    const provider = node.nodeAddress as `0x${string}`;
    const recipient = refunded.data.requesterAddress as `0x${string}`;

    let txHash = await this.slashedOnChain(jobId);
    let amountWei = 0n;
    if (txHash) {
      amountWei = txHash.amountWei;
    } else {
      const stake = await readStake(this.publicClient, { addresses: this.addresses, poolId, staker: provider });
      const available = stake.activeWei + stake.unbondingWei;
      amountWei = available < refunded.data.amountWei ? available : refunded.data.amountWei;
      if (amountWei === 0n) return;
      const sent = await slashStake(this.wallet, this.publicClient, { addresses: this.addresses, poolId, provider, amountWei, recipient, jobId });
      txHash = { txHash: sent.txHash, amountWei };
      this.logger.warn(`job ${jobId}: slashed ${amountWei} wei of ${node.nodeId}'s stake in ${poolId} to the requester`);
    }
    const subject = this.rt.subject('pool', poolId);
    const pool = await this.rt.events('pool', poolId);
    if (pool.some((e) => e.type === 'StakeSlashed' && e.data.jobId === jobId)) return;
    const event = makeEvent(
      'StakeSlashed',
      { poolId, nodeId: node.nodeId, nodeAddress: provider, jobId, amountWei, recipient, txHash: txHash.txHash },
      { id: uuidv7(), aggregateId: poolId, occurredAt: new Date().toISOString(), correlationId: jobId, causationId: refunded.id, actor: 'service:settlement' },
    );
    await this.rt.tradeLog.append(subject, [event], { expectedLastSubjectSeq: 'any' });
  }

  private async slashedOnChain(jobId: string): Promise<{ txHash: `0x${string}`; amountWei: bigint } | undefined> {
    const logs = await this.publicClient.getContractEvents({
      address: this.addresses.staking!,
      abi: artifacts().StakingPools.abi,
      eventName: 'Slashed',
      args: { jobId: jobIdToBytes32(jobId) },
      fromBlock: BigInt(this.addresses.deployBlock ?? 0),
      toBlock: 'latest',
      strict: true,
    });
    const log = logs[0];
    return log ? { txHash: log.transactionHash, amountWei: (log.args as { amountWei: bigint }).amountWei } : undefined;
  }
}
