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
export interface QueueEntry {
  job: JobSpec;
  key: number;
}

export function priorityKey(job: JobSpec, config: QueueConfig): number {
  return (
    URGENCIES.indexOf(job.urgency) * config.urgencyStepMs +
    LATENCY_PREFERENCES.indexOf(job.latencyPreference) * config.latencyStepMs -
    job.submittedAtMs
  );
}

/** a before b: higher key, then earlier submission, then smaller jobId. A total order. */
export const entryBefore = (a: QueueEntry, b: QueueEntry): boolean =>
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

/** One category queue: entries in fairness order (entryBefore). */
export class PriorityQueue extends BinaryHeap<QueueEntry> {
  constructor() {
    super(entryBefore);
  }
}
