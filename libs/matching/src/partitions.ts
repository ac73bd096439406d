/**
 * Matching partitioned by market (GPU class × region): the pure part of running matching as
 * several replicas, one active writer per partition. No I/O, no clock, no randomness.
 *
 * The two invariants replicas rely on, asserted where state changes:
 * - a node belongs to exactly one partition, the one of its market: only that partition's engine
 *   reserves its GPUs, so it can never be booked over capacity;
 * - a queued job is in exactly one partition at any time (a spill cancels it in one partition
 *   before it submits it to the next), so it can never be matched twice.
 *
 * Where a job goes (its home, then its spills):
 * - its eligible markets are those its models × regions name (for "any", the markets with a
 *   registered node); each weighs the GPUs registered in it, and a partition the sum of its
 *   eligible markets' weights;
 * - home: a weighted pick by a hash of the job id (FNV-1a of the id modulo the total weight, over
 *   the eligible partitions by weight). A job naming one market goes to that market's partition.
 *   Why this rule: it needs the job and the registered supply only, never a partition's free GPUs,
 *   so every replica (or the intake) computes the same home without reading another partition's
 *   state, which would be stale between replicas; registered GPUs move only when nodes register,
 *   not with every match, so a burst of jobs does not herd into the partition that looked freest;
 *   and weighting by capacity keeps a partition holding one small market from receiving as many
 *   "any model" jobs as one holding six large ones. The arithmetic is integer only;
 * - spill: a job still queued `spillAfterPasses` passes after it entered a partition moves to the
 *   next of its eligible partitions (heaviest first, ties by index), at most `hopsMax` partitions
 *   in all; then it waits where it is. A job holding a node (a reservation with backfilling) moves
 *   too and gives that hold up: another partition may run it now, and in its last partition it
 *   takes and keeps a hold as in one engine, so a large job is still never starved. Its
 *   submission time moves with it, so a spill costs it no place in the aging order.
 */
import type { EngineConfig } from './config';
import { MatchingEngine, type RoutingStrategy } from './engine';
import { invariant, MatchingError } from './errors';
import { marketKey } from './market-key';
import type { JobSpec, Match, NodeSpec, PriceChange } from './types';

export const PARTITION_LIMITS = {
  /** one replica per partition: more than this is a deployment mistake, not a map */
  partitionsMax: 1_024,
  /** matchPending passes a job waits in a partition before it spills to its next eligible one */
  spillAfterPasses: 2,
  /** partitions a job visits at most (home + spills); then it waits in the last one */
  hopsMax: 4,
  /** demand shapes (models × regions) whose eligible partitions are cached; cleared when full */
  shapeCacheMax: 4_096,
} as const;

/** A node re-registered in a market of another partition while jobs still run on it. */
export class PartitionMoveError extends MatchingError {
  override readonly name = 'PartitionMoveError';
  constructor(
    readonly nodeId: string,
    readonly fromPartition: number,
    readonly toPartition: number,
  ) {
    super('partition-move-busy', `node ${nodeId}: its new market is in partition ${toPartition}, but jobs still run on it in partition ${fromPartition}`, {
      nodeId,
      fromPartition,
      toPartition,
    });
  }
}

/** the spill check list drops its consumed head once it is this long and over half the list */
const SPILL_CHECK_COMPACT_MIN = 1_024;

const FNV_OFFSET_32 = 0x811c9dc5;
const FNV_PRIME_32 = 0x01000193;

/** FNV-1a, 32 bits, over the UTF-16 code units of `text` (its bytes for ASCII): the same in every process. */
export function fnv1a32(text: string): number {
  let h = FNV_OFFSET_32;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME_32) >>> 0;
  }
  return h >>> 0;
}

function checkPartitionCount(partitionCount: number): void {
  if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > PARTITION_LIMITS.partitionsMax)
    throw new MatchingError('invalid-partition-count', `partitionCount must be an integer in 1..${PARTITION_LIMITS.partitionsMax} (got ${partitionCount})`);
}

/** The partition of a market: FNV-1a of its market key (market-key.ts) modulo the partition count. */
export function partitionOf(market: string | { gpuClass: string; region: string }, partitionCount: number): number {
  checkPartitionCount(partitionCount);
  const key = typeof market === 'string' ? market : marketKey(market.gpuClass, market.region);
  return fnv1a32(key) % partitionCount;
}

interface QueuedJob {
  job: JobSpec;
  /** home first, then the spill targets */
  order: readonly number[];
  hop: number;
  /** the pass count when it entered its current partition */
  enteredPass: number;
}

interface EligiblePartitions {
  supplyVersion: number;
  /** heaviest first, ties by index; weight = registered GPUs of the shape's markets there */
  partitions: readonly number[];
  weights: readonly number[];
  totalWeight: number;
}

/** One engine per partition; nodes by market, jobs by home and spill (module comment). */
export class PartitionedMarket {
  private readonly engines: MatchingEngine[];
  private readonly nodePartition = new Map<string, number>();
  /** GPUs registered per market (online or not: weights move when supply registers, not with each match) */
  private readonly marketGpus = new Map<string, number>();
  /** gpuClass → region → market key, of markets with a registered node */
  private readonly supply = new Map<string, Map<string, string>>();
  private supplyVersion = 0;
  private readonly shapes = new Map<string, EligiblePartitions>();
  private readonly queued = new Map<string, QueuedJob>();
  /** jobId → partition, for jobs matched and not yet released */
  private readonly placed = new Map<string, number>();
  /** (jobId, enteredPass) in pass order: the jobs that may have to spill, oldest first; stale entries skipped */
  private spillCheck: { jobId: string; enteredPass: number }[] = [];
  private spillHead = 0;
  private passes = 0;
  private spillCount = 0;

  constructor(
    readonly config: EngineConfig,
    readonly partitionCount: number,
    options: { strategy?: RoutingStrategy } = {},
  ) {
    checkPartitionCount(partitionCount);
    this.engines = Array.from({ length: partitionCount }, () => new MatchingEngine(config, options));
  }

  /** Partition p's engine, read-only for audits, tests and benchmarks: change it through this class. */
  engine(partition: number): MatchingEngine {
    const e = this.engines[partition];
    invariant(e !== undefined, 'no such partition', { partition });
    return e;
  }

  partitionOfNode(nodeId: string): number | undefined {
    return this.nodePartition.get(nodeId);
  }

  /** Where the job is queued now; undefined when it is not queued (matched, cancelled or unknown). */
  partitionOfJob(jobId: string): number | undefined {
    const q = this.queued.get(jobId);
    return q ? q.order[q.hop] : undefined;
  }

  /** Where the job runs (matched and not released). */
  partitionOfMatch(jobId: string): number | undefined {
    return this.placed.get(jobId);
  }

  counts(): { passes: number; spills: number; queued: number; placed: number; nodes: number } {
    return { passes: this.passes, spills: this.spillCount, queued: this.queued.size, placed: this.placed.size, nodes: this.nodePartition.size };
  }

  // ---------------------------------------------------------------- supply

  upsertNode(node: NodeSpec, atMs: number): void {
    const key = marketKey(node.gpuModel, node.region);
    const to = partitionOf(key, this.partitionCount);
    const from = this.nodePartition.get(node.nodeId);
    if (from === undefined) {
      this.engines[to]!.upsertNode(node, atMs); // validates first: a refused node changes nothing here
      this.nodePartition.set(node.nodeId, to);
      this.addSupply(key, node.gpuModel, node.region, node.gpuCount);
      return;
    }
    const { freeGpus, reservedGpus, ...before } = this.engines[from]!.getNode(node.nodeId)!;
    invariant(freeGpus >= 0, 'a node with negative free GPUs', { nodeId: node.nodeId, partition: from });
    if (from !== to) {
      if (reservedGpus > 0) throw new PartitionMoveError(node.nodeId, from, to);
      this.engines[to]!.upsertNode(node, atMs);
      // the old partition keeps a tombstone (offline, no GPUs): engines never forget a node, and it must offer nothing there
      this.engines[from]!.upsertNode({ ...before, gpuCount: 0, online: false }, atMs);
      this.nodePartition.set(node.nodeId, to);
    } else this.engines[to]!.upsertNode(node, atMs);
    // a reputation or stake update leaves the weights (and the cached eligible partitions) as they are
    if (before.gpuModel === node.gpuModel && before.region === node.region && before.gpuCount === node.gpuCount) return;
    this.addSupply(marketKey(before.gpuModel, before.region), before.gpuModel, before.region, -before.gpuCount);
    this.addSupply(key, node.gpuModel, node.region, node.gpuCount);
  }

  setNodeOnline(nodeId: string, online: boolean, atMs: number): void {
    const p = this.nodePartition.get(nodeId);
    if (p !== undefined) this.engines[p]!.setNodeOnline(nodeId, online, atMs);
  }

  private addSupply(key: string, gpuClass: string, region: string, gpus: number): void {
    this.marketGpus.set(key, (this.marketGpus.get(key) ?? 0) + gpus);
    let regions = this.supply.get(gpuClass);
    if (!regions) this.supply.set(gpuClass, (regions = new Map()));
    regions.set(region, key);
    this.supplyVersion++;
  }

  // ---------------------------------------------------------------- demand

  /** Queue the job in its home partition and return it; a redelivered job id changes nothing. */
  submitJob(job: JobSpec): number {
    const known = this.queued.get(job.jobId);
    if (known) return known.order[known.hop]!;
    const running = this.placed.get(job.jobId);
    if (running !== undefined) return running;
    const order = this.orderFor(job);
    const home = order[0]!;
    this.engines[home]!.submitJob(job); // validates first: a refused job is recorded nowhere
    this.queued.set(job.jobId, { job, order, hop: 0, enteredPass: this.passes });
    if (order.length > 1) this.spillCheck.push({ jobId: job.jobId, enteredPass: this.passes });
    return home;
  }

  cancelJob(jobId: string): boolean {
    const q = this.queued.get(jobId);
    if (!q) return false;
    this.queued.delete(jobId);
    const cancelled = this.engines[q.order[q.hop]!]!.cancelJob(jobId);
    invariant(cancelled, 'a job to cancel was not queued where recorded', { jobId, partition: q.order[q.hop] });
    return true;
  }

  release(jobId: string, atMs: number): void {
    const p = this.placed.get(jobId);
    if (p === undefined) return;
    this.placed.delete(jobId);
    this.engines[p]!.release(jobId, atMs);
  }

  /** The partitions a job may visit: its home, then where it spills (module comment). */
  orderFor(job: JobSpec): number[] {
    const eligible = this.eligibleFor(job);
    const h = fnv1a32(job.jobId);
    if (eligible.partitions.length === 0) return [h % this.partitionCount];
    let home = 0;
    if (eligible.totalWeight > 0) {
      let x = h % eligible.totalWeight;
      while (x >= eligible.weights[home]!) x -= eligible.weights[home++]!;
    } else home = h % eligible.partitions.length; // no registered GPUs in any of its markets yet: uniform
    const order = [eligible.partitions[home]!];
    for (let i = 0; i < eligible.partitions.length && order.length < PARTITION_LIMITS.hopsMax; i++) {
      // spill only where some eligible GPU is registered (a partition of weight 0 cannot run it either)
      if (i !== home && (eligible.weights[i]! > 0 || eligible.totalWeight === 0)) order.push(eligible.partitions[i]!);
    }
    return order;
  }

  private eligibleFor(job: JobSpec): EligiblePartitions {
    const r = job.requirements;
    const shape = `${r.gpuModels.join(',')}|${r.regions.join(',')}`;
    const cached = this.shapes.get(shape);
    if (cached && cached.supplyVersion === this.supplyVersion) return cached;
    const weightOf = new Map<number, number>();
    const seen = new Set<string>();
    const add = (key: string) => {
      if (seen.has(key)) return; // a model or region named twice counts once
      seen.add(key);
      const p = partitionOf(key, this.partitionCount);
      weightOf.set(p, (weightOf.get(p) ?? 0) + (this.marketGpus.get(key) ?? 0));
    };
    const classes = r.gpuModels.length ? r.gpuModels : [...this.supply.keys()];
    for (const gpuClass of classes) {
      if (r.regions.length) for (const region of r.regions) add(marketKey(gpuClass, region));
      else for (const key of this.supply.get(gpuClass)?.values() ?? []) add(key);
    }
    const partitions = [...weightOf.keys()].sort((a, b) => weightOf.get(b)! - weightOf.get(a)! || a - b);
    const weights = partitions.map((p) => weightOf.get(p)!);
    const entry: EligiblePartitions = { supplyVersion: this.supplyVersion, partitions, weights, totalWeight: weights.reduce((s, w) => s + w, 0) };
    if (this.shapes.size >= PARTITION_LIMITS.shapeCacheMax) this.shapes.clear();
    this.shapes.set(shape, entry);
    return entry;
  }

  // ---------------------------------------------------------------- matching

  /** One pass: every partition matches (at most maxMatchesPerPartition each), then due jobs spill. */
  matchPending(atMs: number, maxMatchesPerPartition: number): Match[] {
    const matches: Match[] = [];
    for (let p = 0; p < this.partitionCount; p++) matches.push(...this.matchPartition(p, atMs, maxMatchesPerPartition));
    this.endPass();
    return matches;
  }

  /** Partition p's share of a pass (what its replica runs); call endPass once every partition has had its share. */
  matchPartition(partition: number, atMs: number, maxMatches: number): Match[] {
    const matches = this.engine(partition).matchPending(atMs, maxMatches);
    for (const m of matches) {
      const q = this.queued.get(m.jobId);
      invariant(q !== undefined && q.order[q.hop] === partition, 'a job matched in a partition it was not queued in', { jobId: m.jobId, partition });
      invariant(!this.placed.has(m.jobId), 'a job matched twice', { jobId: m.jobId, partition });
      this.queued.delete(m.jobId);
      this.placed.set(m.jobId, partition);
    }
    return matches;
  }

  /** Close a pass: move every job due to spill (module comment); returns how many moved. */
  endPass(): number {
    this.passes++;
    let moved = 0;
    while (this.spillHead < this.spillCheck.length) {
      const due = this.spillCheck[this.spillHead]!;
      if (this.passes - due.enteredPass < PARTITION_LIMITS.spillAfterPasses) break;
      this.spillHead++;
      const q = this.queued.get(due.jobId);
      if (!q || q.enteredPass !== due.enteredPass || q.hop + 1 >= q.order.length) continue; // matched, cancelled, moved, or last hop
      const from = q.order[q.hop]!;
      const to = q.order[q.hop + 1]!;
      invariant(this.engines[from]!.cancelJob(due.jobId), 'a job to spill was not queued where recorded', { jobId: due.jobId, partition: from });
      this.engines[to]!.submitJob(q.job);
      invariant(this.engines[to]!.isQueued(due.jobId), 'a spilled job was not queued in its next partition', { jobId: due.jobId, partition: to });
      q.hop++;
      q.enteredPass = this.passes;
      // entered now, so not due in this loop: it stops at the first entry not yet due
      if (q.hop + 1 < q.order.length) this.spillCheck.push({ jobId: due.jobId, enteredPass: this.passes });
      moved++;
    }
    if (this.spillHead > SPILL_CHECK_COMPACT_MIN && this.spillHead * 2 > this.spillCheck.length) {
      this.spillCheck = this.spillCheck.slice(this.spillHead);
      this.spillHead = 0;
    }
    this.spillCount += moved;
    return moved;
  }

  /** Every partition's reprice tick (each prices its own markets). */
  repriceTick(atMs: number): PriceChange[] {
    return this.engines.flatMap((e) => e.repriceTick(atMs));
  }
}
