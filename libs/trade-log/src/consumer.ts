import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type ConsumerConfig, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { backoffMs, batchesOf } from './batching';
import { jsonDecode, type Decode, type StoredEvent } from './codec';
import { ConsumerConfigError, EventDecodeError, TradeLogArgumentError } from './errors';
import {
  ACK_WAIT_MS,
  BATCH_LINGER_MS,
  BATCH_MAX_DEFAULT,
  BATCH_MAX_LIMIT,
  MAX_DELIVER_DEFAULT,
  NAK_DELAY_BASE_MS,
  NAK_DELAY_MAX_MS,
  PULL_EXPIRES_MS_DEFAULT,
} from './limits';
import type { TradeLog } from './trade-log';

export interface ConsumeOptions {
  /** The durable consumer's name: it survives restarts and remembers what was acked. */
  readonly durable: string;
  readonly filterSubjects: string[];
  /** Resolves when the batch is handled (then every message is acked); throws to retry. */
  readonly handler: (batch: StoredEvent[]) => Promise<void>;
  readonly batchMax?: number;
  /** How long one pull request waits on the server. */
  readonly expiresMs?: number;
  /** Deliveries of a message before it is termed. */
  readonly maxDeliver?: number;
  readonly decode?: Decode;
  /**
   * Where a durable created now starts: 'all' (default: the whole log, so nothing decided before
   * the consumer existed is missed) or 'new' (only what is appended from now on). Ignored when the
   * durable exists: it resumes after what it acked.
   */
  readonly startAt?: 'all' | 'new';
  /** Told about every termed message and failed batch (defaults to console.warn). */
  readonly onError?: (err: unknown, event?: { seq: number; subject: string }) => void;
}

export interface ConsumerHandle {
  readonly durable: string;
  /** Stops pulling, lets the batch in hand finish and be acked, and resolves. */
  stop(): Promise<void>;
  /** Settles when the consumer loop ends (rejects if it broke). */
  readonly done: Promise<void>;
}

const TERM_REASON_MAX_CHARS = 200;
const DURABLE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A durable pull consumer with bounded pulls (`max_messages`, `expires`) that hands batches to
 * `handler`. What happens to each message is chosen, not left to timeouts:
 * - ack: after the handler resolved for the batch holding it;
 * - term(reason): the body does not decode (the catalogue refuses it: it never will), the handler
 *   threw a non-retryable error (`retryable === false`, e.g. PoisonEventError), or the message has
 *   been delivered maxDeliver times;
 * - nak(delay): the handler threw anything else; the delay grows with the delivery count.
 * When a batch of several fails, its messages are handled again one by one, so one bad event
 * does not hold back the others. Handlers must be idempotent: delivery is at least once.
 */
export async function consume(log: TradeLog, opts: ConsumeOptions): Promise<ConsumerHandle> {
  if (!DURABLE_NAME.test(opts.durable)) throw new TradeLogArgumentError(`durable name '${opts.durable}' must be 1-64 of [A-Za-z0-9_-]`);
  const batchMax = opts.batchMax ?? BATCH_MAX_DEFAULT;
  if (!Number.isInteger(batchMax) || batchMax < 1 || batchMax > BATCH_MAX_LIMIT) throw new TradeLogArgumentError(`batchMax must be 1..${BATCH_MAX_LIMIT}`);
  const maxDeliver = opts.maxDeliver ?? MAX_DELIVER_DEFAULT;
  if (!Number.isInteger(maxDeliver) || maxDeliver < 1) throw new TradeLogArgumentError('maxDeliver must be a positive integer');
  const expiresMs = opts.expiresMs ?? PULL_EXPIRES_MS_DEFAULT;
  const decode = opts.decode ?? jsonDecode;
  const onError = opts.onError ?? ((err: unknown, e?: { seq: number; subject: string }) => console.warn(`[trade-log ${opts.durable}]${e ? ` ${e.subject}#${e.seq}` : ''}`, err));

  const filter = log.filterFor(opts.filterSubjects);
  const config: Partial<ConsumerConfig> = {
    durable_name: opts.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: opts.startAt === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    ack_wait: nanos(ACK_WAIT_MS),
    max_deliver: maxDeliver,
    ...(typeof filter === 'string' ? { filter_subject: filter } : { filter_subjects: filter }),
  };
  const jsm = await log.jsm();
  try {
    const existing = await jsm.consumers.info(log.streamName, opts.durable).catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return undefined;
      throw err;
    });
    if (!existing) {
      await jsm.consumers.add(log.streamName, config);
    } else if (
      existing.config.max_deliver !== maxDeliver ||
      existing.config.ack_wait !== config.ack_wait ||
      (existing.config.filter_subject ?? '') !== (config.filter_subject ?? '') ||
      JSON.stringify(existing.config.filter_subjects ?? []) !== JSON.stringify(config.filter_subjects ?? [])
    ) {
      await jsm.consumers.update(log.streamName, opts.durable, {
        max_deliver: maxDeliver,
        ack_wait: config.ack_wait,
        ...(typeof filter === 'string' ? { filter_subject: filter } : { filter_subjects: filter }),
      });
    }
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new ConsumerConfigError(`durable ${opts.durable} could not be created or updated: ${why}`, { cause });
  }
  const consumer = await log.js.consumers.get(log.streamName, opts.durable);
  const messages = await consumer.consume({ max_messages: batchMax, expires: expiresMs });

  // `+TERM <reason>` is understood from nats-server 2.10.4; an older server would read it as an
  // unknown ack and redeliver, so there the reason only goes to onError.
  const termWithReason = log.serverAtLeast(2, 10, 4);
  const term = (m: JsMsg, reason: string): void => (termWithReason ? m.term(reason.slice(0, TERM_REASON_MAX_CHARS)) : m.term());

  const settleFailure = (m: JsMsg, err: unknown): void => {
    const permanent = (err as { retryable?: unknown } | null)?.retryable === false;
    if (permanent || m.info.deliveryCount >= maxDeliver) {
      const why = permanent ? 'non-retryable' : `failed ${m.info.deliveryCount} deliveries`;
      term(m, `${why}: ${err instanceof Error ? err.message : String(err)}`);
      onError(err, { seq: m.seq, subject: m.subject });
    } else {
      m.nak(backoffMs(m.info.deliveryCount, NAK_DELAY_BASE_MS, NAK_DELAY_MAX_MS));
    }
  };

  const runHandler = async (items: { m: JsMsg; e: StoredEvent }[]): Promise<void> => {
    // A long handler keeps its messages from being redelivered under it.
    const keepAlive = setInterval(() => items.forEach(({ m }) => m.working()), ACK_WAIT_MS / 2);
    try {
      await opts.handler(items.map((x) => x.e));
    } finally {
      clearInterval(keepAlive);
    }
  };

  const processBatch = async (batch: JsMsg[]): Promise<void> => {
    const items: { m: JsMsg; e: StoredEvent }[] = [];
    for (const m of batch) {
      try {
        items.push({ m, e: { seq: m.seq, subject: m.subject, event: decode(m.data), redelivered: m.redelivered } });
      } catch (cause) {
        const err = new EventDecodeError(m.subject, m.seq, { cause });
        term(m, err.message);
        onError(err, { seq: m.seq, subject: m.subject });
      }
    }
    if (items.length === 0) return;
    try {
      await runHandler(items);
      for (const { m } of items) m.ack();
      return;
    } catch (err) {
      if (items.length === 1) {
        settleFailure(items[0].m, err);
        return;
      }
      onError(err);
    }
    for (const item of items) {
      try {
        await runHandler([item]);
        item.m.ack();
      } catch (err) {
        settleFailure(item.m, err);
      }
    }
  };

  let stopping = false;
  const done = (async () => {
    for await (const batch of batchesOf(messages, batchMax, BATCH_LINGER_MS)) {
      if (stopping) {
        // Delivered but not handled: hand them back at once, so another instance (or the next
        // start) gets them now rather than after ack_wait. The iterator ends at close()'s marker.
        for (const m of batch) m.nak();
        continue;
      }
      await processBatch(batch);
    }
  })();
  done.catch((err: unknown) => {
    if (!stopping) onError(err);
  });
  let stopped: Promise<void> | undefined;
  return {
    durable: opts.durable,
    done,
    stop: () => {
      stopped ??= (async () => {
        stopping = true;
        // The subscription ends at once; the loop finishes the batch in hand, naks what is still
        // buffered, and ends at close()'s marker.
        const closed = messages.close().catch(() => undefined);
        const ended = await done.then(
          () => true,
          () => false,
        );
        // a loop that broke on an error no longer reads the iterator, so close() would not settle
        if (ended) await closed;
      })();
      return stopped;
    },
  };
}
