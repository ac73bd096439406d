import { Injectable, Logger } from '@nestjs/common';
import { uuidv7 } from 'uuidv7';
import { ChainActionError, artifacts, jobIdToBytes32, readSlashBoundWei, readStake, slashStake } from '@starminer/chain';
import { makeEvent, type TradeEventOf } from '@starminer/events';
import { nodeDecider } from '@starminer/domain';
import { ServiceRuntime } from '@starminer/service-kit';
import { SettlementChain } from '../settlement-chain';

/**
 * A proven failure (a result that recomputation rejected) costs the provider stake: up to the
 * job's escrow is slashed from the node key's stake in its pool and paid to the requester, on top
 * of the refund. Exactly once per job: the chain's `Slashed` events (indexed by job) and the
 * pool's `StakeSlashed` events are both checked before acting, so a redelivery only records.
 * The contract holds the same rules on its side: only a refunded or disputed job of its escrow,
 * only that job's provider, paid only to its requester, at most its bound (`slashBoundWei` of the
 * cost), once per job (a second send reverts `AlreadySlashed`, read here as "already done").
 */
@Injectable()
export class Slashing {
  private readonly logger = new Logger('slashing');

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: SettlementChain,
  ) {}

  async afterRefund(refunded: TradeEventOf<'ContractRefunded'>): Promise<void> {
    const { addresses, wallet, publicClient } = this.chain;
    const jobId = refunded.data.jobId;
    if (!addresses.staking) return;
    const contract = await this.rt.events('contract', jobId);
    if (!contract.some((e) => e.type === 'ResultRejected')) return; // a missed deadline is refunded, not slashed
    const matched = (await this.rt.events('job', jobId)).find((e): e is TradeEventOf<'JobMatched'> => e.type === 'JobMatched');
    if (!matched) return;
    const node = (await this.rt.load('node', matched.data.nodeId, nodeDecider)).state;
    if (node.status !== 'registered' || !node.poolId) return;
    const poolId = node.poolId;
    const provider = node.nodeAddress as `0x${string}`;
    const recipient = refunded.data.requesterAddress as `0x${string}`;

    let slashed = await this.slashedOnChain(jobId);
    if (!slashed) {
      const [stake, boundWei] = await Promise.all([
        readStake(publicClient, { addresses, poolId, staker: provider }),
        readSlashBoundWei(publicClient, { addresses, costWei: refunded.data.amountWei }),
      ]);
      const available = stake.activeWei + stake.unbondingWei;
      const amountWei = available < boundWei ? available : boundWei;
      if (amountWei === 0n) return;
      try {
        const sent = await slashStake(wallet, publicClient, { addresses, poolId, jobId, amountWei });
        slashed = { txHash: sent.txHash, amountWei };
        this.logger.warn(`job ${jobId}: slashed ${amountWei} wei of ${node.nodeId}'s stake in ${poolId} to the requester`);
      } catch (err) {
        // a send of ours that landed after the read above: the chain says it is done, record it
        if (!(err instanceof ChainActionError && err.code === 'AlreadySlashed')) throw err;
        slashed = await this.slashedOnChain(jobId);
        if (!slashed) throw err;
      }
    }
    const pool = await this.rt.events('pool', poolId);
    if (pool.some((e) => e.type === 'StakeSlashed' && e.data.jobId === jobId)) return;
    const event = makeEvent(
      'StakeSlashed',
      { poolId, nodeId: node.nodeId, nodeAddress: provider, jobId, amountWei: slashed.amountWei, recipient, txHash: slashed.txHash },
      { id: uuidv7(), aggregateId: poolId, occurredAt: new Date().toISOString(), correlationId: jobId, causationId: refunded.id, actor: 'service:settlement' },
    );
    // through the catalogue's encoder, like every append
    await this.rt.tradeLog.append(this.rt.subject('pool', poolId), [event], { expectedLastSubjectSeq: 'any' });
  }

  private async slashedOnChain(jobId: string): Promise<{ txHash: `0x${string}`; amountWei: bigint } | undefined> {
    const { addresses, publicClient } = this.chain;
    const logs = await publicClient.getContractEvents({
      address: addresses.staking!,
      abi: artifacts().StakingPools.abi,
      eventName: 'Slashed',
      args: { jobId: jobIdToBytes32(jobId) },
      fromBlock: BigInt(addresses.deployBlock ?? 0),
      toBlock: 'latest',
      strict: true,
    });
    const log = logs[0];
    return log ? { txHash: log.transactionHash, amountWei: (log.args as { amountWei: bigint }).amountWei } : undefined;
  }
}
