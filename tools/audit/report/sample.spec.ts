import { percentile, RuntimeSample } from './sample';

describe('RuntimeSample', () => {
  it('is exact while it holds every value: nearest-rank p50 and p95', () => {
    const s = new RuntimeSample(100);
    for (let i = 1; i <= 100; i += 1) s.add(i, i / 10);
    expect(s.exact).toBe(true);
    expect([s.runtimePercentile(0.5), s.runtimePercentile(0.95), s.ratioPercentile(0.95)]).toEqual([50, 95, 9.5]);
  });

  it('past its capacity keeps a uniform sample of that size, the same one for the same values (a replay writes the same report)', () => {
    const fill = (): RuntimeSample => {
      const s = new RuntimeSample(1_000);
      for (let i = 1; i <= 100_000; i += 1) s.add(i, i);
      return s;
    };
    const a = fill();
    const b = fill();
    expect(a.exact).toBe(false);
    expect(a.seen).toBe(100_000);
    expect(a.runtimePercentile(0.5)).toBe(b.runtimePercentile(0.5));
    // a uniform sample of 1,000 from 1..100,000: the median within a few percent of 50,000
    expect(Math.abs(a.runtimePercentile(0.5)! - 50_000)).toBeLessThan(5_000);
    expect(Math.abs(a.runtimePercentile(0.95)! - 95_000)).toBeLessThan(3_000);
    // the pairs stay together
    expect(a.ratioPercentile(0.5)).toBe(a.runtimePercentile(0.5));
  });

  it('answers null of no values, and refuses a percentile outside (0, 1] and a capacity under one', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([3, 1, 2], 1)).toBe(3);
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 1.5)).toThrow(RangeError);
    expect(() => new RuntimeSample(0)).toThrow(RangeError);
  });
});
