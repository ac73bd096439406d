/**
 * The New job form: its fields as typed text, checked and turned into the SDK's JobInput (a
 * `hash-chain` workload). Pure, so jest checks every refusal (job-form.spec.ts).
 */
import { AgpuFormatError, parseAgpu, type JobInput, type QuoteAlternative } from '@starminer/sdk';

export const CATEGORIES = ['ai-training', 'inference', 'rendering', 'simulation'] as const;
export const URGENCIES = ['low', 'normal', 'high', 'critical'] as const;
export const LATENCY_PREFERENCES = ['relaxed', 'normal', 'low'] as const;

/** Bounds of the API's SubmitJobRequest (docs/openapi.json), checked here to say so before asking. */
export const JOB_FORM_LIMITS = {
  gpuCountMax: 16,
  minVramGiBMax: 4096,
  expectedRuntimeSecMax: 604_800,
  iterationsMax: 50_000_000,
  seedLengthMax: 256,
  listItemsMax: 32,
} as const;

export interface JobForm {
  category: (typeof CATEGORIES)[number];
  budgetAgpu: string;
  gpuCount: string;
  minVramGiB: string;
  urgency: (typeof URGENCIES)[number];
  latencyPreference: (typeof LATENCY_PREFERENCES)[number];
  expectedRuntimeSec: string;
  seed: string;
  iterations: string;
  /** comma-separated; empty = any */
  gpuModels: string;
  /** comma-separated; empty = any */
  regions: string;
}

export const DEFAULT_JOB_FORM: JobForm = {
  category: 'inference',
  budgetAgpu: '50',
  gpuCount: '1',
  minVramGiB: '0',
  urgency: 'normal',
  latencyPreference: 'normal',
  expectedRuntimeSec: '600',
  seed: 'console-run',
  iterations: '100000',
  gpuModels: '',
  regions: '',
};

export type JobFormErrors = Partial<Record<keyof JobForm, string>>;
export type BuiltJob = { ok: true; job: JobInput } | { ok: false; errors: JobFormErrors };

function integer(text: string, min: number, max: number): number | string {
  const t = text.trim();
  if (!/^[0-9]+$/.test(t)) return 'a whole number';
  const n = Number(t);
  if (n < min || n > max) return `between ${min} and ${max}`;
  return n;
}

const list = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** The job the form describes, or what is wrong with each field. */
export function buildJob(form: JobForm): BuiltJob {
  const errors: JobFormErrors = {};
  let budgetWei = 0n;
  try {
    budgetWei = parseAgpu(form.budgetAgpu.trim());
    if (budgetWei <= 0n) errors.budgetAgpu = 'more than 0';
  } catch (err) {
    errors.budgetAgpu = err instanceof AgpuFormatError && err.code === 'AGPU_TOO_MANY_DECIMALS' ? 'at most 18 decimals' : 'an amount like 50 or 1.5';
  }
  const gpuCount = integer(form.gpuCount, 0, JOB_FORM_LIMITS.gpuCountMax);
  if (typeof gpuCount === 'string') errors.gpuCount = gpuCount;
  const minVram = integer(form.minVramGiB, 0, JOB_FORM_LIMITS.minVramGiBMax);
  if (typeof minVram === 'string') errors.minVramGiB = minVram;
  const runtime = integer(form.expectedRuntimeSec, 1, JOB_FORM_LIMITS.expectedRuntimeSecMax);
  if (typeof runtime === 'string') errors.expectedRuntimeSec = runtime;
  const iterations = integer(form.iterations, 1, JOB_FORM_LIMITS.iterationsMax);
  if (typeof iterations === 'string') errors.iterations = iterations;
  if (form.seed.length > JOB_FORM_LIMITS.seedLengthMax) errors.seed = `at most ${JOB_FORM_LIMITS.seedLengthMax} characters`;
  const gpuModels = list(form.gpuModels);
  const regions = list(form.regions);
  if (gpuModels.length > JOB_FORM_LIMITS.listItemsMax) errors.gpuModels = `at most ${JOB_FORM_LIMITS.listItemsMax}`;
  if (regions.length > JOB_FORM_LIMITS.listItemsMax) errors.regions = `at most ${JOB_FORM_LIMITS.listItemsMax}`;
  if (gpuModels.length > 0 && gpuCount === 0) errors.gpuCount = 'at least 1 when a GPU model is named';
  if (!CATEGORIES.includes(form.category)) errors.category = 'one of the categories';
  if (!URGENCIES.includes(form.urgency)) errors.urgency = 'one of the urgencies';
  if (!LATENCY_PREFERENCES.includes(form.latencyPreference)) errors.latencyPreference = 'one of the preferences';
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    job: {
      category: form.category,
      budgetWei,
      urgency: form.urgency,
      latencyPreference: form.latencyPreference,
      requirements: { gpuModels, gpuCount: gpuCount as number, minVramGiB: minVram as number, tee: false, regions },
      expectedRuntimeSec: runtime as number,
      workload: { kind: 'hash-chain', seed: form.seed, iterations: iterations as number },
    },
  };
}

/** A stable key of a job, to ask for a quote only when the job changed. */
export const jobKey = (job: JobInput): string => JSON.stringify(job, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

/** The form with a quote's nearest option applied (another budget, region or GPU model). */
export function applyAlternative(form: JobForm, alt: Pick<QuoteAlternative, 'change' | 'value'>, budgetText: (wei: string) => string): JobForm {
  switch (alt.change) {
    case 'budget':
      return { ...form, budgetAgpu: budgetText(alt.value) };
    case 'region':
      return { ...form, regions: alt.value };
    case 'gpuModel':
      return { ...form, gpuModels: alt.value, gpuCount: form.gpuCount === '0' ? '1' : form.gpuCount };
    default: {
      const never: never = alt.change;
      return never;
    }
  }
}

/** What an alternative changes, in words. */
export function describeAlternative(alt: Pick<QuoteAlternative, 'change' | 'value'>, budgetText: (wei: string) => string): string {
  switch (alt.change) {
    case 'budget':
      return `a budget of ${budgetText(alt.value)} AGPU`;
    case 'region':
      return `region ${alt.value}`;
    case 'gpuModel':
      return `GPU model ${alt.value}`;
    default: {
      const never: never = alt.change;
      return never;
    }
  }
}
