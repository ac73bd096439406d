import { UsageError } from '../shared/errors';
import { BENCHMARK_MS_DEFAULT, BENCHMARK_MS_MAX, benchmarkMs, measureHashRate } from './benchmark';

describe('the provider benchmark', () => {
  it('--benchmark-ms: whole milliseconds from 1 to 60000, the default without it', () => {
    expect(benchmarkMs(undefined)).toBe(BENCHMARK_MS_DEFAULT);
    expect(benchmarkMs(1)).toBe(1);
    expect(benchmarkMs(BENCHMARK_MS_MAX)).toBe(60_000);
    for (const bad of [0, -1, 60_001, 1e12, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => benchmarkMs(bad)).toThrow(UsageError);
    }
  });

  it('measures a positive hash rate in about the time asked', async () => {
    const t0 = Date.now();
    const rate = await measureHashRate(50);
    expect(rate).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('yields to the event loop while it runs, so an abort (Ctrl-C) stops it at once', async () => {
    const interrupt = new AbortController();
    // a timer only fires if the measurement lets the event loop run
    const timer = setTimeout(() => interrupt.abort(), 50);
    const t0 = Date.now();
    const err = await Promise.resolve(measureHashRate(10_000, { signal: interrupt.signal })).catch((e: unknown) => e);
    clearTimeout(timer);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect((err as Error).name).toBe('AbortError');
  });

  it('does not start when already aborted', async () => {
    const interrupt = new AbortController();
    interrupt.abort();
    await expect(measureHashRate(10_000, { signal: interrupt.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
