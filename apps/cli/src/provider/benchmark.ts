import { createHash } from 'node:crypto';

/** How long `provider register` measures the hash rate when no `--benchmark-score` is given. */
export const BENCHMARK_MS_DEFAULT = 1_000;
/** Hashes between two looks at the clock: the clock costs far less than this many hashes. */
const SLICE_HASHES = 10_000;
export const BENCHMARK_KIND = 'hash-chain-sha256';

/** sha256 hashes per second on this machine's CPU, as the provider agent measures them (its built-in workload). */
export function measureHashRate(durationMs: number, now: () => number = () => performance.now()): number {
  const started = now();
  let h = createHash('sha256').update('starminer-benchmark').digest();
  let hashes = 0;
  while (now() - started < durationMs) {
    for (let i = 0; i < SLICE_HASHES; i += 1) h = createHash('sha256').update(h).digest();
    hashes += SLICE_HASHES;
  }
  return Math.round(hashes / (Math.max(now() - started, 1) / 1000));
}
