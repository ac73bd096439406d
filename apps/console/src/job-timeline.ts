/**
 * A job's timeline: its updates from history and from the live watch, merged without repeats
 * and in log order; and the status the page shows, which only moves forward.
 */
import type { JobUpdate } from '@starminer/sdk';

const ORDER = ['queued', 'matched', 'contracted', 'running', 'completed'];
const FINAL = ['settled', 'refunded', 'failed', 'cancelled'];

/** Where a status lies on a job's way (any final status last; an unknown one -1). */
export function statusRank(status: string): number {
  if (FINAL.includes(status)) return ORDER.length;
  return ORDER.indexOf(status);
}

/** The later of two statuses on the job's way (a final one is never left). */
export function laterStatus(current: string | undefined, next: string): string {
  if (current === undefined) return next;
  if (FINAL.includes(current)) return current;
  return statusRank(next) >= statusRank(current) ? next : current;
}

/** Updates merged by event id (a polled update, seq '0', after those of the stream), in log order. */
export function mergeUpdates(existing: readonly JobUpdate[], incoming: readonly JobUpdate[]): JobUpdate[] {
  const byId = new Map<string, JobUpdate>();
  for (const u of [...existing, ...incoming]) if (!byId.has(u.eventId)) byId.set(u.eventId, u);
  const all = [...byId.values()];
  const seqOf = (u: JobUpdate): bigint => (/^[0-9]+$/.test(u.seq) ? BigInt(u.seq) : 0n);
  return all
    .map((u, i) => ({ u, i }))
    .sort((a, b) => {
      const sa = seqOf(a.u);
      const sb = seqOf(b.u);
      if (sa !== 0n && sb !== 0n) return sa < sb ? -1 : sa > sb ? 1 : 0;
      const ta = Date.parse(a.u.at);
      const tb = Date.parse(b.u.at);
      return ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb) ? ta - tb : a.i - b.i;
    })
    .map((x) => x.u);
}

/** The last seq of the stream among the updates (to resume a watch after it), if any. */
export function lastStreamSeq(updates: readonly JobUpdate[]): string | undefined {
  let last: bigint | undefined;
  for (const u of updates) {
    if (!/^[1-9][0-9]*$/.test(u.seq)) continue;
    const s = BigInt(u.seq);
    if (last === undefined || s > last) last = s;
  }
  return last?.toString();
}
