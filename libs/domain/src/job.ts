import { LIMITS, truncateText, type AggregateEvent, type Category, type EventData, type JobRequirements, type LatencyPreference, type Urgency, type Workload } from '@starminer/events';
import { assertNever, draft, type Decider, type Draft } from './decider';
import { refuse } from './errors';
import { GPU_MODELS, isKnownGpuModel } from './gpu-catalogue';
import { checkRedundancyRequest, RedundancyRequestError, type ResultComparison } from './redundancy';

export interface JobSpec {
  readonly category: Category;
  readonly budgetWei: bigint;
  readonly urgency: Urgency;
  readonly latencyPreference: LatencyPreference;
  readonly requirements: JobRequirements;
  readonly expectedRuntimeSec: number;
  readonly deadlineSec: number;
  readonly green: boolean;
  readonly workload: Workload;
  /** Redundancy (issue 17): the job on `copies` distinct nodes of one GPU class, results compared. Absent: one run. */
  readonly redundancy?: { readonly copies: number; readonly compare: ResultComparison };
}

export type JobCommand =
  | {
      readonly type: 'SubmitJob';
      readonly jobId: string;
      readonly orgId: string;
      readonly requesterAddress: string;
      readonly spec: JobSpec;
      /** The org's spendable AGPU now: balance less what its unsettled jobs may still draw. */
      readonly availableWei: bigint;
      /** A redundant job's copy (spec.redundancy set): its group (the requester's job id, copy 0's) and index. Absent: copy 0 of group `jobId`. */
      readonly copy?: { readonly groupId: string; readonly copyIndex: number };
      /** A vault's job: the firing that submits it; the vault pays (availableWei is what the firing committed of it). Absent: the org pays. */
      readonly vault?: EventData<'JobSubmitted'>['vault'];
    }
  | { readonly type: 'RecordWaiting'; readonly reason: string; readonly hold?: { nodeId: string; gpuCount: number; sinceMs: number } }
  | { readonly type: 'RecordMatch'; readonly match: Omit<EventData<'JobMatched'>, 'jobId'> }
  | { readonly type: 'CancelJob'; readonly orgId: string; readonly reason: string }
  | RequeueJobCommand
  | {
      readonly type: 'FailJob';
      readonly code: string;
      readonly reason: string;
      /** Only a job still queued (not matched): a match recorded first wins, and nothing is appended. */
      readonly onlyIfQueued?: boolean;
    };

/**
 * Re-match on failure (issue 16): the node of the job's current attempt failed it (its contract's
 * ContractAttemptFailed, not the last attempt), so the job is queued again for attempt `attempt`,
 * on another node, for at most `budgetWei` (the escrow its contract holds). Once per attempt: a
 * second request for an attempt already queued (or matched since) is a no-op.
 */
export type RequeueJobCommand = {
  readonly type: 'RequeueJob';
  readonly attempt: number;
  readonly failedNodeId: string;
  readonly code: string;
  readonly reason: string;
  readonly budgetWei: bigint;
  /** The job as submitted (its JobSubmitted), restated on the event so matching re-queues it from that alone. */
  readonly submitted: EventData<'JobSubmitted'>;
};

/** The attempts of a re-matched job: absent on a job's first attempt. */
interface Attempts {
  /** The attempt the job is queued or matched for (2..LIMITS.jobAttemptsMax). */
  readonly attempt?: number;
  /** Nodes that failed an earlier attempt: never matched again. */
  readonly excludedNodeIds?: readonly string[];
}

export type JobState =
  | { readonly status: 'none' }
  | ({ readonly status: 'queued'; readonly jobId: string; readonly orgId: string; readonly budgetWei: bigint; readonly waitingReason?: string } & Attempts)
  | ({ readonly status: 'matched'; readonly jobId: string; readonly orgId: string; readonly budgetWei: bigint; readonly nodeId: string; readonly costWei: bigint } & Attempts)
  | { readonly status: 'cancelled' | 'failed'; readonly jobId: string; readonly orgId: string };

export type JobEvent = AggregateEvent<'job'>;

export const initialJobState = (): JobState => ({ status: 'none' });

/**
 * The market's rules for a job spec beyond its shape (the catalogue's schema checks the shape and
 * every limit): known GPU models, satisfiable VRAM, a GPU count where models are named, a budget
 * and a deadline that make sense. Pure, so intake and the decider agree.
 */
export function validateJobSpec(spec: JobSpec): void {
  const r = spec.requirements;
  if (spec.budgetWei <= 0n) refuse('BUDGET_NOT_POSITIVE', 'budgetWei must be greater than 0');
  if (spec.budgetWei > LIMITS.budgetWeiMax) refuse('BUDGET_TOO_LARGE', `budgetWei must be at most ${LIMITS.budgetWeiMax}`, { limit: LIMITS.budgetWeiMax.toString() });
  for (const model of r.gpuModels) {
    if (!isKnownGpuModel(model)) refuse('UNKNOWN_GPU_MODEL', `unknown GPU model '${model}'`, { model });
  }
  if (r.gpuModels.length > 0 && r.gpuModels.every((m) => GPU_MODELS[m].vramGiB < r.minVramGiB))
    refuse('REQUIREMENT_UNSATISFIABLE', `none of ${r.gpuModels.join(', ')} has ${r.minVramGiB} GiB of VRAM`, {
      limit: Math.max(...r.gpuModels.map((m) => GPU_MODELS[m].vramGiB)),
    });
  if (r.gpuModels.length > 0 && r.gpuCount === 0) refuse('GPU_COUNT_REQUIRED', 'gpuCount must be at least 1 when gpuModels are given');
  if (r.gpuCount > LIMITS.gpusPerNodeMax) refuse('GPU_COUNT_TOO_LARGE', `gpuCount must be at most ${LIMITS.gpusPerNodeMax} (GPUs on one node)`, { limit: LIMITS.gpusPerNodeMax });
  if (spec.expectedRuntimeSec <= 0 || spec.expectedRuntimeSec > LIMITS.expectedRuntimeSecMax)
    refuse('RUNTIME_OUT_OF_RANGE', `expectedRuntimeSec must be 1..${LIMITS.expectedRuntimeSecMax}`, { limit: LIMITS.expectedRuntimeSecMax });
  if (spec.deadlineSec < spec.expectedRuntimeSec || spec.deadlineSec > LIMITS.deadlineSecMax)
    refuse('DEADLINE_OUT_OF_RANGE', `deadlineSec must be between expectedRuntimeSec and ${LIMITS.deadlineSecMax}`, { limit: LIMITS.deadlineSecMax });
  if (spec.redundancy) validateRedundancy(spec.redundancy, r);
}

/** A redundant job: copies and tolerances in range (redundancy.ts), and one GPU model named, so its copies run on one class. */
function validateRedundancy(redundancy: NonNullable<JobSpec['redundancy']>, r: JobRequirements): void {
  try {
    checkRedundancyRequest(redundancy.copies, redundancy.compare);
  } catch (err) {
    if (err instanceof RedundancyRequestError) refuse(err.code, err.message, { limit: err.code === 'REDUNDANCY_COPIES_OUT_OF_RANGE' ? LIMITS.redundancyCopiesMax : LIMITS.redundancyToleranceMax });
    throw err;
  }
  if (r.gpuModels.length !== 1)
    refuse('REDUNDANCY_GPU_MODEL_REQUIRED', `a redundant job names exactly one GPU model (its copies run on one class), got ${r.gpuModels.length}`);
}

export function decideJob(command: JobCommand, state: JobState): Draft<JobEvent['type']>[] {
  switch (command.type) {
    case 'SubmitJob': {
      if (state.status !== 'none') return refuse('JOB_EXISTS', `job ${command.jobId} already exists`);
      validateJobSpec(command.spec);
      if (command.spec.budgetWei > command.availableWei)
        refuse('INSUFFICIENT_FUNDS', `budget ${command.spec.budgetWei} exceeds the org's available ${command.availableWei} AGPU wei`, {
          budgetWei: command.spec.budgetWei.toString(),
          availableWei: command.availableWei.toString(),
        });
      const { spec } = command;
      return [
        draft('JobSubmitted', {
          jobId: command.jobId,
          orgId: command.orgId,
          requesterAddress: command.requesterAddress,
          category: spec.category,
          budgetWei: spec.budgetWei,
          urgency: spec.urgency,
          latencyPreference: spec.latencyPreference,
          requirements: spec.requirements,
          expectedRuntimeSec: spec.expectedRuntimeSec,
          deadlineSec: spec.deadlineSec,
          green: spec.green,
          workload: spec.workload,
          ...(spec.redundancy
            ? {
                redundantCopy: {
                  groupId: command.copy?.groupId ?? command.jobId,
                  copyIndex: command.copy?.copyIndex ?? 0,
                  copies: spec.redundancy.copies,
                  compare: spec.redundancy.compare,
                },
              }
            : {}),
          ...(command.vault ? { vault: { ...command.vault } } : {}),
        }),
      ];
    }
    case 'RecordWaiting': {
      if (state.status !== 'queued') return [];
      if (state.waitingReason === command.reason) return [];
      return [draft('JobWaiting', { jobId: state.jobId, reason: command.reason, ...(command.hold ? { hold: { ...command.hold } } : {}) })];
    }
    case 'RecordMatch': {
      if (state.status !== 'queued') return refuse('JOB_NOT_QUEUED', `job is ${state.status}, not queued`);
      if (command.match.costWei > state.budgetWei)
        refuse('COST_OVER_BUDGET', `cost ${command.match.costWei} exceeds budget ${state.budgetWei}`);
      if (state.excludedNodeIds?.includes(command.match.nodeId))
        refuse('NODE_EXCLUDED', `node ${command.match.nodeId} failed an earlier attempt of this job`, { nodeId: command.match.nodeId });
      return [draft('JobMatched', { jobId: state.jobId, ...command.match, ...(state.attempt === undefined ? {} : { attempt: state.attempt }) })];
    }
    case 'RequeueJob':
      return decideRequeue(command, state);
    case 'CancelJob': {
      if (state.status === 'none') return refuse('JOB_NOT_FOUND', 'no such job');
      if (state.orgId !== command.orgId) return refuse('JOB_NOT_FOUND', 'no such job');
      if (state.status !== 'queued') return refuse('JOB_NOT_CANCELLABLE', `job is ${state.status}; only a queued job can be cancelled`);
      // re-queued after a failed attempt, its escrow is on chain: it ends by the refund, not a cancel
      if (state.attempt !== undefined) return refuse('JOB_NOT_CANCELLABLE', `job is queued again for attempt ${state.attempt}; its escrow is refunded if no node takes it`);
      return [draft('JobCancelled', { jobId: state.jobId, reason: command.reason })];
    }
    case 'FailJob': {
      if (state.status === 'none') return refuse('JOB_NOT_FOUND', 'no such job');
      if (state.status === 'failed' || state.status === 'cancelled') return [];
      if (command.onlyIfQueued && state.status !== 'queued') return [];
      return [draft('JobFailed', { jobId: state.jobId, code: command.code, reason: command.reason })];
    }
    default:
      return assertNever(command);
  }
}

export function evolveJob(state: JobState, event: JobEvent): JobState {
  switch (event.type) {
    case 'JobSubmitted':
      return { status: 'queued', jobId: event.data.jobId, orgId: event.data.orgId, budgetWei: event.data.budgetWei };
    case 'JobWaiting':
      return state.status === 'queued' ? { ...state, waitingReason: event.data.reason } : state;
    case 'JobMatched':
      if (state.status !== 'queued') return state;
      return { status: 'matched', jobId: state.jobId, orgId: state.orgId, budgetWei: state.budgetWei, nodeId: event.data.nodeId, costWei: event.data.costWei, ...attemptsOf(state) };
    case 'JobRequeued':
      if (state.status !== 'matched') return state;
      return { status: 'queued', jobId: state.jobId, orgId: state.orgId, budgetWei: event.data.budgetWei, attempt: event.data.attempt, excludedNodeIds: [...event.data.excludedNodeIds] };
    case 'JobCancelled':
      return state.status === 'none' ? state : { status: 'cancelled', jobId: state.jobId, orgId: state.orgId };
    case 'JobFailed':
      return state.status === 'none' ? state : { status: 'failed', jobId: state.jobId, orgId: state.orgId };
    default:
      return assertNever(event);
  }
}

const attemptsOf = (s: Attempts): Attempts => ({
  ...(s.attempt === undefined ? {} : { attempt: s.attempt }),
  ...(s.excludedNodeIds === undefined ? {} : { excludedNodeIds: s.excludedNodeIds }),
});

/**
 * Refusals, in order: no job; an attempt past LIMITS.jobAttemptsMax (the contract refunds instead);
 * an attempt that skips one; a node other than the matched one; no budget. A job already queued or
 * matched for this attempt (or a later one), or ended, is a no-op.
 */
function decideRequeue(command: RequeueJobCommand, state: JobState): Draft<JobEvent['type']>[] {
  if (state.status === 'none') return refuse('JOB_NOT_FOUND', 'no such job');
  if (state.status !== 'queued' && state.status !== 'matched') return []; // ended: cancelled or failed
  if (!Number.isInteger(command.attempt) || command.attempt < 2 || command.attempt > LIMITS.jobAttemptsMax)
    return refuse('ATTEMPTS_EXHAUSTED', `a job has at most ${LIMITS.jobAttemptsMax} attempts`, { limit: LIMITS.jobAttemptsMax });
  const current = state.attempt ?? 1;
  // this attempt was queued already (and maybe matched since)
  if (state.status !== 'matched' || command.attempt <= current) return [];
  if (command.attempt !== current + 1) return refuse('ATTEMPT_OUT_OF_ORDER', `attempt ${command.attempt} does not follow attempt ${current}`, { attempt: current });
  if (command.failedNodeId !== state.nodeId)
    return refuse('NOT_ASSIGNED_NODE', `attempt ${current} runs on node ${state.nodeId}, not ${command.failedNodeId}`, { nodeId: state.nodeId });
  if (command.budgetWei <= 0n) return refuse('AMOUNT_NOT_POSITIVE', 'budgetWei must be greater than 0', { field: 'budgetWei' });
  const excluded = [...new Set([...(state.excludedNodeIds ?? []), command.failedNodeId])];
  return [
    draft('JobRequeued', {
      jobId: state.jobId,
      attempt: command.attempt,
      failedNodeId: command.failedNodeId,
      excludedNodeIds: excluded,
      code: truncateText(command.code, LIMITS.codeLengthMax),
      reason: truncateText(command.reason, LIMITS.reasonLengthMax),
      budgetWei: command.budgetWei,
      submitted: command.submitted,
    }),
  ];
}

export const jobDecider: Decider<'job', JobCommand, JobState> = { aggregate: 'job', decide: decideJob, evolve: evolveJob, initialState: initialJobState };
