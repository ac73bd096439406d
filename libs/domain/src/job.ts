import { LIMITS, type AggregateEvent, type Category, type EventData, type JobRequirements, type LatencyPreference, type Urgency, type Workload } from '@starminer/events';
import { assertNever, draft, type Decider, type Draft } from './decider';
import { refuse } from './errors';
import { GPU_MODELS, isKnownGpuModel } from './gpu-catalogue';

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
    }
  | { readonly type: 'RecordWaiting'; readonly reason: string; readonly hold?: { nodeId: string; gpuCount: number; sinceMs: number } }
  | { readonly type: 'RecordMatch'; readonly match: Omit<EventData<'JobMatched'>, 'jobId'> }
  | { readonly type: 'CancelJob'; readonly orgId: string; readonly reason: string }
  | {
      readonly type: 'FailJob';
      readonly code: string;
      readonly reason: string;
      /** Only a job still queued (not matched): a match recorded first wins, and nothing is appended. */
      readonly onlyIfQueued?: boolean;
    };

export type JobState =
  | { readonly status: 'none' }
  | { readonly status: 'queued'; readonly jobId: string; readonly orgId: string; readonly budgetWei: bigint; readonly waitingReason?: string }
  | { readonly status: 'matched'; readonly jobId: string; readonly orgId: string; readonly budgetWei: bigint; readonly nodeId: string; readonly costWei: bigint }
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
      return [draft('JobMatched', { jobId: state.jobId, ...command.match })];
    }
    case 'CancelJob': {
      if (state.status === 'none') return refuse('JOB_NOT_FOUND', 'no such job');
      if (state.orgId !== command.orgId) return refuse('JOB_NOT_FOUND', 'no such job');
      if (state.status !== 'queued') return refuse('JOB_NOT_CANCELLABLE', `job is ${state.status}; only a queued job can be cancelled`);
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
      return { status: 'matched', jobId: state.jobId, orgId: state.orgId, budgetWei: state.budgetWei, nodeId: event.data.nodeId, costWei: event.data.costWei };
    case 'JobCancelled':
      return state.status === 'none' ? state : { status: 'cancelled', jobId: state.jobId, orgId: state.orgId };
    case 'JobFailed':
      return state.status === 'none' ? state : { status: 'failed', jobId: state.jobId, orgId: state.orgId };
    default:
      return assertNever(event);
  }
}

export const jobDecider: Decider<'job', JobCommand, JobState> = { aggregate: 'job', decide: decideJob, evolve: evolveJob, initialState: initialJobState };
