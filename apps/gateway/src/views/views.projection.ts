import type { EntityManager } from 'typeorm';
import type { TradeEvent } from '@starminer/events';
import type { StoredEvent } from '@starminer/trade-log';
import { recordJobUpdate } from '../job-events/record-job-update';
import { JobView, MarketPriceView, NodeView, OrgRow } from './entities';

/**
 * The gateway's read model: orgs, jobs with their status and chain references, the supply and
 * the price board.
 * Applied in batches with the checkpoint by the projection runner; every write is an upsert or an
 * update keyed by id, so applying an event twice leaves the same rows.
 */
export async function applyToViews(em: EntityManager, { event, seq, trace }: StoredEvent): Promise<void> {
  const e = event as TradeEvent;
  // what clients see of it (SSE, history), in the same transaction; first, as it reads the job's status before the event
  await recordJobUpdate(em, { event, seq });
  const jobs = em.getRepository(JobView);
  const at = new Date(e.occurredAt);
  const job = (jobId: string, patch: Partial<JobView>) => jobs.update({ jobId }, { ...patch, updatedAt: at, lastSeq: String(seq) });
  switch (e.type) {
    case 'OrgRegistered':
      await em.getRepository(OrgRow).upsert({ orgId: e.data.orgId, name: e.data.name, accountAddress: e.data.accountAddress, custodyIndex: e.data.custodyIndex }, ['orgId']);
      return;
    case 'JobSubmitted':
      await jobs.upsert(
        {
          jobId: e.data.jobId,
          orgId: e.data.orgId,
          status: 'queued',
          category: e.data.category,
          urgency: e.data.urgency,
          budgetWei: e.data.budgetWei,
          expectedRuntimeSec: e.data.expectedRuntimeSec,
          deadlineSec: e.data.deadlineSec,
          requirements: e.data.requirements,
          workload: e.data.workload,
          submittedAt: at,
          updatedAt: at,
          lastSeq: String(seq),
        },
        ['jobId'],
      );
      return;
    case 'JobWaiting':
      await job(e.data.jobId, { waitingReason: e.data.reason });
      return;
    case 'JobMatched':
      await job(e.data.jobId, {
        status: 'matched',
        waitingReason: null,
        nodeId: e.data.nodeId,
        nodeAddress: e.data.nodeAddress.toLowerCase(),
        gpuCount: e.data.gpuCount,
        priceWeiPerHour: e.data.priceWeiPerHour,
        costWei: e.data.costWei,
        quote: e.data.quote,
        receipt: e.data.receipt,
      });
      return;
    case 'JobCancelled':
      await job(e.data.jobId, { status: 'cancelled', failureReason: e.data.reason });
      return;
    case 'JobFailed':
      await job(e.data.jobId, { status: 'failed', failureCode: e.data.code, failureReason: e.data.reason });
      return;
    case 'ContractOpened':
      await job(e.data.jobId, { status: 'contracted', contractAddress: e.data.contractAddress, openTxHash: e.data.txHash, deadlineUnixSec: String(e.data.deadlineUnixSec), traceparent: trace?.traceparent ?? null });
      return;
    case 'ContractOpenFailed':
      await job(e.data.jobId, { status: 'failed', failureCode: e.data.code, failureReason: e.data.reason });
      return;
    case 'JobStarted':
      await job(e.data.jobId, { status: 'running' });
      return;
    case 'ResultSubmitted':
      await job(e.data.jobId, { resultOutput: e.data.output, resultHash: e.data.resultHash });
      return;
    case 'ResultRejected':
      await job(e.data.jobId, { failureCode: e.data.code, failureReason: e.data.reason });
      return;
    case 'SettlementDecided':
      if (e.data.outcome === 'release') await job(e.data.jobId, { status: 'completed' });
      return;
    case 'ContractReleased':
      await job(e.data.jobId, { status: 'settled', settleTxHash: e.data.txHash, settledAt: at, paidWei: e.data.amountWei });
      return;
    case 'ContractRefunded':
      await job(e.data.jobId, { status: 'refunded', settleTxHash: e.data.txHash, settledAt: at });
      return;
    case 'ChainEffectRestored':
      // a chain effect the chain lost, carried out again: the job names the transaction the chain holds now
      await job(e.data.jobId, e.data.action === 'open' ? { openTxHash: e.data.txHash } : { settleTxHash: e.data.txHash });
      return;
    case 'ChainEffectLost':
      // a release/refund the chain lost for good: no settle transaction is shown, and the job says why
      // (a lost open is followed by ContractOpenFailed, which says it)
      if (e.data.action !== 'open') await job(e.data.jobId, { status: 'failed', settleTxHash: null, failureCode: e.data.code, failureReason: e.data.reason });
      return;
    case 'NodeRegistered':
      await em.getRepository(NodeView).upsert(
        {
          nodeId: e.data.nodeId,
          nodeAddress: e.data.nodeAddress.toLowerCase(),
          providerId: e.data.providerId,
          gpuModel: e.data.gpuModel,
          gpuCount: e.data.gpuCount,
          vramGiB: e.data.vramGiB,
          region: e.data.region,
          latencyMs: e.data.latencyMs,
          tee: e.data.tee,
          benchmarkScore: e.data.benchmark.score,
          reputation: e.data.reputation,
          online: false,
          stakeWei: e.data.stakeWei,
          poolId: e.data.poolId ?? null,
        },
        ['nodeId'],
      );
      return;
    case 'NodeAvailabilityChanged':
      await em.getRepository(NodeView).update({ nodeId: e.data.nodeId }, { online: e.data.online });
      return;
    case 'NodeReputationChanged':
      await em.getRepository(NodeView).update({ nodeId: e.data.nodeId }, { reputation: e.data.reputation });
      return;
    case 'NodeStakeChanged':
      await em.getRepository(NodeView).update({ nodeId: e.data.nodeId }, { stakeWei: e.data.stakeWei, poolId: e.data.poolId });
      return;
    case 'PriceChanged':
      await em.getRepository(MarketPriceView).upsert(
        {
          gpuClass: e.data.gpuClass,
          region: e.data.region,
          multiplierBps: e.data.multiplierBps,
          utilizationBps: e.data.utilizationBps,
          smoothedUtilizationBps: e.data.smoothedUtilizationBps,
          changedAt: at,
          lastSeq: String(seq),
        },
        ['gpuClass', 'region'],
      );
      return;
    default:
      return;
  }
}
