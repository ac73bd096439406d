import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRedundancyRequest, numericOutput, redundancyVerdict, type RedundantRun, type ResultComparison } from './redundancy';
import { resultHashOf } from './workloads';

const run = (nodeId: string, output: string): RedundantRun => ({ nodeId, output, resultHash: resultHashOf(output) });
const exact: ResultComparison = { mode: 'exact' };

/** Measured on an NVIDIA H200 (../shared/data/gpu/h200-torch-bench.json): its fp32 product against a CPU's. */
const H200 = JSON.parse(readFileSync(join(__dirname, '../../../../shared/data/gpu/h200-torch-bench.json'), 'utf8')) as { cpu_vs_gpu_max_abs_diff: number };

describe('redundancyVerdict', () => {
  it('given k = 3 and one dishonest node, when compared exactly, then the two honest nodes are paid and the third dissents', () => {
    expect(redundancyVerdict(3, [run('node-c', 'forged'), run('node-a', 'right'), run('node-b', 'right')], exact)).toEqual({
      kind: 'majority',
      referenceNodeId: 'node-a',
      agreeing: ['node-a', 'node-b'],
      dissenting: ['node-c'],
    });
  });

  it('given k = 3 and three different results, then it is a tie: every run is refunded with the reason', () => {
    const verdict = redundancyVerdict(3, [run('a', '1'), run('b', '2'), run('c', '3')], exact);
    expect(verdict).toMatchObject({ kind: 'tie', largestGroup: ['a'] });
    expect(verdict.kind === 'tie' && verdict.reason).toMatch(/no result was submitted by a majority of the 3 copies \(2 needed\)/);
  });

  it('given k = 2 that disagree, then it is a tie, not a win for either', () => {
    expect(redundancyVerdict(2, [run('a', 'x'), run('b', 'y')], exact)).toMatchObject({ kind: 'tie' });
  });

  it('given k = 3 and only two runs submitted that agree, then they are a majority of the copies asked; the missing node neither agrees nor dissents', () => {
    expect(redundancyVerdict(3, [run('a', 'x'), run('b', 'x')], exact)).toEqual({ kind: 'majority', referenceNodeId: 'a', agreeing: ['a', 'b'], dissenting: [] });
  });

  it('given k = 3 and one run submitted, then one is no majority of three', () => {
    expect(redundancyVerdict(3, [run('a', 'x')], exact)).toMatchObject({ kind: 'tie', largestGroup: ['a'] });
  });

  it('given float outputs that differ as an H200 differs from a CPU, then exact comparison finds no majority and a tolerance above that difference pays all three', () => {
    const diff = H200.cpu_vs_gpu_max_abs_diff;
    expect(diff).toBeGreaterThan(1e-3);
    const gpu = [12.5, -3.25, 40.0625];
    const cpuLike = gpu.map((v, i) => (i === 1 ? v + diff : v));
    const runs = [run('gpu-1', JSON.stringify(gpu)), run('gpu-2', JSON.stringify(gpu.map((v, i) => (i === 2 ? v - diff / 2 : v)))), run('cpu', JSON.stringify(cpuLike))];
    expect(redundancyVerdict(3, runs, exact)).toMatchObject({ kind: 'tie' });
    expect(redundancyVerdict(3, runs, { mode: 'tolerance', absTolerance: 2e-3, relTolerance: 0 })).toMatchObject({ kind: 'majority', agreeing: ['cpu', 'gpu-1', 'gpu-2'], dissenting: [] });
    // a tolerance under the measured difference keeps the two GPU runs and leaves the CPU's out
    expect(redundancyVerdict(3, runs, { mode: 'tolerance', absTolerance: 1e-3, relTolerance: 0 })).toMatchObject({ kind: 'majority', agreeing: ['gpu-1', 'gpu-2'], dissenting: ['cpu'] });
  });

  it('given a perturbed float result beyond the tolerance, then it dissents; a relative tolerance scales with the values', () => {
    const honest = [1000, 2000];
    const runs = [run('a', JSON.stringify(honest)), run('b', JSON.stringify([1000.5, 2000])), run('c', JSON.stringify([1100, 2000]))];
    expect(redundancyVerdict(3, runs, { mode: 'tolerance', absTolerance: 0, relTolerance: 1e-3 })).toEqual({ kind: 'majority', referenceNodeId: 'a', agreeing: ['a', 'b'], dissenting: ['c'] });
  });

  it('given agreement that is not transitive (a ~ b, b ~ c, not a ~ c), then the run that agrees with most is the reference, whatever the order the runs came in', () => {
    const runs = [run('a', '[0]'), run('b', '[1]'), run('c', '[2]')];
    const tol: ResultComparison = { mode: 'tolerance', absTolerance: 1, relTolerance: 0 };
    const expected = { kind: 'majority', referenceNodeId: 'b', agreeing: ['a', 'b', 'c'], dissenting: [] };
    expect(redundancyVerdict(3, runs, tol)).toEqual(expected);
    expect(redundancyVerdict(3, [...runs].reverse(), tol)).toEqual(expected);
  });

  it('given an output that is not a JSON array of finite numbers under a tolerance comparison, then that run agrees with nothing and dissents', () => {
    const runs = [run('a', '[1,2]'), run('b', '[1,2]'), run('c', 'not numbers')];
    expect(redundancyVerdict(3, runs, { mode: 'tolerance', absTolerance: 0.1, relTolerance: 0 })).toMatchObject({ kind: 'majority', dissenting: ['c'] });
    expect(redundancyVerdict(3, [run('a', '[1]'), run('b', '[1,2]'), run('c', '{}')], { mode: 'tolerance', absTolerance: 0.1, relTolerance: 0 })).toMatchObject({ kind: 'tie' });
  });

  it('refuses a node that submitted twice and more runs than copies: the caller\'s bug, not a verdict', () => {
    expect(() => redundancyVerdict(3, [run('a', 'x'), run('a', 'x')], exact)).toThrow(/submitted twice/);
    expect(() => redundancyVerdict(2, [run('a', 'x'), run('b', 'x'), run('c', 'x')], exact)).toThrow(/3 runs for 2 copies/);
  });
});

describe('checkRedundancyRequest', () => {
  it.each([
    [1, exact, 'REDUNDANCY_COPIES_OUT_OF_RANGE'],
    [6, exact, 'REDUNDANCY_COPIES_OUT_OF_RANGE'],
    [2.5, exact, 'REDUNDANCY_COPIES_OUT_OF_RANGE'],
    [3, { mode: 'tolerance', absTolerance: -1, relTolerance: 0 }, 'REDUNDANCY_TOLERANCE_INVALID'],
    [3, { mode: 'tolerance', absTolerance: 0, relTolerance: Number.NaN }, 'REDUNDANCY_TOLERANCE_INVALID'],
    [3, { mode: 'tolerance', absTolerance: 2, relTolerance: 0 }, 'REDUNDANCY_TOLERANCE_INVALID'],
  ] as const)('given %p copies and %p, refuses with %p', (copies, comparison, code) => {
    expect(() => checkRedundancyRequest(copies, comparison)).toThrow(expect.objectContaining({ code }));
  });

  it('accepts 2 to 5 copies and tolerances in [0, 1]', () => {
    expect(() => checkRedundancyRequest(2, exact)).not.toThrow();
    expect(() => checkRedundancyRequest(5, { mode: 'tolerance', absTolerance: 0, relTolerance: 1 })).not.toThrow();
  });
});

describe('numericOutput', () => {
  it('reads a JSON array of finite numbers and nothing else', () => {
    expect(numericOutput('[1, 2.5, -3e-4]')).toEqual([1, 2.5, -3e-4]);
    for (const bad of ['', '1', '[1, "2"]', '[1, null]', '{"a": 1}', 'x'.repeat(20_000)]) expect(numericOutput(bad)).toBeUndefined();
  });
});
