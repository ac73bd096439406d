import { runHashChain } from '@starminer/domain';

/** How long the start-up benchmark runs. */
export const BENCHMARK_DURATION_MS = 1_000;
/** Hashes per slice: small enough to stop close to the duration, big enough to dwarf the call cost. */
const SLICE_ITERATIONS = 20_000;

/** The kind of the CPU figure: sha256 hashes per second on one core. */
export const CPU_BENCHMARK_KIND = 'hash-chain-sha256';

/** What a node registers as its benchmark: the figure, what it measures (its kind), when, and the tool that measured it. */
export interface BenchmarkFigure {
  /** `hash-chain-sha256` (hashes per second), `gpu-matmul-tflops-bf16` (dense bf16 TFLOPS), ...: the engine compares figures of one kind only */
  kind: string;
  score: number;
  measuredAt: string;
  tool?: string;
}

/** Runs the built-in hash chain for `durationMs` and reports hashes per second. */
export function measureHashRate(durationMs = BENCHMARK_DURATION_MS, now: () => number = () => performance.now()): BenchmarkFigure {
  const started = now();
  let hashes = 0;
  let slice = 0;
  while (now() - started < durationMs) {
    runHashChain(`benchmark-${slice}`, SLICE_ITERATIONS);
    hashes += SLICE_ITERATIONS;
    slice += 1;
  }
  const elapsedSec = Math.max(now() - started, 1) / 1000;
  return { kind: CPU_BENCHMARK_KIND, score: Math.round(hashes / elapsedSec), measuredAt: new Date().toISOString() };
}
