import type { FragmentationConfig } from './config';
import { invariant } from './errors';
import { marketKey } from './market-key';

const MARKET_KEY_SEPARATOR = marketKey('', '');

/** Serialized DemandMix (snapshots): decayed counts by GPU count 1..maxGpus. */
export interface SerializedMix {
  total: number;
  any: number[];
  /** by market, named by GPU class and region (market keys hold a NUL, which JSONB refuses) */
  byMarket: { gpuClass: string; region: string; counts: number[] }[];
}

/**
 * The fleet's expected job mix: decayed counts of submitted jobs by GPU count, those that accept
 * every market (no model or region named) apart from those that accept some markets only. From
 * it, each market knows how likely a job drawn from the demand is to be able to use k of its GPUs.
 */
export class DemandMix {
  readonly width: number;
  total = 0;
  readonly any: Float64Array;
  readonly byMarket = new Map<string, Float64Array>();

  constructor(readonly maxGpus: number) {
    this.width = maxGpus + 1;
    this.any = new Float64Array(this.width);
  }

  private sizeOf(gpuCount: number): number {
    return Math.min(this.maxGpus, Math.max(1, Math.floor(gpuCount)));
  }

  /** A job asking `gpuCount` GPUs on one node (0 = engine-chosen: counted as 1) that accepts `markets` ('all': any market). */
  observe(gpuCount: number, markets: 'all' | Iterable<string>): void {
    const s = this.sizeOf(gpuCount);
    this.total += 1;
    if (markets === 'all') {
      this.any[s]! += 1;
      return;
    }
    for (const key of markets) {
      let counts = this.byMarket.get(key);
      if (!counts) this.byMarket.set(key, (counts = new Float64Array(this.width)));
      counts[s]! += 1;
    }
  }

  decay(factor: number): void {
    this.total *= factor;
    for (let s = 1; s < this.width; s++) this.any[s]! *= factor;
    for (const counts of this.byMarket.values()) for (let s = 1; s < this.width; s++) counts[s]! *= factor;
  }

  serialize(): SerializedMix {
    return {
      total: this.total,
      any: Array.from(this.any.subarray(1)),
      byMarket: [...this.byMarket]
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([key, c]) => {
          const [gpuClass = '', region = ''] = key.split(MARKET_KEY_SEPARATOR);
          return { gpuClass, region, counts: Array.from(c.subarray(1)) };
        }),
    };
  }

  load(mix: SerializedMix): void {
    const fill = (into: Float64Array, from: readonly number[]) => {
      into.fill(0);
      from.slice(0, this.maxGpus).forEach((c, i) => (into[i + 1] = Number.isFinite(c) && c > 0 ? c : 0));
    };
    this.total = Number.isFinite(mix.total) && mix.total > 0 ? mix.total : 0;
    fill(this.any, mix.any);
    this.byMarket.clear();
    for (const { gpuClass, region, counts } of mix.byMarket) {
      const into = new Float64Array(this.width);
      fill(into, counts);
      this.byMarket.set(marketKey(gpuClass, region), into);
    }
  }

  copy(): DemandMix {
    const c = new DemandMix(this.maxGpus);
    c.load(this.serialize());
    return c;
  }
}

/**
 * What the demand makes of one market's free GPUs (after Weng et al., "Beware of Fragmentation",
 * USENIX ATC '23, for whole-GPU jobs): a node with f free GPUs leaves F(f) = f × P(a job drawn
 * from the demand cannot use them: it does not accept this market, or asks more than f) GPUs
 * unusable. Placing g GPUs changes that by Δ = F(f − g) − F(f); the placement that lowers it most
 * per GPU placed is the best (fragmentation gradient descent). So a job goes where few others
 * could go (leaving GPUs that many jobs accept free) and where it leaves no hole too small for
 * the sizes in demand. fit(g, f) is that gradient (times gain) squashed into (0, 1), blended (share) with
 * plain best fit g / f, which also orders nodes when the demand holds one size.
 *
 * fit depends on the market and the free count only, never on the node, so the indexed search
 * keeps bounding a whole group (its nodes share the free count) by one value: the full-scan
 * equivalence holds. Tables change only in rebuild (each reprice tick), never in between.
 */
export class FragmentationTable {
  private readonly table: Float64Array;
  private readonly width: number;

  constructor(
    maxGpus: number,
    private readonly config: FragmentationConfig,
  ) {
    invariant(config.share >= 0 && config.share <= 1, 'fragmentation share must be in 0..1');
    this.width = maxGpus + 1;
    this.table = new Float64Array(this.width * this.width);
    this.rebuild(null, '');
  }

  /** fit of placing g GPUs on a node with f ≥ g free, in (0, 1]; higher = less fragmentation left */
  fit(gpuCount: number, freeGpus: number): number {
    return this.table[gpuCount * this.width + freeGpus]!;
  }

  /** Rebuild from the mix as seen by market `key`; true when the table changed. */
  rebuild(mix: DemandMix | null, key: string): boolean {
    const w = this.width;
    // usable[s]: share of the demand that accepts this market and asks s GPUs
    const usable = new Float64Array(w);
    if (mix && mix.total > 0) {
      const own = mix.byMarket.get(key);
      for (let s = 1; s < w; s++) usable[s] = (mix.any[s]! + (own ? own[s]! : 0)) / mix.total;
    }
    const unusable = new Float64Array(w);
    let fits = 0;
    for (let f = 1; f < w; f++) {
      fits += usable[f]!;
      unusable[f] = f * Math.max(0, 1 - fits);
    }
    const share = this.config.share;
    let changed = false;
    for (let g = 1; g < w; g++)
      for (let f = g; f < w; f++) {
        const delta = unusable[f - g]! - unusable[f]!;
        const value = share / (1 + Math.exp((this.config.gain * delta) / g)) + (1 - share) * (g / f);
        const at = g * w + f;
        if (this.table[at] !== value) {
          this.table[at] = value;
          changed = true;
        }
      }
    return changed;
  }
}
