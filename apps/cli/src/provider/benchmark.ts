import { createHash } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { UsageError } from '../shared/errors';

/** How long `provider register` measures the hash rate when no `--benchmark-score` is given. */
export const BENCHMARK_MS_DEFAULT = 1_000;
/** The most `--benchmark-ms` may ask for: a minute is far past a stable figure. */
export const BENCHMARK_MS_MAX = 60_000;
/** Hashes between two looks at the clock: the clock costs far less than this many hashes. */
const HASHES_PER_CHECK = 1_000;
/** The longest the measurement holds the event loop before letting it run (Ctrl-C, timers). */
const SLICE_MS = 25;
export const BENCHMARK_KIND = 'hash-chain-sha256';

/** `--benchmark-ms`: whole milliseconds from 1 to BENCHMARK_MS_MAX, else a usage error (nothing measured, nothing sent). */
export function benchmarkMs(ms: number | undefined): number {
  if (ms === undefined) return BENCHMARK_MS_DEFAULT;
  if (!Number.isSafeInteger(ms) || ms < 1 || ms > BENCHMARK_MS_MAX) throw new UsageError('BAD_FLAG', `--benchmark-ms: whole milliseconds from 1 to ${BENCHMARK_MS_MAX}, got ${String(ms)}`);
  return ms;
}

/**
 * sha256 hashes per second on this machine's CPU, as the provider agent measures them (its
 * built-in workload). Measured in slices of about SLICE_MS that each end by yielding to the event
 * loop, so Ctrl-C is heard while it runs: `signal` aborted stops it with its reason (exit 130).
 */
export async function measureHashRate(durationMs: number, opts: { signal?: AbortSignal; now?: () => number } = {}): Promise<number> {
  const now = opts.now ?? (() => performance.now());
  opts.signal?.throwIfAborted();
  const started = now();
  let sliceStarted = started;
  let h = createHash('sha256').update('starminer-benchmark').digest();
  let hashes = 0;
  for (;;) {
    for (let i = 0; i < HASHES_PER_CHECK; i += 1) h = createHash('sha256').update(h).digest();
    hashes += HASHES_PER_CHECK;
    const t = now();
    if (t - started >= durationMs) break;
    if (t - sliceStarted >= SLICE_MS) {
      await yieldToEventLoop();
      opts.signal?.throwIfAborted();
      sliceStarted = now();
    }
  }
  return Math.round(hashes / (Math.max(now() - started, 1) / 1000));
}
