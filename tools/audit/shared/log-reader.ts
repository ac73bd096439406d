import { DeliverPolicy } from '@nats-io/jetstream';
import { connectTradeLog, type TradeLog } from '@starminer/trade-log';
import { AuditSourceError, type AuditConfig } from './config';

/** Messages one fetch asks for: the most the reader holds at once (bounded memory on a log of any length). */
export const LOG_FETCH_MESSAGES_MAX = 1_000;
/** How long one fetch waits for messages the stream has (a slow server; not a wait for new events). */
export const LOG_FETCH_EXPIRES_MS = 5_000;
/** Empty fetches in a row, below the range's end, before the reader says the log is not readable. */
export const LOG_EMPTY_FETCHES_MAX = 3;

/** One message of the log as stored: what the anchors hash (`data`) and what the catalogue decodes. */
export interface LogMessage {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  /** When the stream stored it (ms since the epoch). */
  readonly storedAtMs: number;
}

/**
 * The log, read-only: the auditor never creates or changes the stream (ensureStream is never
 * called), so a NATS user with read access to it is enough.
 */
export async function openLog(cfg: Pick<AuditConfig, 'natsUrl' | 'stream' | 'subjectPrefix'>): Promise<TradeLog> {
  try {
    const log = await connectTradeLog({ servers: cfg.natsUrl, name: 'starminer-audit', streamName: cfg.stream, subjectPrefix: cfg.subjectPrefix, aggregateCacheSize: 0, maxReconnectAttempts: 3 });
    await (await log.jsm()).streams.info(cfg.stream).catch((err: unknown) => {
      void log.close();
      throw new AuditSourceError(`stream ${cfg.stream} cannot be read at ${cfg.natsUrl}: ${(err as Error).message}`);
    });
    return log;
  } catch (err) {
    if (err instanceof AuditSourceError) throw err;
    throw new AuditSourceError(`NATS at ${cfg.natsUrl} cannot be reached: ${(err as Error).message}`);
  }
}

export interface ScanOptions {
  /** First sequence to read (default 1). */
  readonly fromSeq?: number;
  /** Last sequence to read (default: the stream's last when the scan starts). */
  readonly toSeq?: number;
  /** Subjects to read (default `<prefix>.>`, the whole market). */
  readonly filter?: string;
  /** Messages handed over per call of `onBatch` (1..LOG_FETCH_MESSAGES_MAX). */
  readonly batchMax?: number;
}

/**
 * Reads the log in order from `fromSeq` to `toSeq`, a bounded batch at a time, and hands each batch
 * to `onBatch` before fetching the next (so a slow consumer holds one batch in memory, never the
 * log). Returns the range read and how many messages it held.
 */
export async function scanLog(log: TradeLog, opts: ScanOptions, onBatch: (batch: readonly LogMessage[]) => Promise<void> | void): Promise<{ fromSeq: number; toSeq: number; messages: number }> {
  const fromSeq = Math.max(1, opts.fromSeq ?? 1);
  const toSeq = opts.toSeq ?? (await log.lastSeq());
  const batchMax = Math.min(LOG_FETCH_MESSAGES_MAX, Math.max(1, opts.batchMax ?? LOG_FETCH_MESSAGES_MAX));
  if (toSeq < fromSeq) return { fromSeq, toSeq, messages: 0 };
  const consumer = await log.js.consumers.get(log.streamName, {
    filter_subjects: opts.filter ?? `${log.subjectPrefix}.>`,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: fromSeq,
  });
  let messages = 0;
  let lastSeq = fromSeq - 1;
  let empty = 0;
  while (lastSeq < toSeq) {
    const batch: LogMessage[] = [];
    const fetched = await consumer.fetch({ max_messages: batchMax, expires: LOG_FETCH_EXPIRES_MS });
    let done = false;
    for await (const m of fetched) {
      lastSeq = m.seq;
      if (m.seq > toSeq) {
        done = true;
        break;
      }
      batch.push({ seq: m.seq, subject: m.subject, data: m.data, storedAtMs: Math.floor(m.info.timestampNanos / 1e6) });
      if (m.seq === toSeq) {
        done = true;
        break;
      }
    }
    if (batch.length > 0) {
      empty = 0;
      messages += batch.length;
      await onBatch(batch);
    } else if (!done) {
      empty += 1;
      // a filtered scan may end below toSeq (no later message matches); the whole log may not
      if (empty >= LOG_EMPTY_FETCHES_MAX) {
        if (opts.filter !== undefined) break;
        throw new AuditSourceError(`the log ended at #${lastSeq} while reading to #${toSeq}`);
      }
    }
    if (done) break;
  }
  await consumer.delete().catch(() => undefined);
  return { fromSeq, toSeq, messages };
}
