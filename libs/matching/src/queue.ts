import type { QueueConfig } from './config';
import { LATENCY_PREFERENCES, URGENCIES, type JobSpec } from './types';

/**
 * Demand queue of one category: a binary max-heap on a time-invariant priority key.
 *
 * Effective priority at time t is urgencyRank·urgencyStep + latencyRank·latencyStep + (t − submittedAt):
 * it grows with waiting (aging). Since t is common to every job at one decision, ordering by
 * key = urgencyRank·urgencyStep + latencyRank·latencyStep − submittedAt is the same order, and it
 * never changes while a job waits. So a job submitted at s is served before every job submitted
 * after s + (maxRank − rank)·step: no starvation behind a stream of newer urgent jobs.
 */
export interface Keyed {
  job: JobSpec;
  key: number;
}

export interface QueueEntry extends Keyed {
  /** jobs of one signature share every input of the cheap "could it place now" check (signatureOf) */
  sig: string;
  /** the inputs of that check alone (capacityKeyOf): signatures that differ elsewhere share its answer */
  capKey: string;
  /** the heap it waits in now; null while it holds a node or is being routed (entries elsewhere are stale) */
  at: PriorityQueue | null;
  /** routed at least once: its waiting reason is known */
  routed: boolean;
}

/**
 * Runtime class of a job: 0 up to runtimeClassBaseSec, then one class per doubling, at most
 * runtimeClassesMax. A longer class waits runtimeStepMs more per class before it is served
 * (shorter jobs first, bounded: the largest class is still served within
 * runtimeClassesMax × runtimeStepMs of where its arrival alone would place it).
 */
export function runtimeClass(expectedRuntimeSec: number, config: QueueConfig): number {
  const r = expectedRuntimeSec / config.runtimeClassBaseSec;
  if (!(r > 1)) return 0;
  return Math.min(config.runtimeClassesMax, Math.ceil(Math.log2(r)));
}

/** Shortest runtime a job of a class can have (0 for class 0): the cheap check's short-job bound. */
export const runtimeClassFloorSec = (rc: number, config: QueueConfig): number => (rc <= 0 ? 0 : config.runtimeClassBaseSec * 2 ** (rc - 1));

export function priorityKey(job: JobSpec, config: QueueConfig): number {
  return (
    URGENCIES.indexOf(job.urgency) * config.urgencyStepMs +
    LATENCY_PREFERENCES.indexOf(job.latencyPreference) * config.latencyStepMs -
    runtimeClass(job.expectedRuntimeSec, config) * config.runtimeStepMs -
    job.submittedAtMs
  );
}

/**
 * Jobs with the same signature have the same priority terms but their submission time (so in one
 * heap they come out oldest first) and the same GPU count, models, regions and per-node
 * requirements (so the same market-level capacity check holds for all of them).
 */
export function signatureOf(job: JobSpec, config: QueueConfig): string {
  const r = job.requirements;
  return [
    job.urgency,
    job.latencyPreference,
    runtimeClass(job.expectedRuntimeSec, config),
    r.gpuCount,
    [...r.gpuModels].sort().join(','),
    [...r.regions].sort().join(','),
    r.tee ? 1 : 0,
    r.minVramGiB,
    r.maxLatencyMs ?? '',
    // a re-matched job's excluded nodes: the same per-node requirements only with the same exclusions
    r.excludedNodeIds ? [...r.excludedNodeIds].sort().join(',') : '',
    // a container workload's runtime: only nodes that registered it
    r.runtime ?? '',
    // a redundant job's copies: their exclusions grow as siblings are placed, so they queue on their own
    job.redundancyGroup ?? '',
  ].join('|');
}

/** What the cheap capacity check reads of a job: GPU count (at least 1), models, regions, runtime class. */
export function capacityKeyOf(job: JobSpec, config: QueueConfig): string {
  const r = job.requirements;
  const key = [Math.max(1, r.gpuCount), [...r.gpuModels].sort().join(','), [...r.regions].sort().join(','), runtimeClass(job.expectedRuntimeSec, config)].join('|');
  // a re-matched job may find no capacity where others do (its failed nodes excluded): a key of its own
  const excludedKey = r.excludedNodeIds?.length ? `${key}|x:${[...r.excludedNodeIds].sort().join(',')}` : key;
  // a job that needs a runtime (a container) may find no capacity where others do: a key of its own
  const own = r.runtime === undefined ? excludedKey : `${excludedKey}|r:${r.runtime}`;
  // a redundant job's copies exclude their siblings' nodes as they are placed: a key of their own
  return job.redundancyGroup === undefined ? own : `${own}|g:${job.redundancyGroup}`;
}

/** a before b: higher key, then earlier submission, then smaller jobId. A total order. */
export const entryBefore = (a: Keyed, b: Keyed): boolean =>
  a.key > b.key ||
  (a.key === b.key && (a.job.submittedAtMs < b.job.submittedAtMs || (a.job.submittedAtMs === b.job.submittedAtMs && a.job.jobId < b.job.jobId)));

/** A binary heap: `before(a, b)` true when a comes out first (a strict total order keeps it deterministic). */
export class BinaryHeap<T> {
  private readonly heap: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.heap.length;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  push(item: T): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < h.length && this.before(h[l]!, h[best]!)) best = l;
        if (r < h.length && this.before(h[r]!, h[best]!)) best = r;
        if (best === i) break;
        [h[i], h[best]] = [h[best]!, h[i]!];
        i = best;
      }
    }
    return top;
  }

  entries(): readonly T[] {
    return this.heap;
  }
}

/** One queue of entries in fairness order (entryBefore). */
export class PriorityQueue extends BinaryHeap<QueueEntry> {
  constructor() {
    super(entryBefore);
  }
}

/**
 * The waiting jobs of one category: those never routed (fresh), and the routed ones by signature,
 * so that a matching pass looks at one head per signature that cannot place now instead of at
 * every waiting job. Entries are removed lazily (QueueEntry.at says where an entry lives).
 */
export class CategoryDemand {
  fresh = new PriorityQueue();
  readonly bySig = new Map<string, PriorityQueue>();

  sigQueue(sig: string): PriorityQueue {
    let q = this.bySig.get(sig);
    if (!q) this.bySig.set(sig, (q = new PriorityQueue()));
    return q;
  }

  /** entries held, live or not */
  entryCount(): number {
    let n = this.fresh.size;
    for (const heap of this.bySig.values()) n += heap.size;
    return n;
  }

  /**
   * Rebuilds every heap with only the entries that still live there (once each): removed entries
   * are dropped lazily at a heap's head, so behind a head that waits long they would pile up.
   */
  compact(isLive: (entry: QueueEntry, heap: PriorityQueue) => boolean): void {
    const rebuild = (heap: PriorityQueue): PriorityQueue => {
      const kept = new PriorityQueue();
      const seen = new Set<QueueEntry>();
      for (const entry of heap.entries()) {
        if (seen.has(entry) || !isLive(entry, heap)) continue;
        seen.add(entry);
        entry.at = kept;
        kept.push(entry);
      }
      return kept;
    };
    this.fresh = rebuild(this.fresh);
    for (const [sig, heap] of this.bySig) {
      const kept = rebuild(heap);
      if (kept.size > 0) this.bySig.set(sig, kept);
      else this.bySig.delete(sig);
    }
  }
}
