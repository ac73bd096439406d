import { UsageError } from '../shared/errors';
import { budgetWeiOf, givenJobFlags, jobRequestFromFile, jobRequestFromFlags, listOf, type JobFlags } from './job-request';

const AGPU = 10n ** 18n;
const seed = () => 'seed-1';

/** The UsageError code a mapping throws, for the table of refusals. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err.code;
    throw err;
  }
  throw new Error('expected a UsageError');
}

describe('jobRequestFromFlags: the flags of jobs submit and quote as the body of POST /v1/jobs', () => {
  it('maps every flag of the brief to its field, the budget exact in base units', () => {
    const flags: JobFlags = {
      category: 'inference', budget: '50', gpu: ['H100'], gpus: 1, vram: 8, region: ['eu-west'], urgency: 'normal',
      runtime: 60, workload: 'hash-chain', seed: 'x', iterations: 100_000,
    };
    expect(jobRequestFromFlags(flags, seed)).toEqual({
      category: 'inference',
      budgetWei: (50n * AGPU).toString(),
      urgency: 'normal',
      latencyPreference: 'normal',
      requirements: { gpuModels: ['H100'], gpuCount: 1, minVramGiB: 8, tee: false, regions: ['eu-west'] },
      expectedRuntimeSec: 60,
      workload: { kind: 'hash-chain', seed: 'x', iterations: 100_000 },
    });
  });

  it('fills the defaults: one GPU of any model anywhere, a hash chain with a new seed', () => {
    expect(jobRequestFromFlags({ category: 'rendering', budget: '0.25', runtime: 30 }, seed)).toEqual({
      category: 'rendering',
      budgetWei: (AGPU / 4n).toString(),
      urgency: 'normal',
      latencyPreference: 'normal',
      requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] },
      expectedRuntimeSec: 30,
      workload: { kind: 'hash-chain', seed: 'seed-1', iterations: 100_000 },
    });
  });

  it('passes the optional fields only when given: max latency, deadline, green, tee', () => {
    const job = jobRequestFromFlags({ category: 'simulation', budgetWei: '7', runtime: 10, maxLatency: 50, deadline: 600, green: true, tee: true, latency: 'low', urgency: 'critical' }, seed);
    expect(job.budgetWei).toBe('7');
    expect(job.requirements).toEqual({ gpuModels: [], gpuCount: 1, minVramGiB: 0, tee: true, regions: [], maxLatencyMs: 50 });
    expect(job).toMatchObject({ deadlineSec: 600, green: true, latencyPreference: 'low', urgency: 'critical' });
  });

  it('builds each workload kind from its own flags', () => {
    const base = { category: 'ai-training', budget: '1', runtime: 10 };
    expect(jobRequestFromFlags({ ...base, workload: 'matmul', size: 128 }, seed).workload).toEqual({ kind: 'matmul', seed: 'seed-1', size: 128 });
    expect(jobRequestFromFlags({ ...base, workload: 'matmul' }, seed).workload).toEqual({ kind: 'matmul', seed: 'seed-1', size: 64 });
    expect(jobRequestFromFlags({ ...base, workload: 'command', command: ['python', 'train.py'], image: 'py:3' }, seed).workload).toEqual({ kind: 'command', command: ['python', 'train.py'], image: 'py:3' });
    expect(jobRequestFromFlags({ ...base, workload: 'command', command: ['curl', 'x'], image: 'curl:8', network: true }, seed).workload).toEqual({ kind: 'command', command: ['curl', 'x'], image: 'curl:8', network: true });
    expect(() => jobRequestFromFlags({ ...base, workload: 'command', command: ['curl', 'x'], network: true }, seed)).toThrow(expect.objectContaining({ code: 'CONFLICTING_FLAGS' }));
    expect(() => jobRequestFromFlags({ ...base, workload: 'hash-chain', network: true }, seed)).toThrow(expect.objectContaining({ code: 'CONFLICTING_FLAGS' }));
  });

  it('redundancy: --copies runs the job on k nodes, compared exactly, or within --tolerance ABS[,REL]', () => {
    const base = { category: 'inference', budget: '1', runtime: 10, gpu: ['H100'] };
    expect(jobRequestFromFlags(base, seed).redundancy).toBeUndefined();
    expect(jobRequestFromFlags({ ...base, copies: 3 }, seed).redundancy).toEqual({ copies: 3, compare: { mode: 'exact' } });
    expect(jobRequestFromFlags({ ...base, copies: 2, tolerance: '0.001' }, seed).redundancy).toEqual({ copies: 2, compare: { mode: 'tolerance', absTolerance: 0.001, relTolerance: 0 } });
    expect(jobRequestFromFlags({ ...base, copies: 2, tolerance: '1e-3, 1e-6' }, seed).redundancy).toEqual({ copies: 2, compare: { mode: 'tolerance', absTolerance: 1e-3, relTolerance: 1e-6 } });
    expect(codeOf(() => jobRequestFromFlags({ ...base, tolerance: '0.1' }, seed))).toBe('BAD_FLAG');
    expect(codeOf(() => jobRequestFromFlags({ ...base, copies: 2, tolerance: 'x' }, seed))).toBe('BAD_FLAG');
    expect(codeOf(() => jobRequestFromFlags({ ...base, copies: 2, tolerance: '1,2,3' }, seed))).toBe('BAD_FLAG');
  });

  it('takes lists repeated or comma-separated', () => {
    expect(listOf(['H100,A100', ' L40S ', ''])).toEqual(['H100', 'A100', 'L40S']);
    expect(listOf(undefined)).toEqual([]);
    const job = jobRequestFromFlags({ category: 'inference', budget: '1', runtime: 1, gpu: ['H100,A100'], region: ['eu-west', 'us-east'] }, seed);
    expect(job.requirements.gpuModels).toEqual(['H100', 'A100']);
    expect(job.requirements.regions).toEqual(['eu-west', 'us-east']);
  });

  it.each<[string, JobFlags, string]>([
    ['no category', { budget: '1', runtime: 1 }, 'MISSING_FLAG'],
    ['an unknown category', { category: 'mining', budget: '1', runtime: 1 }, 'BAD_FLAG'],
    ['no budget', { category: 'inference', runtime: 1 }, 'MISSING_FLAG'],
    ['a budget in both units', { category: 'inference', budget: '1', budgetWei: '1', runtime: 1 }, 'CONFLICTING_FLAGS'],
    ['a budget with 19 decimals', { category: 'inference', budget: '0.0000000000000000001', runtime: 1 }, 'BAD_AMOUNT'],
    ['a budget as an exponent', { category: 'inference', budget: '1e3', runtime: 1 }, 'BAD_AMOUNT'],
    ['a negative budget', { category: 'inference', budget: '-5', runtime: 1 }, 'BAD_AMOUNT'],
    ['a budget-wei with decimals', { category: 'inference', budgetWei: '1.5', runtime: 1 }, 'BAD_AMOUNT'],
    ['no runtime', { category: 'inference', budget: '1' }, 'MISSING_FLAG'],
    ['a runtime that is not a number', { category: 'inference', budget: '1', runtime: Number.NaN }, 'BAD_FLAG'],
    ['a fractional GPU count', { category: 'inference', budget: '1', runtime: 1, gpus: 1.5 }, 'BAD_FLAG'],
    ['an unknown urgency', { category: 'inference', budget: '1', runtime: 1, urgency: 'asap' }, 'BAD_FLAG'],
    ['an unknown workload', { category: 'inference', budget: '1', runtime: 1, workload: 'bitcoin' }, 'BAD_FLAG'],
    ['a flag of another workload', { category: 'inference', budget: '1', runtime: 1, size: 4 }, 'CONFLICTING_FLAGS'],
    ['a command workload without a command', { category: 'inference', budget: '1', runtime: 1, workload: 'command' }, 'MISSING_FLAG'],
  ])('refuses %s before anything is sent', (_name, flags, code) => {
    expect(codeOf(() => jobRequestFromFlags(flags, seed))).toBe(code);
  });

  it('reads the budget exactly, never through a float', () => {
    expect(budgetWeiOf({ budget: '0.1' })).toBe(AGPU / 10n);
    expect(budgetWeiOf({ budget: '123456789.123456789123456789' })).toBe(123456789123456789123456789n);
  });
});

describe('jobRequestFromFile: --file job.json', () => {
  it('sends the file as it is, for the gateway to validate', () => {
    const body = { category: 'inference', budgetWei: '5', whatever: true };
    expect(jobRequestFromFile(JSON.stringify(body), 'job.json', {})).toEqual(body);
  });

  it('refuses job flags beside it, naming them', () => {
    try {
      jobRequestFromFile('{}', 'job.json', { budget: '5', maxLatency: 3 });
      throw new Error('expected a refusal');
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).code).toBe('CONFLICTING_FLAGS');
      expect((err as UsageError).message).toContain('--budget, --max-latency');
    }
    expect(givenJobFlags({ tee: false, gpu: [] })).toEqual(['--gpu', '--tee']);
  });

  it.each([
    ['not JSON', '{category:'],
    ['not an object', '[1,2]'],
    ['null', 'null'],
  ])('refuses a file that is %s', (_name, text) => {
    expect(codeOf(() => jobRequestFromFile(text, 'job.json', {}))).toBe('BAD_FILE');
  });
});
