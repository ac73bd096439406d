import type { EntityManager } from 'typeorm';
import { LIMITS, truncateText, type JobStatus, type TradeEvent } from '@starminer/events';
import { DEFAULT_ENGINE_CONFIG } from '@starminer/matching';
import type { StoredEvent } from '@starminer/trade-log';
import { recordJobUpdate } from '../job-events/record-job-update';
import { JobView, MarketPricePoint, MarketPriceView, type MarketSurgeView, NodeView, OrgRow } from './entities';
import { writeSurges } from './market-surges';

/** The columns a submission sets; every other column of a job is null until a later event patches it. */
export type SubmittedJobRow = Pick<
  JobView,
  'jobId' | 'orgId' | 'status' | 'category' | 'urgency' | 'budgetWei' | 'expectedRuntimeSec' | 'deadlineSec' | 'requirements' | 'workload' | 'submittedAt' | 'updatedAt' | 'lastSeq'
>;

/** What a later event of a job changes in its row: some columns, and always when and at which seq. */
export type JobPatch = Partial<Omit<JobView, 'jobId' | 'status'>> & Pick<JobView, 'updatedAt' | 'lastSeq'> & { readonly status?: JobStatus };

/**
 * What one event does to the views, besides the update clients see of it (job_updates): a row
 * upserted whole (a registration, a submission, a price), or a patch of a row that is there
 * (an UPDATE: it touches nothing when the view never had the job or the node); a price also
 * appends its point to the market's history (null for a GPU class with no base price); a surge's
 * start or end is its market's surge row, written only over an older change (market-surges.ts). The one place
 * that maps events to rows: `applyToViews` writes it per event, `applyViewsBatch` folds a batch
 * of them (views-batch.ts).
 */
export type ViewChange =
  | { readonly kind: 'org'; readonly row: OrgRow }
  | { readonly kind: 'job-submitted'; readonly row: SubmittedJobRow }
  | { readonly kind: 'job-patch'; readonly jobId: string; readonly patch: JobPatch }
  | { readonly kind: 'node-registered'; readonly row: NodeView }
  | { readonly kind: 'node-patch'; readonly nodeId: string; readonly patch: Partial<Omit<NodeView, 'nodeId'>> }
  | { readonly kind: 'price'; readonly row: MarketPriceView; readonly point: MarketPricePoint | null }
  | { readonly kind: 'surge'; readonly row: MarketSurgeView };

/** The change one stored event makes to the views, or null for an event they do not show. Pure. */
export function viewChangeOf({ event, seq, trace }: Pick<StoredEvent, 'event' | 'seq' | 'trace'>): ViewChange | null {
  const e = event as TradeEvent;
  const at = new Date(e.occurredAt);
  const job = (jobId: string, patch: Omit<JobPatch, 'updatedAt' | 'lastSeq'>): ViewChange => ({ kind: 'job-patch', jobId, patch: { ...patch, updatedAt: at, lastSeq: String(seq) } });
  switch (e.type) {
    case 'OrgRegistered':
      return { kind: 'org', row: { orgId: e.data.orgId, name: e.data.name, accountAddress: e.data.accountAddress, custodyIndex: e.data.custodyIndex } };
    case 'JobSubmitted':
      return {
        kind: 'job-submitted',
        row: {
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
          ...(e.data.redundantCopy ? { redundancyGroupId: e.data.redundantCopy.groupId, redundantCopy: e.data.redundantCopy } : {}),
          submittedAt: at,
          updatedAt: at,
          lastSeq: String(seq),
        },
      };
    case 'JobWaiting':
      return job(e.data.jobId, { waitingReason: e.data.reason });
    case 'JobMatched':
      return job(e.data.jobId, {
        status: 'matched',
        matchedAt: at,
        waitingReason: null,
        nodeId: e.data.nodeId,
        nodeAddress: e.data.nodeAddress.toLowerCase(),
        gpuCount: e.data.gpuCount,
        priceWeiPerHour: e.data.priceWeiPerHour,
        costWei: e.data.costWei,
        quote: e.data.quote,
        receipt: e.data.receipt,
      });
    case 'JobCancelled':
      return job(e.data.jobId, { status: 'cancelled', failureReason: e.data.reason });
    case 'JobFailed':
      return job(e.data.jobId, { status: 'failed', failureCode: e.data.code, failureReason: e.data.reason });
    case 'ContractOpened':
      return job(e.data.jobId, {
        status: 'contracted',
        contractAddress: e.data.contractAddress,
        openTxHash: e.data.txHash,
        deadlineUnixSec: String(e.data.deadlineUnixSec),
        escrowWei: e.data.escrowWei,
        traceparent: trace?.traceparent ?? null,
      });
    case 'ContractToppedUp':
      // the escrow and the deadline only grow: the chain's answer is the new total and deadline
      return job(e.data.jobId, { deadlineUnixSec: String(e.data.newDeadlineUnixSec), escrowWei: e.data.newCostWei });
    case 'ContractOpenFailed':
      return job(e.data.jobId, { status: 'failed', failureCode: e.data.code, failureReason: e.data.reason });
    // re-match on failure: queued again (the history shows the failed attempt), then the escrow moved to the next node
    case 'JobRequeued':
      return job(e.data.jobId, { status: 'queued', waitingReason: truncateText(`attempt ${e.data.attempt} after ${e.data.code}: ${e.data.reason}`, LIMITS.reasonLengthMax) });
    case 'ContractAttemptFailed':
      // the last attempt failed: the refund that follows is why the job ends; an earlier one shows as the re-queue
      return e.data.exhausted
        ? job(e.data.jobId, { failureCode: 'ATTEMPTS_EXHAUSTED', failureReason: truncateText(`attempts exhausted (${e.data.attempt} of ${LIMITS.jobAttemptsMax}): ${e.data.reason}`, LIMITS.reasonLengthMax) })
        : null;
    case 'ContractReassigned':
      return job(e.data.jobId, { status: 'contracted', nodeAddress: e.data.nodeAddress.toLowerCase(), deadlineUnixSec: String(e.data.deadlineUnixSec), escrowWei: e.data.escrowWei });
    case 'JobStarted':
      return job(e.data.jobId, { status: 'running' });
    case 'ResultSubmitted':
      return job(e.data.jobId, { resultOutput: e.data.output, resultHash: e.data.resultHash, attestation: e.data.attestation ?? null });
    case 'ResultRejected':
      return job(e.data.jobId, { failureCode: e.data.code, failureReason: e.data.reason });
    case 'RedundancyVerdictRecorded': {
      const { jobId, ...verdict } = e.data;
      return job(jobId, { redundancyVerdict: verdict });
    }
    case 'SettlementDecided':
      // a refund decision is followed by ContractRefunded, which moves the job
      return e.data.outcome === 'release' ? job(e.data.jobId, { status: 'completed' }) : null;
    case 'ContractReleased':
      return job(e.data.jobId, { status: 'settled', settleTxHash: e.data.txHash, settledAt: at, paidWei: e.data.amountWei });
    case 'ContractRefunded':
      return job(e.data.jobId, { status: 'refunded', settleTxHash: e.data.txHash, settledAt: at });
    case 'ChainEffectRestored':
      // a chain effect the chain lost, carried out again: the job names the transaction the chain holds now
      return job(e.data.jobId, e.data.action === 'open' ? { openTxHash: e.data.txHash } : { settleTxHash: e.data.txHash });
    case 'ChainEffectLost':
      // a release/refund the chain lost for good: no settle transaction is shown, and the job says why
      // (a lost open is followed by ContractOpenFailed, which says it)
      return e.data.action === 'open' ? null : job(e.data.jobId, { status: 'failed', settleTxHash: null, failureCode: e.data.code, failureReason: e.data.reason });
    case 'NodeRegistered':
      return {
        kind: 'node-registered',
        row: {
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
      };
    case 'NodeAvailabilityChanged':
      return { kind: 'node-patch', nodeId: e.data.nodeId, patch: { online: e.data.online } };
    case 'NodeReputationChanged':
      return { kind: 'node-patch', nodeId: e.data.nodeId, patch: { reputation: e.data.reputation } };
    case 'NodeStakeChanged':
      return { kind: 'node-patch', nodeId: e.data.nodeId, patch: { stakeWei: e.data.stakeWei, poolId: e.data.poolId } };
    case 'PriceChanged': {
      // the engine's base for the class, as the board prices it (apps/gateway/src/market/prices.ts)
      const base = DEFAULT_ENGINE_CONFIG.pricing.basePricesWeiPerGpuHour[e.data.gpuClass];
      return {
        kind: 'price',
        row: {
          gpuClass: e.data.gpuClass,
          region: e.data.region,
          multiplierBps: e.data.multiplierBps,
          utilizationBps: e.data.utilizationBps,
          smoothedUtilizationBps: e.data.smoothedUtilizationBps,
          changedAt: at,
          lastSeq: String(seq),
        },
        point:
          base === undefined
            ? null
            : { seq: String(seq), gpuClass: e.data.gpuClass, region: e.data.region, at, basePriceWeiPerGpuHour: base, multiplierBps: e.data.multiplierBps, utilizationBps: e.data.utilizationBps },
      };
    }
    case 'SurgeStarted':
    case 'SurgeEnded':
      // ordered by the engine's time of the change, as the engine folds them, then by seq
      return {
        kind: 'surge',
        row: {
          gpuClass: e.data.gpuClass,
          region: e.data.region,
          surgeSince: e.type === 'SurgeStarted' ? new Date(e.data.atMs) : null,
          changedAt: new Date(e.data.atMs),
          lastSeq: String(seq),
        },
      };
    default:
      return null;
  }
}

/**
 * The gateway's read model: orgs, jobs with their status and chain references, the supply, the
 * price board, each market's price history and surge. This is the per-event path (a few statements per
 * event): the projection runner uses it for a batch of one, which is how it finds the event a
 * failed batch fails on; a larger batch goes through `applyViewsBatch`, which writes the same
 * rows. Every write is an upsert, an update keyed by id, an insert of a point keyed by its seq
 * that skips one already there, or a surge written only over an older change, so applying an event
 * twice leaves the same rows.
 */
export async function applyToViews(em: EntityManager, stored: StoredEvent): Promise<void> {
  // what clients see of it (SSE, history), in the same transaction; first, as it reads the job's status before the event
  await recordJobUpdate(em, stored);
  const change = viewChangeOf(stored);
  if (change) await writeViewChange(em, change);
}

async function writeViewChange(em: EntityManager, change: ViewChange): Promise<void> {
  switch (change.kind) {
    case 'org':
      await em.getRepository(OrgRow).upsert(change.row, ['orgId']);
      return;
    case 'job-submitted':
      await em.getRepository(JobView).upsert(change.row, ['jobId']);
      return;
    case 'job-patch':
      await em.getRepository(JobView).update({ jobId: change.jobId }, change.patch);
      return;
    case 'node-registered':
      await em.getRepository(NodeView).upsert(change.row, ['nodeId']);
      return;
    case 'node-patch':
      await em.getRepository(NodeView).update({ nodeId: change.nodeId }, change.patch);
      return;
    case 'price':
      await em.getRepository(MarketPriceView).upsert(change.row, ['gpuClass', 'region']);
      // appended once: a redelivery of the same seq leaves the point there as it is
      if (change.point) await em.createQueryBuilder().insert().into(MarketPricePoint).values(change.point).orIgnore().execute();
      return;
    case 'surge':
      await writeSurges(em, [change.row]);
      return;
    default: {
      const unknownChange: never = change;
      throw new Error(`unknown view change ${JSON.stringify(unknownChange)}`);
    }
  }
}
