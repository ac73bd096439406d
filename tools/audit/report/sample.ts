/**
 * A bounded sample of (runtime, runtime/expected) pairs for the percentiles of one provider: exact
 * while it holds at most RUNTIME_SAMPLE_MAX jobs, a uniform reservoir sample (Vitter's algorithm R)
 * after that. The reservoir draws from a seeded generator, so the same log gives the same report.
 */

/** Jobs one provider's sample holds: 1,024 pairs (16 KiB) per provider; p95 of a uniform sample this size is within about 1.4 points of rank. */
export const RUNTIME_SAMPLE_MAX = 1_024;
/** The reservoir's seed: fixed, so a replay of the log writes the same percentiles. */
const RESERVOIR_SEED = 0x5eed_a0d1;

export class RuntimeSample {
  private readonly runtimeSec: number[] = [];
  private readonly ratio: number[] = [];
  private seenCount = 0;
  private state = RESERVOIR_SEED;

  constructor(private readonly capacity: number = RUNTIME_SAMPLE_MAX) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a sample holds at least one value (capacity ${capacity})`);
  }

  /** One job's runtime in seconds and its runtime divided by the expected runtime. */
  add(runtimeSec: number, ratio: number): void {
    const seen = this.seenCount;
    this.seenCount += 1;
    if (seen < this.capacity) {
      this.runtimeSec.push(runtimeSec);
      this.ratio.push(ratio);
      return;
    }
    const slot = Math.floor(this.random() * (seen + 1));
    if (slot < this.capacity) {
      this.runtimeSec[slot] = runtimeSec;
      this.ratio[slot] = ratio;
    }
  }

  /** Jobs offered to the sample. */
  get seen(): number {
    return this.seenCount;
  }

  /** True while the sample holds every job offered (the percentiles are exact). */
  get exact(): boolean {
    return this.seenCount <= this.capacity;
  }

  runtimePercentile(p: number): number | null {
    return percentile(this.runtimeSec, p);
  }

  ratioPercentile(p: number): number | null {
    return percentile(this.ratio, p);
  }

  /** mulberry32: a small, seeded, uniform generator (not for secrets). */
  private random(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
}

/** The nearest-rank percentile (`p` in (0, 1]): the smallest value with at least p of the values at or below it; null of none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (!(p > 0 && p <= 1)) throw new RangeError(`a percentile is in (0, 1], not ${p}`);
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(p * sorted.length) - 1]!;
}
