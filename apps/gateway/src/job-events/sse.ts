import { isFinalJobStatus, type JobUpdate } from '@starminer/events';
import type { StreamSlot } from './stream-hub';

/**
 * Server-Sent Events as the job event stream writes them (text/event-stream, the WHATWG format):
 * one message per update, `id` its log seq (what an EventSource sends back as Last-Event-ID),
 * `event` its type, `data` the JobUpdate as one line of JSON (JSON.stringify escapes every line break).
 */
export const sseMessage = (u: JobUpdate): string => `id: ${u.seq}\nevent: ${u.type}\ndata: ${JSON.stringify(u)}\n\n`;
/** A comment line: ignored by clients, it keeps proxies from closing an idle stream. */
export const sseComment = (text: string): string => `: ${text}\n\n`;
/** How long an EventSource waits before reconnecting after a drop. */
export const sseRetry = (ms: number): string => `retry: ${ms}\n\n`;

/** Where the messages go: the HTTP response, as the pump needs it. */
export interface SseSink {
  /** false when the socket's buffer is full: wait for drain before writing more */
  write(chunk: string): boolean;
  /** true once the buffer drained, false after `timeoutMs` or when the connection closed */
  drained(timeoutMs: number): Promise<boolean>;
}

export interface PumpOptions {
  readonly slot: StreamSlot;
  readonly sink: SseSink;
  /** the job's updates after a seq, oldest first, at most `limit` */
  readonly read: (afterSeq: bigint, limit: number) => Promise<JobUpdate[]>;
  /** the seq of the last update the client has (0: none) */
  readonly after: bigint;
  readonly pageSize: number;
  /** a read at least this often, even when nothing woke the stream */
  readonly pollMs: number;
  readonly drainTimeoutMs: number;
}

/** Why a stream stopped: its job ended, its slot closed (client gone, age, shutdown), or the client did not read. */
export type PumpEnd = 'final' | 'closed' | 'slow';

/**
 * Sends the job's updates after `after`, page by page, then waits to be woken (or polls) and sends
 * what came since, until an update with a final status has been sent or the slot closes. Each
 * update is sent once and in seq order: the position moves only past what was written.
 */
export async function pumpJobUpdates(o: PumpOptions): Promise<PumpEnd> {
  let position = o.after;
  while (!o.slot.closed) {
    o.slot.takeWake();
    const page = await o.read(position, o.pageSize);
    for (const u of page) {
      if (o.slot.closed) return 'closed';
      if (!o.sink.write(sseMessage(u)) && !(await o.sink.drained(o.drainTimeoutMs))) return o.slot.closed ? 'closed' : 'slow';
      position = BigInt(u.seq);
      if (isFinalJobStatus(u.status)) return 'final';
    }
    if (page.length < o.pageSize) await o.slot.wait(o.pollMs);
  }
  return 'closed';
}
