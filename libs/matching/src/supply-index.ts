import { BPS, type EngineConfig } from './config';
import { invariant } from './errors';
import { FragmentationTable } from './fragmentation';
import { marketKey } from './market-key';
import { priceWeiPerGpuHour } from './pricing';
import { nodeStaticScores, packFitTerm, reservedLiquidityTerm, VARIANT_COUNT } from './scoring';
import { initialSurgeState, type SurgeState } from './surge';
import { TIERS, type NodeSpec } from './types';

/**
 * The supply index. Nodes are bucketed by market (GPU class × region), then inside a market by
 * group = (TEE, staked pool member, free GPUs). Each group keeps its nodes sorted by their node-only score
 * in each of the 6 score variants (latency preference × green), best first, ties by nodeId. A
 * routing decision visits markets, then groups with enough free GPUs, and walks a group only until
 * the first node passing the per-node filters: the rest of the group cannot score higher.
 * Reserving or freeing GPUs moves one node between two groups (binary search + splice).
 */
/** A job running on a node (reserved), with the end its runtime makes expected. */
export interface RunningJob {
  jobId: string;
  gpuCount: number;
  endsAtMs: number;
}

export class NodeState {
  reservedGpus = 0;
  /** jobs reserved on this node, with their expected ends: a held node's start is estimated from them */
  readonly running: RunningJob[] = [];
  /**
   * The job holding this node (see QueueConfig.holdAfterMs): its reservation starts at
   * holdStartMs, when enough running jobs are expected to have ended. Others may use the node if
   * they are expected to end by then, or within holdSpareGpus (GPUs free then that the holder
   * does not need).
   */
  heldBy: string | null = null;
  holdStartMs = Infinity;
  holdSpareGpus = 0;
  group: Group | null = null;
  market: Market;
  staticScores: Float64Array;
  constructor(
    public spec: NodeSpec,
    market: Market,
    config: EngineConfig,
  ) {
    this.market = market;
    this.staticScores = nodeStaticScores(spec, config);
  }
  get freeGpus(): number {
    return Math.max(0, this.spec.gpuCount - this.reservedGpus);
  }
  /**
   * Free GPUs any job may use, whatever its runtime: what the index keys this node by. A held
   * node offers only the GPUs its holder will not need; jobs that end before the holder starts
   * see all its free GPUs (the search offers held nodes to them apart, see indexedSearch).
   */
  get indexedFree(): number {
    if (!this.spec.online) return 0;
    return this.heldBy === null ? this.freeGpus : Math.max(0, Math.min(this.freeGpus, this.holdSpareGpus));
  }
  /** Free GPUs this node offers a job that would run until endsAtMs. */
  usableFree(endsAtMs: number): number {
    return this.heldBy !== null && endsAtMs <= this.holdStartMs ? this.freeGpus : this.indexedFree;
  }
  /** A staked pool's node: in a pool, with stake (a node that withdrew all of it keeps its poolId on the log). */
  get staked(): boolean {
    return this.spec.poolId !== undefined && this.spec.poolId !== '' && this.spec.stakeWei > 0n;
  }
}

export const comboOf = (tee: boolean, staked: boolean): number => (tee ? 2 : 0) + (staked ? 1 : 0);

/**
 * Lower edges of the latency bands a group is keyed by: a job's maxLatencyMs skips whole bands
 * above it and checks node by node only inside the band that straddles it. Measured at 100k
 * nodes: 6 bands (0/25/50/100/150/200 ms) made the median decision 6× slower (more groups to
 * visit per market) for a smaller tail on latency-capped jobs, 2 bands 2× slower; one band wins.
 */
export const LATENCY_BAND_FLOORS_MS = [0] as const;

export function latencyBandOf(latencyMs: number): number {
  let band = 0;
  while (band + 1 < LATENCY_BAND_FLOORS_MS.length && latencyMs >= LATENCY_BAND_FLOORS_MS[band + 1]!) band++;
  return band;
}

/**
 * One variant's ordering of a group: nodes best first (higher node-only score, then smaller
 * nodeId), with their scores in a parallel Float64Array so that binary searches and walks read
 * contiguous memory instead of chasing a pointer per node.
 */
class RankedList {
  nodes: NodeState[] = [];
  scores = new Float64Array(8);
  /** per-node VRAM and latency in the same order: the per-node filters read these, not node.spec */
  vramGiB = new Float64Array(8);
  latencyMs = new Float64Array(8);

  get length(): number {
    return this.nodes.length;
  }

  /** first index whose entry is not before (score, nodeId) */
  private lowerBound(score: number, nodeId: string): number {
    const scores = this.scores;
    let lo = 0;
    let hi = this.nodes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const s = scores[mid]!;
      if (s > score || (s === score && this.nodes[mid]!.spec.nodeId < nodeId)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(node: NodeState, score: number): void {
    const n = this.nodes.length;
    const at = this.lowerBound(score, node.spec.nodeId);
    if (n + 1 > this.scores.length) {
      this.scores = grow(this.scores);
      this.vramGiB = grow(this.vramGiB);
      this.latencyMs = grow(this.latencyMs);
    }
    this.scores.copyWithin(at + 1, at, n);
    this.vramGiB.copyWithin(at + 1, at, n);
    this.latencyMs.copyWithin(at + 1, at, n);
    this.scores[at] = score;
    this.vramGiB[at] = node.spec.vramGiB;
    this.latencyMs[at] = node.spec.latencyMs;
    this.nodes.splice(at, 0, node);
  }

  remove(node: NodeState, score: number): void {
    const n = this.nodes.length;
    const at = this.lowerBound(score, node.spec.nodeId);
    invariant(this.nodes[at] === node, 'node missing from its group', { nodeId: node.spec.nodeId });
    this.scores.copyWithin(at, at + 1, n);
    this.vramGiB.copyWithin(at, at + 1, n);
    this.latencyMs.copyWithin(at, at + 1, n);
    this.nodes.splice(at, 1);
  }
}

function grow(a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const grown = new Float64Array(a.length * 2);
  grown.set(a);
  return grown;
}

export class Group {
  readonly lists: RankedList[] = Array.from({ length: VARIANT_COUNT }, () => new RankedList());
  /** best node-only score per variant (the head of each list), kept on the group: one memory hop for the bound */
  readonly heads = new Float64Array(VARIANT_COUNT).fill(-Infinity);
  constructor(
    readonly combo: number,
    readonly freeGpus: number,
    readonly latencyBand: number,
  ) {}
  get latencyFloorMs(): number {
    return LATENCY_BAND_FLOORS_MS[this.latencyBand]!;
  }
  /** smallest latency of the next band: every node here is below it */
  get latencyCeilingMs(): number {
    return this.latencyBand + 1 < LATENCY_BAND_FLOORS_MS.length ? LATENCY_BAND_FLOORS_MS[this.latencyBand + 1]! : Infinity;
  }
  get size(): number {
    return this.lists[0]!.length;
  }
  insert(node: NodeState): void {
    for (let v = 0; v < VARIANT_COUNT; v++) {
      const list = this.lists[v]!;
      list.insert(node, node.staticScores[v]!);
      this.heads[v] = list.scores[0]!;
    }
  }
  remove(node: NodeState): void {
    for (let v = 0; v < VARIANT_COUNT; v++) {
      const list = this.lists[v]!;
      list.remove(node, node.staticScores[v]!);
      this.heads[v] = list.length > 0 ? list.scores[0]! : -Infinity;
    }
  }
}

export { marketKey };

export class Market {
  readonly key: string;
  multiplierBps = BPS;
  smoothedUtilizationBps = 0;
  /** in surge or calm (surge.ts): decided at reprice ticks, or read from the log (SurgeStarted / SurgeEnded) */
  surgeState: SurgeState = initialSurgeState();
  /** GPUs of online nodes, and how many of them are reserved */
  totalGpus = 0;
  usedGpus = 0;
  /** GPUs of nodes held for large jobs (whole nodes, busy or not) */
  heldGpus = 0;
  /** registered nodes (online or not) by GPU count, and online nodes by GPU count: for waiting reasons */
  readonly registeredByGpuCount: number[];
  readonly onlineByGpuCount: number[];
  /** registered nodes by per-GPU VRAM and by latency, and TEE-capable count: market-level screening */
  private readonly vramCounts = new Map<number, number>();
  private readonly latencyCounts = new Map<number, number>();
  private teeCount = 0;
  private statsCache: { maxVramGiB: number; minLatencyMs: number } | null = null;
  /** groups[combo × bands + latency band][freeGpus] */
  readonly groups: (Group | undefined)[][];
  /** price of one GPU-hour per tier at the current multiplier (index = TIERS order) */
  perGpuHourWei: bigint[] = [];
  /** the same as floats, for fast screening (exact bigint is used at the budget boundary and in quotes) */
  perGpuHourWeiApprox: number[] = [];
  /** every node registered in this market, by nodeId (for choosing holds, which may be on busy nodes) */
  readonly members: NodeState[] = [];
  /** non-empty groups, in canonical order (combo, latency band, free GPUs) */
  readonly activeGroups: Group[] = [];
  /**
   * Cached upper bounds of the node-only score: bestStatic[v][g] = best nodeStatic in variant v
   * among indexed nodes with at least g free GPUs (-Infinity if none). Rebuilt lazily after any
   * change to this market's index, so a routing decision bounds an untouched market in O(1).
   */
  private bestStatic: (Float64Array | null)[] = new Array<Float64Array | null>(VARIANT_COUNT).fill(null);
  /**
   * Cached bound of the node-dependent part of a total, per (variant, TEE needed, surge, GPUs):
   * the best packFit + reservedLiquidity + nodeStatic over the groups a job could use. An entry
   * is valid while its stamp equals `indexVersion`, which every change to the index bumps.
   */
  private readonly groupBound: Float64Array;
  private readonly groupBoundStamp: Uint32Array;
  private indexVersion = 1;
  private readonly slots: number;
  readonly basePriceWeiPerGpuHour: bigint | undefined;
  /** packFit's table for this market (rebuilt by the engine with each reprice tick) */
  readonly fragmentation: FragmentationTable;

  constructor(
    readonly gpuClass: string,
    readonly region: string,
    private readonly config: EngineConfig,
  ) {
    this.fragmentation = new FragmentationTable(config.maxGpusPerNode, config.fragmentation);
    this.key = marketKey(gpuClass, region);
    const slots = config.maxGpusPerNode + 1;
    this.slots = slots;
    this.groupBound = new Float64Array(VARIANT_COUNT * 4 * slots);
    this.groupBoundStamp = new Uint32Array(VARIANT_COUNT * 4 * slots);
    this.registeredByGpuCount = new Array<number>(slots).fill(0);
    this.onlineByGpuCount = new Array<number>(slots).fill(0);
    this.groups = Array.from({ length: 4 * LATENCY_BAND_FLOORS_MS.length }, () => new Array<Group | undefined>(slots).fill(undefined));
    this.basePriceWeiPerGpuHour = config.pricing.basePricesWeiPerGpuHour[gpuClass];
    this.setMultiplier(BPS);
  }

  setMultiplier(multiplierBps: number): void {
    this.multiplierBps = multiplierBps;
    const base = this.basePriceWeiPerGpuHour ?? 0n;
    this.perGpuHourWei = TIERS.map((t) => priceWeiPerGpuHour(base, this.config.pricing.tierMultiplierBps[t], multiplierBps));
    this.perGpuHourWeiApprox = this.perGpuHourWei.map(Number);
  }

  /** In surge: staked pools' nodes are preferred (reservedLiquidityTerm). Bounds are cached per surge flag, so a change needs no invalidation. */
  get surge(): boolean {
    return this.surgeState.status === 'surging';
  }

  utilizationBps(): number {
    return this.totalGpus === 0 ? 0 : Math.round((this.usedGpus * BPS) / this.totalGpus);
  }

  /** Best nodeStatic in variant v among indexed nodes with at least `gpuCount` free GPUs. */
  bestStaticFor(v: number, gpuCount: number): number {
    let table = this.bestStatic[v];
    if (!table) {
      table = new Float64Array(this.registeredByGpuCount.length + 1).fill(-Infinity);
      for (const group of this.activeGroups) {
        const head = group.heads[v]!;
        if (head > table[group.freeGpus]!) table[group.freeGpus] = head;
      }
      for (let g = table.length - 2; g >= 0; g--) if (table[g + 1]! > table[g]!) table[g] = table[g + 1]!;
      this.bestStatic[v] = table;
    }
    return gpuCount < table.length ? table[gpuCount]! : -Infinity;
  }

  addMember(node: NodeState): void {
    this.members.splice(this.memberIndex(node.spec.nodeId), 0, node);
  }

  removeMember(node: NodeState): void {
    const at = this.memberIndex(node.spec.nodeId);
    invariant(this.members[at] === node, 'node missing from its market', { nodeId: node.spec.nodeId });
    this.members.splice(at, 1);
  }

  private memberIndex(nodeId: string): number {
    let lo = 0;
    let hi = this.members.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.members[mid]!.spec.nodeId < nodeId) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Upper bound of packFit + reservedLiquidity + nodeStatic (variant v) over every indexed node a
   * job needing `gpuCount` GPUs (and TEE or not) could take here. Summed in another order than
   * a total, so the caller adds a small slack before comparing it with totals.
   */
  nodePartBound(v: number, gpuCount: number, needTee: boolean): number {
    if (gpuCount >= this.slots) return -Infinity;
    const surge = this.surge;
    const at = ((v * 2 + (needTee ? 1 : 0)) * 2 + (surge ? 1 : 0)) * this.slots + gpuCount;
    if (this.groupBoundStamp[at] === this.indexVersion) return this.groupBound[at]!;
    let best = -Infinity;
    for (const group of this.activeGroups) {
      if (group.freeGpus < gpuCount || (needTee && group.combo < 2)) continue;
      const packFit = packFitTerm(this.config, this.fragmentation, gpuCount, group.freeGpus, !needTee && group.combo >= 2);
      const x = packFit + reservedLiquidityTerm(this.config, surge, (group.combo & 1) === 1) + group.heads[v]!;
      if (x > best) best = x;
    }
    this.groupBound[at] = best;
    this.groupBoundStamp[at] = this.indexVersion;
    return best;
  }

  /** Forget cached bounds: the index or the fragmentation table changed. */
  invalidateBounds(): void {
    this.indexVersion = (this.indexVersion + 1) >>> 0;
    if (this.indexVersion === 0) {
      this.groupBoundStamp.fill(0); // wrapped after 2^32 changes: forget every entry
      this.indexVersion = 1;
    }
  }

  /** Add (+1) or remove (−1) a node's contribution to counters and groups. */
  account(node: NodeState, sign: 1 | -1): void {
    const spec = node.spec;
    this.bestStatic.fill(null);
    this.invalidateBounds();
    this.registeredByGpuCount[spec.gpuCount]! += sign;
    bump(this.vramCounts, spec.vramGiB, sign);
    bump(this.latencyCounts, spec.latencyMs, sign);
    if (spec.tee) this.teeCount += sign;
    this.statsCache = null;
    if (spec.online) {
      this.onlineByGpuCount[spec.gpuCount]! += sign;
      this.totalGpus += sign * spec.gpuCount;
      this.usedGpus += sign * Math.min(node.reservedGpus, spec.gpuCount);
    }
    if (sign === -1) {
      const group = node.group;
      if (group) {
        group.remove(node);
        node.group = null;
        if (group.size === 0) {
          this.activeGroups.splice(this.activeGroups.indexOf(group), 1);
        }
      }
      return;
    }
    invariant(node.group === null, 'node indexed twice', { nodeId: spec.nodeId });
    const free = node.indexedFree;
    if (free === 0) return;
    const combo = comboOf(spec.tee, node.staked);
    const band = latencyBandOf(spec.latencyMs);
    const slot = combo * LATENCY_BAND_FLOORS_MS.length + band;
    let group = this.groups[slot]![free];
    if (!group) {
      group = new Group(combo, free, band);
      this.groups[slot]![free] = group;
    }
    if (group.size === 0) {
      // canonical order (combo, latency band, free GPUs), whatever the history: a restored engine
      // visits groups in the same order and its receipts count the same candidates
      let at = 0;
      while (at < this.activeGroups.length && groupBefore(this.activeGroups[at]!, group)) at++;
      this.activeGroups.splice(at, 0, group);
    }
    group.insert(node);
    node.group = group;
  }

  /**
   * Could some registered node of this market (online or not, busy or not) ever serve these
   * per-node requirements? Used to screen markets, so that the reference price of priceFit is
   * the cheapest market that can really serve the job.
   */
  couldServe(gpuCount: number, minVramGiB: number, tee: boolean, maxLatencyMs: number | undefined): boolean {
    if (!this.statsCache) {
      let maxVramGiB = -Infinity;
      for (const v of this.vramCounts.keys()) if (v > maxVramGiB) maxVramGiB = v;
      let minLatencyMs = Infinity;
      for (const l of this.latencyCounts.keys()) if (l < minLatencyMs) minLatencyMs = l;
      this.statsCache = { maxVramGiB, minLatencyMs };
    }
    return (
      this.hasRegisteredWithAtLeast(gpuCount, false) &&
      this.statsCache.maxVramGiB >= minVramGiB &&
      (!tee || this.teeCount > 0) &&
      (maxLatencyMs === undefined || this.statsCache.minLatencyMs <= maxLatencyMs)
    );
  }

  hasRegisteredWithAtLeast(gpuCount: number, onlineOnly: boolean): boolean {
    const counts = onlineOnly ? this.onlineByGpuCount : this.registeredByGpuCount;
    for (let c = Math.max(gpuCount, 1); c < counts.length; c++) if (counts[c]! > 0) return true;
    return false;
  }
}

const groupBefore = (a: Group, b: Group): boolean =>
  a.combo !== b.combo ? a.combo < b.combo : a.latencyBand !== b.latencyBand ? a.latencyBand < b.latencyBand : a.freeGpus < b.freeGpus;

function bump(counts: Map<number, number>, key: number, sign: 1 | -1): void {
  const next = (counts.get(key) ?? 0) + sign;
  if (next === 0) counts.delete(key);
  else counts.set(key, next);
}
