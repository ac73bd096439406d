import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type ConsumerConfig, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { contextOf, JOB_ID_ATTR, linkOf, SERVICE_ATTR, SpanKind, traceCarrierOf, tracingOn, withJobId, withSpan } from '@starminer/telemetry';
import { backoffMs, batchesOf } from './batching';
import { jobIdOfSubject, type Decode, type StoredEvent } from './codec';
import { ConsumerConfigError, EventDecodeError, TradeLogArgumentError } from './errors';
import {
  ACK_WAIT_MS,
  BATCH_LINGER_MS,
  BATCH_MAX_DEFAULT,
  BATCH_MAX_LIMIT,
  MAX_DELIVER_DEFAULT,
  NAK_DELAY_BASE_MS,
  NAK_DELAY_MAX_MS,
  PARKED_LIST_MAX,
  PULL_EXPIRES_MS_DEFAULT,
} from './limits';
import { parkingKeyOf, typeOfBody, type ParkedEvent, type ParkingLot, type ParkRecord } from './parking';
import type { Reader, ReaderHealth } from './reader';
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
  /** Defaults to the log's decoder (the catalogue's decodeEvent). */
  readonly decode?: Decode;
  /**
   * Where poison events go: with a parking lot, an event that cannot be decoded or handled after
   * its bounded deliveries is parked (and later events of its aggregate wait behind it, parked
   * too) for an operator to re-apply; without one it is only termed and reported.
   */
  readonly parking?: ParkingLot;
  /** Whether a parked event leaves the service unable to be correct (readiness red). */
  readonly critical?: boolean;
  /** Told about every event it parked, once the park is written (besides onError). */
  readonly onParked?: (parked: ParkRecord) => void;
  /**
   * Where a durable created now starts: 'all' (default: the whole log, so nothing decided before
   * the consumer existed is missed) or 'new' (only what is appended from now on). Ignored when the
   * durable exists: it resumes after what it acked.
   */
  readonly startAt?: 'all' | 'new';
  /** Told about every termed message and failed batch (defaults to console.warn). */
  readonly onError?: (err: unknown, event?: { seq: number; subject: string }) => void;
}

export interface ConsumerHandle extends Reader {
  readonly durable: string;
  /** Stops pulling, lets the batch in hand finish and be acked, and resolves. */
  stop(): Promise<void>;
  /** Settles when the consumer loop ends (rejects if it broke). */
  readonly done: Promise<void>;
}

const TERM_REASON_MAX_CHARS = 200;
/** The server redelivers without limit; the client parks at maxDeliver (see `settleFailure`). */
const SERVER_MAX_DELIVER = -1;
const DURABLE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A durable pull consumer with bounded pulls (`max_messages`, `expires`) that hands batches to
 * `handler`. What happens to each message is chosen, not left to timeouts:
 * - ack: after the handler resolved for the batch holding it;
 * - park (with a parking lot) and term(reason): the body does not decode (the catalogue refuses
 *   it: it never will), the handler threw a non-retryable error (`retryable === false`, e.g.
 *   PoisonEventError), or the message has been delivered maxDeliver times; later events of its
 *   aggregate are parked behind it;
 * - nak(delay): the handler threw anything else, or an error saying its dependency is away
 *   (`retryable === true`: never parked); the delay grows with the delivery count, and later
 *   events of the same aggregate are handed back until it passes;
 * - nak(long delay) of the whole batch: the parking lot itself could not be read or written.
 * The server never drops a message on its own (its max_deliver is unlimited; the bound is kept
 * here). When a batch of several fails, its messages are handled again one by one, so one bad
 * event does not hold back the others. Handlers must be idempotent: delivery is at least once.
 */
export async function consume(log: TradeLog, opts: ConsumeOptions): Promise<ConsumerHandle> {
  if (!DURABLE_NAME.test(opts.durable)) throw new TradeLogArgumentError(`durable name '${opts.durable}' must be 1-64 of [A-Za-z0-9_-]`);
  const batchMax = opts.batchMax ?? BATCH_MAX_DEFAULT;
  if (!Number.isInteger(batchMax) || batchMax < 1 || batchMax > BATCH_MAX_LIMIT) throw new TradeLogArgumentError(`batchMax must be 1..${BATCH_MAX_LIMIT}`);
  const maxDeliver = opts.maxDeliver ?? MAX_DELIVER_DEFAULT;
  if (!Number.isInteger(maxDeliver) || maxDeliver < 1) throw new TradeLogArgumentError('maxDeliver must be a positive integer');
  const expiresMs = opts.expiresMs ?? PULL_EXPIRES_MS_DEFAULT;
  const decode = opts.decode ?? log.decode;
  const onError = opts.onError ?? ((err: unknown, e?: { seq: number; subject: string }) => console.warn(`[trade-log ${opts.durable}]${e ? ` ${e.subject}#${e.seq}` : ''}`, err));

  const filter = log.filterFor(opts.filterSubjects);
  const config: Partial<ConsumerConfig> = {
    durable_name: opts.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: opts.startAt === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    ack_wait: nanos(ACK_WAIT_MS),
    // The bound is kept here, not by the server: at maxDeliver the message is parked (or termed);
    // a server that stopped redelivering on its own would drop one whose park failed.
    max_deliver: SERVER_MAX_DELIVER,
    ...(typeof filter === 'string' ? { filter_subject: filter } : { filter_subjects: filter }),
  };
  const jsm = await log.jsm();
  /** Where a durable that exists already resumes: what it acked before (for health). */
  let resumedAt = 0;
  try {
    const existing = await jsm.consumers.info(log.streamName, opts.durable).catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return undefined;
      throw err;
    });
    resumedAt = existing?.ack_floor.stream_seq ?? 0;
    if (!existing) {
      await jsm.consumers.add(log.streamName, config);
    } else if (
      existing.config.max_deliver !== SERVER_MAX_DELIVER ||
      existing.config.ack_wait !== config.ack_wait ||
      (existing.config.filter_subject ?? '') !== (config.filter_subject ?? '') ||
      JSON.stringify(existing.config.filter_subjects ?? []) !== JSON.stringify(config.filter_subjects ?? [])
    ) {
      await jsm.consumers.update(log.streamName, opts.durable, {
        max_deliver: SERVER_MAX_DELIVER,
        ack_wait: config.ack_wait,
        // one of the two, the other cleared: the server refuses a consumer with both (a durable
        // that read the whole log under one subject moves to a subject per kind on 2.10+)
        ...(typeof filter === 'string' ? { filter_subject: filter, filter_subjects: undefined } : { filter_subjects: filter, filter_subject: undefined }),
      } as Partial<ConsumerConfig>);
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

  let position = resumedAt;
  let pending = 0;
  let lastEventAtMs: number | undefined;
  /** The stream time of the first message of the batch in hand (for lag in seconds). */
  let oldestUnappliedAtMs: number | undefined;
  let retrying = false;
  let lastError: string | undefined;
  const done1 = (m: JsMsg): void => {
    if (m.seq >= position) lastEventAtMs = m.info.timestampNanos / 1e6;
    position = Math.max(position, m.seq);
  };

  /** Parks a message for the operator (when there is a parking lot), then terms it; or only terms it. */
  const poison = async (m: JsMsg, err: unknown, why: string, blockedBy: number | null = null): Promise<void> => {
    const reason = `${why}: ${err instanceof Error ? err.message : String(err)}`;
    const record: ParkRecord = { reader: opts.durable, seq: m.seq, subject: m.subject, type: typeOfBody(m.data), key: parkingKeyOf(m.subject), error: reason, blockedBy, attempts: m.info.deliveryCount };
    if (opts.parking) await opts.parking.park(opts.parking.dataSource.manager, record);
    term(m, reason);
    done1(m);
    // one report of it: as a parked event where that is told, else as an error
    if (opts.parking && opts.onParked) opts.onParked(record);
    else onError(err, { seq: m.seq, subject: m.subject });
  };

  /**
   * Keys whose event failed and was handed back to be retried, with the seq and when it comes back:
   * later events of the key are handed back too until it is acked or parked, so an aggregate's
   * events are handled in order (within this instance).
   */
  const heads = new Map<string, { seq: number; retryAt: number }>();
  const settled = (m: JsMsg): void => {
    const key = parkingKeyOf(m.subject);
    if (heads.get(key)?.seq === m.seq) heads.delete(key);
  };

  /**
   * A failed message: parked (or termed) when it can never pass (`retryable === false`) or has had
   * its deliveries; handed back with a growing delay otherwise. An error that says its dependency is
   * away (`retryable === true`: the chain, a service) is never parked: it waits for the dependency.
   */
  const settleFailure = async (m: JsMsg, err: unknown): Promise<'parked' | 'retry'> => {
    const retryable = (err as { retryable?: unknown } | null)?.retryable;
    if (retryable === false || (retryable !== true && m.info.deliveryCount >= maxDeliver)) {
      await poison(m, err, retryable === false ? 'non-retryable' : `failed ${m.info.deliveryCount} deliveries`);
      settled(m);
      return 'parked';
    }
    retrying = true;
    lastError = err instanceof Error ? err.message : String(err);
    const delay = nakDelay(m);
    heads.set(parkingKeyOf(m.subject), { seq: m.seq, retryAt: Date.now() + delay });
    m.nak(delay);
    return 'retry';
  };
  const nakDelay = (m: JsMsg): number => backoffMs(m.info.deliveryCount, NAK_DELAY_BASE_MS, NAK_DELAY_MAX_MS);
  /** A later event of a key whose earlier event is being retried: back until after it. */
  const holdBack = (m: JsMsg, head: { retryAt: number }): void => m.nak(Math.max(NAK_DELAY_BASE_MS, head.retryAt - Date.now() + NAK_DELAY_BASE_MS));

  const runHandler = async (items: { m: JsMsg; e: StoredEvent }[]): Promise<void> => {
    // A long handler keeps its messages from being redelivered under it.
    const keepAlive = setInterval(() => items.forEach(({ m }) => m.working()), ACK_WAIT_MS / 2);
    try {
      await handlerSpan(log, opts.durable, items.map((x) => x.e), () => opts.handler(items.map((x) => x.e)));
    } finally {
      clearInterval(keepAlive);
    }
  };

  const ack = (m: JsMsg): void => {
    m.ack();
    done1(m);
    settled(m);
  };

  const processBatch = async (batch: JsMsg[]): Promise<void> => {
    pending = batch[batch.length - 1].info.pending;
    oldestUnappliedAtMs = batch[0].info.timestampNanos / 1e6;
    try {
      await settleBatch(batch);
    } finally {
      oldestUnappliedAtMs = undefined;
    }
  };

  const settleBatch = async (batch: JsMsg[]): Promise<void> => {
    // Events of an aggregate with a parked event wait behind it, so nothing is handled out of order.
    const blocked = opts.parking ? await opts.parking.blockedAmong(opts.parking.dataSource, opts.durable, batch.map((m) => parkingKeyOf(m.subject))) : new Map<string, number>();
    const items: { m: JsMsg; e: StoredEvent }[] = [];
    for (const m of batch) {
      const key = parkingKeyOf(m.subject);
      const behind = blocked.get(key);
      if (behind !== undefined) {
        await poison(m, new Error(`waits behind parked event #${behind} of the same aggregate`), 'blocked', behind);
        continue;
      }
      const head = heads.get(key);
      if (head && head.seq < m.seq) {
        holdBack(m, head);
        continue;
      }
      try {
        items.push({ m, e: { seq: m.seq, subject: m.subject, event: log.decodeAt(m.seq, m.data, decode), redelivered: m.redelivered, ...traceOf(m) } });
      } catch (cause) {
        await poison(m, new EventDecodeError(m.subject, m.seq, { cause }), 'undecodable');
        // with a parking lot, the aggregate's later events wait behind it (without one, nothing would remember)
        if (opts.parking && !blocked.has(key)) blocked.set(key, m.seq);
      }
    }
    if (items.length === 0) return;
    try {
      await runHandler(items);
      for (const { m } of items) ack(m);
      if (heads.size === 0) {
        retrying = false;
        lastError = undefined;
      }
      return;
    } catch (err) {
      if (items.length > 1) onError(err);
      else {
        const outcome = await settleFailure(items[0].m, err);
        if (outcome === 'parked' && opts.parking) blocked.set(parkingKeyOf(items[0].m.subject), items[0].m.seq);
        if (heads.size === 0) retrying = false;
        return;
      }
    }
    // One at a time, so one bad event does not hold back the others; an aggregate whose event
    // failed keeps its later events back too, so its order holds.
    for (const item of items) {
      const key = parkingKeyOf(item.m.subject);
      const behind = blocked.get(key);
      if (behind !== undefined) {
        await poison(item.m, new Error(`waits behind parked event #${behind} of the same aggregate`), 'blocked', behind);
        continue;
      }
      const head = heads.get(key);
      if (head && head.seq < item.m.seq) {
        holdBack(item.m, head);
        continue;
      }
      try {
        await runHandler([item]);
        ack(item.m);
      } catch (err) {
        const outcome = await settleFailure(item.m, err);
        if (outcome === 'parked' && opts.parking) blocked.set(key, item.m.seq);
      }
    }
    // every message is settled (acked, parked, or waiting behind one being retried)
    if (heads.size === 0) {
      retrying = false;
      lastError = undefined;
    }
  };

  /**
   * Re-runs the handler over the parked events of one key, in order, read again from the stream.
   * One retry of a key at a time, across replicas: it holds a transaction-scoped advisory lock on
   * (reader, key) while it runs.
   */
  const retryParked = async (key: string): Promise<{ applied: number; stillParked: ParkedEvent[] }> => {
    const parking = opts.parking;
    if (!parking) throw new TradeLogArgumentError(`consumer ${opts.durable} has no parking lot`);
    const jsm = await log.jsm();
    return parking.dataSource.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`starminer.retry.${opts.durable}.${key}`]);
      let applied = 0;
      // events parked behind while this runs are picked up by the next round (bounded)
      for (let round = 0; round < PARKED_LIST_MAX; round += 1) {
        const parked = await parking.takeKey(em, opts.durable, key);
        if (parked.length === 0) break;
        for (const p of parked) {
          const m = await jsm.streams.getMessage(log.streamName, { seq: p.seq });
          if (!m) throw new TradeLogArgumentError(`parked event #${p.seq} is not in the stream any more`);
          try {
            await opts.handler([{ seq: p.seq, subject: p.subject, event: log.decodeAt(p.seq, m.data, decode), redelivered: true }]);
          } catch (err) {
            await parking.recordFailure(em, opts.durable, p.seq, err instanceof Error ? err.message : String(err));
            return { applied, stillParked: await parking.takeKey(em, opts.durable, key) };
          }
          await parking.remove(em, opts.durable, p.seq);
          applied += 1;
        }
      }
      return { applied, stillParked: await parking.takeKey(em, opts.durable, key) };
    });
  };

  // A pull that expires says the server had nothing more for this instance: caught up. Without this,
  // a replica of a shared durable keeps the `pending` of the last message it got (others took the
  // rest) and would report lag forever.
  void (async () => {
    for await (const n of messages.status()) {
      if (n.type === 'discard') pending = 0;
    }
  })().catch(() => undefined);

  let stopping = false;
  const done = (async () => {
    for await (const batch of batchesOf(messages, batchMax, BATCH_LINGER_MS)) {
      if (stopping) {
        // Delivered but not handled: hand them back at once, so another instance (or the next
        // start) gets them now rather than after ack_wait. The iterator ends at close()'s marker.
        for (const m of batch) m.nak();
        continue;
      }
      try {
        await processBatch(batch);
      } catch (err) {
        // The parking lot could not be read or written (its database away): nothing of the batch
        // was settled on purpose, so it comes back after a delay.
        retrying = true;
        lastError = err instanceof Error ? err.message : String(err);
        onError(err);
        for (const m of batch) m.nak(nakDelay(m)); // a no-op for those already acked or termed
      }
    }
  })();
  let broken = false;
  done.catch((err: unknown) => {
    if (stopping) return;
    broken = true;
    lastError = err instanceof Error ? err.message : String(err);
    onError(err);
  });
  let stopped: Promise<void> | undefined;
  return {
    durable: opts.durable,
    name: opts.durable,
    kind: 'consumer',
    critical: opts.critical ?? false,
    health: (): ReaderHealth => ({
      reader: opts.durable,
      kind: 'consumer',
      state: stopping ? 'stopping' : broken ? 'failed' : retrying ? 'retrying' : 'running',
      position,
      lag: pending,
      ...(lastEventAtMs === undefined ? {} : { lastEventAtMs }),
      ...(oldestUnappliedAtMs === undefined ? {} : { oldestUnappliedAtMs }),
      critical: opts.critical ?? false,
      ...(lastError === undefined ? {} : { lastError }),
    }),
    retryParked,
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

/** The trace context a message's headers carry, as a StoredEvent field (nothing read while tracing is off). */
export function traceOf(m: { headers?: { get(k: string): string } }): { trace?: StoredEvent['trace'] } {
  if (!tracingOn()) return {};
  const trace = traceCarrierOf(m.headers);
  return trace ? { trace } : {};
}

/**
 * The span a reader's handler runs in: for one event, a child of the span that appended it (so a
 * job's trace goes on through every service that reads its events), about its job; for a batch,
 * one span linked to each event's appender.
 */
export function handlerSpan<T>(log: TradeLog, reader: string, events: readonly StoredEvent[], fn: () => Promise<T>): Promise<T> {
  if (events.length === 1) {
    const e = events[0];
    const jobId = jobIdOfSubject(e.subject, log.subjectPrefix);
    // off: only the job scope (for logs), no attributes built per event
    if (!tracingOn()) return withJobId(jobId, fn);
    const attrs = { [SERVICE_ATTR]: log.name, 'starminer.reader': reader, 'starminer.event_type': e.event.type, 'messaging.message.id': e.event.id, 'starminer.seq': e.seq, ...(jobId === undefined ? {} : { [JOB_ID_ATTR]: jobId }) };
    return withSpan(`${reader} ${e.event.type}`, attrs, fn, { parent: contextOf(e.trace), kind: SpanKind.CONSUMER });
  }
  if (!tracingOn()) return fn();
  const links = events.flatMap((e) => linkOf(e.trace) ?? []);
  return withSpan(`${reader} batch`, { [SERVICE_ATTR]: log.name, 'starminer.reader': reader, 'messaging.batch.message_count': events.length }, fn, { links, kind: SpanKind.CONSUMER });
}
