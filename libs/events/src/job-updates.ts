import { z } from 'zod';
import { apiComponent } from './api-components';
import type { TradeEvent } from './catalogue';
import { LIMITS } from './limits';
import { bytes32Schema, hexSchema, idSchema, text } from './primitives';

/**
 * The one job-status vocabulary of every answer (job views, lists, cancel, SSE, webhooks, the
 * provider's assignments): where a job is between submission and its end.
 *   queued → matched → contracted → running → completed → settled
 * and the ends a job may reach instead: refunded (escrow back to the requester), failed (it never
 * got a contract, or its settle was lost for good), cancelled (by the requester while queued).
 */
export const JOB_STATUSES = ['queued', 'matched', 'contracted', 'running', 'completed', 'settled', 'refunded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** Statuses a job never leaves. */
export const FINAL_JOB_STATUSES = ['settled', 'refunded', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];
export const isFinalJobStatus = (s: string): boolean => (FINAL_JOB_STATUSES as readonly string[]).includes(s);
export const jobStatusSchema = apiComponent('JobStatus', z.enum(JOB_STATUSES), 'queued → matched → contracted → running → completed → settled; or refunded, failed, cancelled (final)');

/** What happened to a job, as a client sees it: the `event:` of an SSE message and the `type` of a webhook. */
export const JOB_UPDATE_TYPES = [
  'job.queued',
  'job.waiting',
  'job.matched',
  'job.contracted',
  'job.running',
  'job.result-submitted',
  'job.result-rejected',
  'job.completed',
  'job.settled',
  'job.refunded',
  'job.failed',
  'job.cancelled',
  'job.chain-effect-restored',
  /** more escrow and a later deadline (POST /v1/jobs/{jobId}/top-ups): deadlineUnixSec, escrowWei, extraRuntimeSec */
  'job.topped-up',
  /** re-match on failure: the node of an attempt went offline or gave the job up (attempt, nodeId, failure); it is paid nothing */
  'job.attempt-failed',
  /** re-match on failure: queued again for its next attempt, on another node (attempt, failure) */
  'job.requeued',
  /** re-match on failure: the escrow moved on chain to the next attempt's node (attempt, nodeId, escrowWei, deadlineUnixSec, txHash) */
  'job.reassigned',
  /** the escrow runs out soon (deadlineUnixSec, runwaySec): top the job up, or it is refunded at the deadline */
  'job.runway-low',
  /** redundancy: the group's verdict for this copy (redundancy: agree, released; dissent, refunded and slashable; tie, refunded) */
  'job.redundancy-verdict',
] as const;
export type JobUpdateType = (typeof JOB_UPDATE_TYPES)[number];

const txHashSchema = hexSchema.nullable();

/**
 * One update of a job, from one event of its log. `seq` is the event's position on the trade log
 * (decimal string): the SSE `id`, the `Last-Event-ID` a watcher resumes from, increasing per job.
 * `eventId` is the event's own id: a webhook receiver de-duplicates on it.
 */
export const jobUpdateSchema = apiComponent(
  'JobUpdate',
  z.strictObject({
    seq: z.string().regex(/^[1-9][0-9]{0,19}$/),
    eventId: text(LIMITS.idLengthMax, 1),
    type: z.enum(JOB_UPDATE_TYPES),
    jobId: idSchema,
    /** the job's status after this update */
    status: jobStatusSchema,
    at: z.iso.datetime({ offset: true }),
    waitingReason: text(LIMITS.reasonLengthMax).optional(),
    nodeId: idSchema.optional(),
    costWei: z.string().regex(/^(0|[1-9][0-9]{0,77})$/).optional(),
    contractAddress: z.string().regex(/^0x[0-9a-fA-F]{40}$/).optional(),
    /** the chain transaction of this update (open, release, refund, a restored effect) */
    txHash: txHashSchema.optional(),
    blockNumber: z.string().regex(/^[0-9]{1,20}$/).nullable().optional(),
    resultHash: bytes32Schema.optional(),
    failure: z.strictObject({ code: text(LIMITS.codeLengthMax), reason: text(LIMITS.reasonLengthMax) }).optional(),
    /** the escrow's deadline (unix seconds) after this update: a top-up moves it; a runway warning names it */
    deadlineUnixSec: z.number().int().positive().optional(),
    /** the seconds left until the deadline when the runway warning was given */
    runwaySec: z.number().int().nonnegative().optional(),
    /** what the escrow holds after a top-up (base units): release pays it, refund returns it */
    escrowWei: z.string().regex(/^(0|[1-9][0-9]{0,77})$/).optional(),
    /** seconds a top-up added */
    extraRuntimeSec: z.number().int().positive().optional(),
    /** the job's attempt this update is of (re-match on failure): 1 is the first match; absent on updates of a first attempt */
    attempt: z.number().int().positive().max(LIMITS.jobAttemptsMax).optional(),
    /** redundancy: the group's verdict for this copy, and why */
    redundancy: z
      .strictObject({
        groupId: idSchema,
        copyIndex: z.number().int().min(0).max(LIMITS.redundancyCopiesMax - 1),
        outcome: z.enum(['agree', 'dissent', 'tie']),
        reason: text(LIMITS.reasonLengthMax),
      })
      .optional(),
  }),
  'one update of a job: the SSE message data of GET /v1/jobs/{jobId}/events and the data of a webhook delivery',
);
export type JobUpdate = z.infer<typeof jobUpdateSchema>;

type Update = Omit<JobUpdate, 'seq' | 'eventId' | 'jobId' | 'at'>;

/**
 * The client's view of one trade event, or null for an event a client does not see (or one of no job).
 * An update that does not move the job (waiting, a result submitted or rejected) keeps `statusBefore`
 * when it is known: a result may come before JobStarted, while the job is still `contracted`.
 */
function updateOf(e: TradeEvent, statusBefore?: JobStatus): Update | null {
  switch (e.type) {
    case 'JobSubmitted':
      return { type: 'job.queued', status: 'queued' };
    case 'JobWaiting':
      return { type: 'job.waiting', status: statusBefore ?? 'queued', waitingReason: e.data.reason };
    case 'JobMatched':
      return { type: 'job.matched', status: 'matched', nodeId: e.data.nodeId, costWei: e.data.costWei.toString(), ...(e.data.attempt === undefined ? {} : { attempt: e.data.attempt }) };
    case 'JobRequeued':
      return { type: 'job.requeued', status: 'queued', attempt: e.data.attempt, failure: { code: e.data.code, reason: e.data.reason } };
    case 'ContractAttemptFailed':
      // the job keeps its status until it is queued again (JobRequeued) or refunded (the last attempt)
      return { type: 'job.attempt-failed', status: statusBefore ?? 'running', attempt: e.data.attempt, nodeId: e.data.nodeId, failure: { code: e.data.code, reason: e.data.reason } };
    case 'ContractReassigned': {
      const d = e.data;
      return { type: 'job.reassigned', status: 'contracted', attempt: d.attempt, nodeId: d.nodeId, escrowWei: d.escrowWei.toString(), deadlineUnixSec: d.deadlineUnixSec, txHash: d.txHash, blockNumber: d.blockNumber };
    }
    case 'JobCancelled':
      return { type: 'job.cancelled', status: 'cancelled', failure: { code: 'CANCELLED', reason: e.data.reason } };
    case 'JobFailed':
      return { type: 'job.failed', status: 'failed', failure: { code: e.data.code, reason: e.data.reason } };
    case 'ContractOpened':
      return { type: 'job.contracted', status: 'contracted', contractAddress: e.data.contractAddress, txHash: e.data.txHash, blockNumber: e.data.blockNumber };
    case 'ContractOpenFailed':
      return { type: 'job.failed', status: 'failed', failure: { code: e.data.code, reason: e.data.reason } };
    case 'JobStarted':
      return { type: 'job.running', status: 'running', nodeId: e.data.nodeId };
    case 'ResultSubmitted':
      return { type: 'job.result-submitted', status: statusBefore ?? 'running', resultHash: e.data.resultHash };
    case 'ResultRejected':
      return { type: 'job.result-rejected', status: statusBefore ?? 'running', failure: { code: e.data.code, reason: e.data.reason } };
    case 'SettlementDecided':
      // a refund decision is followed by ContractRefunded; only a release makes the job `completed`
      return e.data.outcome === 'release' ? { type: 'job.completed', status: 'completed' } : null;
    case 'ContractReleased':
      return { type: 'job.settled', status: 'settled', txHash: e.data.txHash, blockNumber: e.data.blockNumber ?? null };
    case 'ContractRefunded':
      return { type: 'job.refunded', status: 'refunded', txHash: e.data.txHash, blockNumber: e.data.blockNumber ?? null };
    case 'ContractToppedUp': {
      // a top-up lands while the job runs (or was opened, or is settling): it does not move the status
      const d = e.data;
      return {
        type: 'job.topped-up',
        status: statusBefore ?? 'running',
        txHash: d.txHash,
        blockNumber: d.blockNumber,
        deadlineUnixSec: d.newDeadlineUnixSec,
        escrowWei: d.newCostWei.toString(),
        extraRuntimeSec: d.extraRuntimeSec,
      };
    }
    case 'ContractRunwayLow':
      return { type: 'job.runway-low', status: statusBefore ?? 'running', deadlineUnixSec: e.data.deadlineUnixSec, runwaySec: e.data.runwaySec };
    case 'RedundancyVerdictRecorded':
      // the release or refund that follows moves the job
      return {
        type: 'job.redundancy-verdict',
        status: statusBefore ?? 'running',
        redundancy: { groupId: e.data.groupId, copyIndex: e.data.copyIndex, outcome: e.data.outcome, reason: e.data.reason },
      };
    default:
      return null;
  }
}

/**
 * The update a client sees for one stored event of a job, or null. Events whose status depends on
 * what came before take `statusBefore`, the job's status when the event arrived: a restored chain
 * effect is not shown without it; waiting and result updates keep it (see updateOf). The gateway's
 * job view moves through exactly these statuses (apps/gateway/src/job-events spec).
 */
export function jobUpdateOf(stored: { event: TradeEvent; seq: number }, statusBefore?: JobStatus): JobUpdate | null {
  const e = stored.event;
  const base = { seq: String(stored.seq), eventId: e.id, at: e.occurredAt };
  if (e.type === 'ChainEffectRestored') {
    if (statusBefore === undefined) return null;
    return { ...base, jobId: e.data.jobId, type: 'job.chain-effect-restored', status: statusBefore, txHash: e.data.txHash, blockNumber: e.data.blockNumber };
  }
  if (e.type === 'ChainEffectLost') {
    // a lost open is followed by ContractOpenFailed, which says it
    if (e.data.action === 'open') return null;
    return { ...base, jobId: e.data.jobId, type: 'job.failed', status: 'failed', failure: { code: e.data.code, reason: e.data.reason } };
  }
  const u = updateOf(e, statusBefore);
  if (!u || !('jobId' in e.data)) return null;
  return { ...base, jobId: (e.data as { jobId: string }).jobId, ...u };
}

/**
 * A position on a job's update stream: the `seq` of the last update a client has (its SSE
 * `Last-Event-ID`, `?after=`, or a history cursor); `0` for the start. At most 19 digits: a
 * Postgres bigint, which the log's sequences never outgrow.
 */
export const jobUpdatePositionSchema = z.string().regex(/^(0|[1-9][0-9]{0,18})$/, 'a decimal log sequence');
const POSITION_MAX = 2n ** 63n - 1n;

/** The position a client gave, or null when it is not one (not decimal, or past a bigint). */
export function parseJobUpdatePosition(value: string): bigint | null {
  if (!jobUpdatePositionSchema.safeParse(value).success) return null;
  const seq = BigInt(value);
  return seq <= POSITION_MAX ? seq : null;
}

/** One page of a job's updates, oldest first; `nextCursor` (the last update's seq) reads on, null at the end. */
export const jobUpdatePageSchema = apiComponent(
  'JobUpdatePage',
  z.strictObject({ updates: z.array(jobUpdateSchema), nextCursor: z.string().nullable() }),
  "a page of a job's updates in log order (GET /v1/jobs/{jobId}/history); pass nextCursor as ?cursor= for the next page, null when there is none",
);
export type JobUpdatePage = z.infer<typeof jobUpdatePageSchema>;
