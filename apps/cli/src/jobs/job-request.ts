import { parseAgpu } from '@starminer/sdk';
import { UsageError } from '../shared/errors';
import type { Client } from '../shared/context';

/** A job's body as POST /v1/jobs and POST /v1/quotes take it: the SDK's own type, so a change there is a compile error here. */
export type JobRequest = Parameters<Client['submitJob']>[0]['job'];

export const CATEGORIES = ['ai-training', 'inference', 'rendering', 'simulation'] as const satisfies readonly JobRequest['category'][];
export const URGENCIES = ['low', 'normal', 'high', 'critical'] as const satisfies readonly JobRequest['urgency'][];
export const LATENCY_PREFERENCES = ['relaxed', 'normal', 'low'] as const satisfies readonly JobRequest['latencyPreference'][];
export const WORKLOAD_KINDS = ['hash-chain', 'matmul', 'command'] as const satisfies readonly JobRequest['workload']['kind'][];

/**
 * Defaults of a job built from flags, chosen so `starminer jobs submit --category inference
 * --budget 5 --runtime 60` is a whole job: one GPU of any model anywhere, a built-in workload
 * anyone can recompute. Limits are the gateway's to check (it names the field and the limit).
 */
export const JOB_DEFAULTS = {
  gpuCount: 1,
  minVramGiB: 0,
  urgency: 'normal',
  latencyPreference: 'normal',
  workload: 'hash-chain',
  /** about a tenth of a second of sha256 on one core: a smoke test, not a benchmark */
  hashChainIterations: 100_000,
  matmulSize: 64,
} as const;

/** The job flags of `jobs submit` and `quote`, as yargs parses them (undefined when not given). */
export interface JobFlags {
  category?: string;
  budget?: string;
  budgetWei?: string;
  gpu?: string[];
  gpus?: number;
  vram?: number;
  region?: string[];
  tee?: boolean;
  maxLatency?: number;
  urgency?: string;
  latency?: string;
  runtime?: number;
  deadline?: number;
  green?: boolean;
  workload?: string;
  seed?: string;
  iterations?: number;
  size?: number;
  command?: string[];
  image?: string;
  network?: boolean;
  copies?: number;
  tolerance?: string;
}

/** Flag names as typed (`--max-latency`), by the key yargs gives them. */
const FLAG_NAME: Record<keyof JobFlags, string> = {
  category: '--category', budget: '--budget', budgetWei: '--budget-wei', gpu: '--gpu', gpus: '--gpus', vram: '--vram',
  region: '--region', tee: '--tee', maxLatency: '--max-latency', urgency: '--urgency', latency: '--latency',
  runtime: '--runtime', deadline: '--deadline', green: '--green', workload: '--workload', seed: '--seed',
  iterations: '--iterations', size: '--size', command: '--command', image: '--image', network: '--network', copies: '--copies', tolerance: '--tolerance',
};
export const JOB_FLAG_KEYS = Object.keys(FLAG_NAME) as (keyof JobFlags)[];

/** The job flags given on the command line, by their names. */
export function givenJobFlags(flags: JobFlags): string[] {
  return JOB_FLAG_KEYS.filter((k) => flags[k] !== undefined).map((k) => FLAG_NAME[k]);
}

/** `--gpu H100,A100 --gpu L40S` → ['H100', 'A100', 'L40S']: repeated and comma-separated both work. */
export function listOf(values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter((v) => v.length > 0);
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback?: T): T {
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UsageError('MISSING_FLAG', `${flag} is required: one of ${allowed.join(', ')}`);
  }
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError('BAD_FLAG', `${flag} ${value}: expected one of ${allowed.join(', ')}`);
  return value as T;
}

function integer(flag: string, value: number | undefined, fallback?: number): number {
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UsageError('MISSING_FLAG', `${flag} is required`);
  }
  if (!Number.isSafeInteger(value)) throw new UsageError('BAD_FLAG', `${flag} must be a whole number, got ${String(value)}`);
  return value;
}

/** AGPU (`--budget 50`, `--budget 0.5`) or base units (`--budget-wei 500000000000000000`), exactly one. */
export function budgetWeiOf(flags: Pick<JobFlags, 'budget' | 'budgetWei'>): bigint {
  if (flags.budget !== undefined && flags.budgetWei !== undefined) throw new UsageError('CONFLICTING_FLAGS', 'give --budget (AGPU) or --budget-wei (base units), not both');
  if (flags.budgetWei !== undefined) {
    if (!/^(0|[1-9][0-9]*)$/.test(String(flags.budgetWei))) throw new UsageError('BAD_AMOUNT', `--budget-wei ${flags.budgetWei}: expected a whole number of base units`);
    return BigInt(flags.budgetWei);
  }
  if (flags.budget === undefined) throw new UsageError('MISSING_FLAG', '--budget is required: the most the job may cost, in AGPU (e.g. --budget 50)');
  return agpuFlag('--budget', String(flags.budget));
}

/** An AGPU amount from a flag, exact (parseAgpu: at most 18 decimals, no exponent, no float on the way). */
export function agpuFlag(flag: string, value: string): bigint {
  let wei: bigint;
  try {
    wei = parseAgpu(value.trim());
  } catch (err) {
    throw new UsageError('BAD_AMOUNT', `${flag} ${value}: not an AGPU amount (e.g. 50 or 0.25, at most 18 decimals): ${(err as Error).message}`);
  }
  if (wei < 0n) throw new UsageError('BAD_AMOUNT', `${flag} ${value}: an amount is not negative`);
  return wei;
}

function workloadOf(f: JobFlags, newSeed: () => string): JobRequest['workload'] {
  const kind = oneOf('--workload', f.workload, WORKLOAD_KINDS, JOB_DEFAULTS.workload);
  const foreign = (allowed: (keyof JobFlags)[]): void => {
    const extra = (['seed', 'iterations', 'size', 'command', 'image', 'network'] as const).filter((k) => !allowed.includes(k) && f[k] !== undefined);
    if (extra.length > 0) throw new UsageError('CONFLICTING_FLAGS', `${extra.map((k) => FLAG_NAME[k]).join(', ')} ${extra.length === 1 ? 'does' : 'do'} not apply to --workload ${kind}`);
  };
  switch (kind) {
    case 'hash-chain':
      foreign(['seed', 'iterations']);
      return { kind, seed: f.seed ?? newSeed(), iterations: integer('--iterations', f.iterations, JOB_DEFAULTS.hashChainIterations) };
    case 'matmul':
      foreign(['seed', 'size']);
      return { kind, seed: f.seed ?? newSeed(), size: integer('--size', f.size, JOB_DEFAULTS.matmulSize) };
    case 'command': {
      foreign(['command', 'image', 'network']);
      const command = (f.command ?? []).map(String);
      if (command.length === 0) throw new UsageError('MISSING_FLAG', '--workload command needs --command, e.g. --command python --command train.py');
      if (f.network !== undefined && f.image === undefined) throw new UsageError('CONFLICTING_FLAGS', '--network applies to a container: give --image too');
      return { kind, command, ...(f.image === undefined ? {} : { image: f.image }), ...(f.network ? { network: true } : {}) };
    }
    default: {
      const never: never = kind;
      throw new UsageError('BAD_FLAG', `--workload ${String(never)}`);
    }
  }
}

/**
 * The job the flags describe. `newSeed` names the workload's seed when `--seed` is not given
 * (randomness comes in from the caller, so this stays a pure mapping).
 */
export function jobRequestFromFlags(f: JobFlags, newSeed: () => string): JobRequest {
  const category = oneOf('--category', f.category, CATEGORIES);
  const budgetWei = budgetWeiOf(f);
  const expectedRuntimeSec = integer('--runtime', f.runtime);
  const maxLatencyMs = f.maxLatency === undefined ? undefined : integer('--max-latency', f.maxLatency);
  const deadlineSec = f.deadline === undefined ? undefined : integer('--deadline', f.deadline);
  return {
    category,
    budgetWei: budgetWei.toString(),
    urgency: oneOf('--urgency', f.urgency, URGENCIES, JOB_DEFAULTS.urgency),
    latencyPreference: oneOf('--latency', f.latency, LATENCY_PREFERENCES, JOB_DEFAULTS.latencyPreference),
    requirements: {
      gpuModels: listOf(f.gpu),
      gpuCount: integer('--gpus', f.gpus, JOB_DEFAULTS.gpuCount),
      minVramGiB: integer('--vram', f.vram, JOB_DEFAULTS.minVramGiB),
      tee: f.tee ?? false,
      regions: listOf(f.region),
      ...(maxLatencyMs === undefined ? {} : { maxLatencyMs }),
    },
    expectedRuntimeSec,
    ...(deadlineSec === undefined ? {} : { deadlineSec }),
    ...(f.green === undefined ? {} : { green: f.green }),
    workload: workloadOf(f, newSeed),
    ...redundancyOf(f),
  };
}

/**
 * Redundancy (issue 17): `--copies k` runs the job on k distinct nodes of its one GPU model (each
 * copy pays its budget), results compared exactly, or, with `--tolerance ABS[,REL]`, as JSON arrays
 * of numbers within ABS + REL x max(|a|, |b|). The gateway checks the ranges.
 */
function redundancyOf(f: Pick<JobFlags, 'copies' | 'tolerance'>): Pick<JobRequest, 'redundancy'> {
  if (f.copies === undefined) {
    if (f.tolerance !== undefined) throw new UsageError('BAD_FLAG', '--tolerance compares copies: give --copies too');
    return {};
  }
  const copies = integer('--copies', f.copies);
  if (f.tolerance === undefined) return { redundancy: { copies, compare: { mode: 'exact' } } };
  const parts = f.tolerance.split(',').map((x) => x.trim());
  const [absTolerance, relTolerance = 0] = parts.map(Number);
  if (parts.length > 2 || parts.some((x) => x === '') || !Number.isFinite(absTolerance) || !Number.isFinite(relTolerance))
    throw new UsageError('BAD_FLAG', `--tolerance must be ABS or ABS,REL (numbers), got ${f.tolerance}`);
  return { redundancy: { copies, compare: { mode: 'tolerance', absTolerance, relTolerance } } };
}

/**
 * A job from a JSON file (`--file job.json`, `-` for stdin): the body as it is, for the gateway to
 * validate (it names each wrong field and its limit). Job flags beside it would be ambiguous
 * (which wins?), so they are refused.
 */
export function jobRequestFromFile(text: string, source: string, flags: JobFlags): JobRequest {
  const given = givenJobFlags(flags);
  if (given.length > 0) throw new UsageError('CONFLICTING_FLAGS', `--file describes the whole job: leave out ${given.join(', ')} (or edit ${source})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError('BAD_FILE', `${source} is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError('BAD_FILE', `${source} must hold one JSON object: the job, as POST /v1/jobs takes it`);
  return parsed as JobRequest;
}
