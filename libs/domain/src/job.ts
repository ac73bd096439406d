import type { Category, EventData, JobRequirements, LatencyPreference, TradeEvent, Urgency, Workload } from '@starminer/events';
import { assertNever, draft, type Draft } from './decider';
import { refuse } from './errors';
import { GPU_MODELS, isKnownGpuModel } from './gpu-catalogue';

/** Limits of one job, named so that a refusal can say what the limit is. */
export const JOB_LIMITS = {
  expectedRuntimeSecMax: 7 * 24 * 3600,
  deadlineSecMax: 30 * 24 * 3600,
  budgetWeiMax: 10n ** 30n,
  gpuCountMax: 64,
} as const;

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
  | { readonly type: 'FailJob'; readonly code: string; readonly reason: string };

export type JobState =
  | { readonly status: 'none' }
  | { readonly status: 'queued'; readonly jobId: string; readonly orgId: string; readonly budgetWei: bigint; readonly waitingReason?: string }
  | { readonly status: 'matched'; readonly jobId: string; readonly orgId: string; readonly budgetWei: bigint; readonly nodeId: string; readonly costWei: bigint }
  | { readonly status: 'cancelled' | 'failed'; readonly jobId: string; readonly orgId: string };

export const initialJobState = (): JobState => ({ status: 'none' });

/** Checks a job's spec against the market's rules; pure, so intake and the decider agree. */
export function validateJobSpec(spec: JobSpec): void {
  const r = spec.requirements;
  if (spec.budgetWei <= 0n) refuse('BUDGET_NOT_POSITIVE', 'invalid', 'budgetWei must be greater than 0');
  if (spec.budgetWei > JOB_LIMITS.budgetWeiMax)
    refuse('BUDGET_TOO_LARGE', 'invalid', `budgetWei must be at most ${JOB_LIMITS.budgetWeiMax}`, { limit: JOB_LIMITS.budgetWeiMax.toString() });
  for (const model of r.gpuModels) {
    if (!isKnownGpuModel(model)) refuse('UNKNOWN_GPU_MODEL', 'invalid', `unknown GPU model '${model}'`, { model });
  }
  if (r.gpuModels.length > 0 && r.gpuModels.every((m) => GPU_MODELS[m].vramGiB < r.minVramGiB))
    refuse('REQUIREMENT_UNSATISFIABLE', 'invalid', `none of ${r.gpuModels.join(', ')} has ${r.minVramGiB} GiB of VRAM`, {
      limit: Math.max(...r.gpuModels.map((m) => GPU_MODELS[m].vramGiB)),
    });
  if (r.gpuModels.length > 0 && r.gpuCount === 0)
    refuse('GPU_COUNT_REQUIRED', 'invalid', 'gpuCount must be at least 1 when gpuModels are given');
  if (r.gpuCount > JOB_LIMITS.gpuCountMax)
    refuse('GPU_COUNT_TOO_LARGE', 'invalid', `gpuCount must be at most ${JOB_LIMITS.gpuCountMax}`, { limit: JOB_LIMITS.gpuCountMax });
  if (spec.expectedRuntimeSec <= 0 || spec.expectedRuntimeSec > JOB_LIMITS.expectedRuntimeSecMax)
    refuse('RUNTIME_OUT_OF_RANGE', 'invalid', `expectedRuntimeSec must be 1..${JOB_LIMITS.expectedRuntimeSecMax}`, { limit: JOB_LIMITS.expectedRuntimeSecMax });
  if (spec.deadlineSec < spec.expectedRuntimeSec || spec.deadlineSec > JOB_LIMITS.deadlineSecMax)
    refuse('DEADLINE_OUT_OF_RANGE', 'invalid', `deadlineSec must be between expectedRuntimeSec and ${JOB_LIMITS.deadlineSecMax}`, {
      limit: JOB_LIMITS.deadlineSecMax,
    });
}

export function decideJob(command: JobCommand, state: JobState): Draft[] {
  switch (command.type) {
    case 'SubmitJob': {
      if (state.status !== 'none') return refuse('JOB_EXISTS', 'conflict', `job ${command.jobId} already exists`);
      validateJobSpec(command.spec);
      if (command.spec.budgetWei > command.availableWei)
        refuse('INSUFFICIENT_FUNDS', 'insufficient-funds', `budget ${command.spec.budgetWei} exceeds the org's available ${command.availableWei} AGPU wei`, {
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
      if (state.status !== 'queued') return refuse('JOB_NOT_QUEUED', 'conflict', `job is ${state.status}, not queued`);
      if (command.match.costWei > state.budgetWei)
        refuse('COST_OVER_BUDGET', 'unprocessable', `cost ${command.match.costWei} exceeds budget ${state.budgetWei}`);
      return [draft('JobMatched', { jobId: state.jobId, ...command.match })];
    }
    case 'CancelJob': {
      if (state.status === 'none') return refuse('JOB_NOT_FOUND', 'not-found', 'no such job');
      if (state.orgId !== command.orgId) return refuse('JOB_NOT_FOUND', 'not-found', 'no such job');
      if (state.status !== 'queued') return refuse('JOB_NOT_CANCELLABLE', 'conflict', `job is ${state.status}; only a queued job can be cancelled`);
      return [draft('JobCancelled', { jobId: state.jobId, reason: command.reason })];
    }
    case 'FailJob': {
      if (state.status === 'none') return refuse('JOB_NOT_FOUND', 'not-found', 'no such job');
      if (state.status === 'failed' || state.status === 'cancelled') return [];
      return [draft('JobFailed', { jobId: state.jobId, code: command.code, reason: command.reason })];
    }
    default:
      return assertNever(command);
  }
}

type JobEvent = Pick<TradeEvent, 'type' | 'data'>;

export function evolveJob(state: JobState, event: JobEvent): JobState {
  switch (event.type) {
    case 'JobSubmitted': {
      const d = event.data as EventData<'JobSubmitted'>;
      return { status: 'queued', jobId: d.jobId, orgId: d.orgId, budgetWei: d.budgetWei };
    }
    case 'JobWaiting':
      return state.status === 'queued' ? { ...state, waitingReason: (event.data as EventData<'JobWaiting'>).reason } : state;
    case 'JobMatched': {
      const d = event.data as EventData<'JobMatched'>;
      if (state.status !== 'queued') return state;
      return { status: 'matched', jobId: state.jobId, orgId: state.orgId, budgetWei: state.budgetWei, nodeId: d.nodeId, costWei: d.costWei };
    }
    case 'JobCancelled':
      return state.status === 'none' ? state : { status: 'cancelled', jobId: state.jobId, orgId: state.orgId };
    case 'JobFailed':
      return state.status === 'none' ? state : { status: 'failed', jobId: state.jobId, orgId: state.orgId };
    default:
      return state;
  }
}

export const jobDecider = { decide: decideJob, evolve: evolveJob, initialState: initialJobState };
