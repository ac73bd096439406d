import { formatAgpu } from '@starminer/sdk';
import { applyAlternative, buildJob, DEFAULT_JOB_FORM, describeAlternative, jobKey } from './job-form';

describe('buildJob', () => {
  it('turns the default form into a hash-chain job with the budget in wei', () => {
    const built = buildJob(DEFAULT_JOB_FORM);
    if (!built.ok) throw new Error(JSON.stringify(built.errors));
    expect(built.job).toMatchObject({
      category: 'inference',
      budgetWei: 50n * 10n ** 18n,
      requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] },
      expectedRuntimeSec: 600,
      workload: { kind: 'hash-chain', seed: 'console-run', iterations: 100_000 },
    });
  });
  it('reads lists of GPU models and regions', () => {
    const built = buildJob({ ...DEFAULT_JOB_FORM, gpuModels: 'H100, A100 ,', regions: 'eu-west' });
    expect(built.ok && built.job.requirements).toMatchObject({ gpuModels: ['H100', 'A100'], regions: ['eu-west'] });
  });
  it.each<[Partial<typeof DEFAULT_JOB_FORM>, string, RegExp]>([
    [{ budgetAgpu: 'abc' }, 'budgetAgpu', /amount/],
    [{ budgetAgpu: '0' }, 'budgetAgpu', /more than 0/],
    [{ budgetAgpu: '0.0000000000000000001' }, 'budgetAgpu', /18 decimals/],
    [{ gpuCount: '17' }, 'gpuCount', /between 0 and 16/],
    [{ gpuCount: '1.5' }, 'gpuCount', /whole number/],
    [{ gpuCount: '0', gpuModels: 'H100' }, 'gpuCount', /at least 1/],
    [{ minVramGiB: '-1' }, 'minVramGiB', /whole number/],
    [{ expectedRuntimeSec: '0' }, 'expectedRuntimeSec', /between 1/],
    [{ iterations: '50000001' }, 'iterations', /between 1 and 50000000/],
    [{ seed: 'x'.repeat(257) }, 'seed', /256/],
  ])('refuses %j', (change, field, message) => {
    const built = buildJob({ ...DEFAULT_JOB_FORM, ...change });
    expect(built.ok).toBe(false);
    if (!built.ok) expect(built.errors[field as keyof typeof built.errors]).toMatch(message);
  });
  it('jobKey is stable and writes bigints', () => {
    const a = buildJob(DEFAULT_JOB_FORM);
    const b = buildJob({ ...DEFAULT_JOB_FORM });
    if (!a.ok || !b.ok) throw new Error('not built');
    expect(jobKey(a.job)).toBe(jobKey(b.job));
    expect(jobKey(a.job)).toContain('"budgetWei":"50000000000000000000"');
  });
});

describe('alternatives', () => {
  it('applies a budget, a region, a GPU model', () => {
    expect(applyAlternative(DEFAULT_JOB_FORM, { change: 'budget', value: '75000000000000000000' }, formatAgpu).budgetAgpu).toBe('75');
    expect(applyAlternative(DEFAULT_JOB_FORM, { change: 'region', value: 'us-east' }, formatAgpu).regions).toBe('us-east');
    expect(applyAlternative({ ...DEFAULT_JOB_FORM, gpuCount: '0' }, { change: 'gpuModel', value: 'A100' }, formatAgpu)).toMatchObject({ gpuModels: 'A100', gpuCount: '1' });
  });
  it('describes them', () => {
    expect(describeAlternative({ change: 'budget', value: '75000000000000000000' }, formatAgpu)).toBe('a budget of 75 AGPU');
    expect(describeAlternative({ change: 'gpuModel', value: 'A100' }, formatAgpu)).toBe('GPU model A100');
  });
});
