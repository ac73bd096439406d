import {
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type MsgRequest,
  type PubAck,
  type StoredMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
import { headers, nanos, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { decodeEvent, encodeEvent, TRADE_STREAM, TRADE_SUBJECT_PREFIX, type EventEnvelope } from '@starminer/events';
import { injectTraceHeaders, JOB_ID_ATTR, SERVICE_ATTR, SpanKind, tracingOn, withJobId, withSpan } from '@starminer/telemetry';
import type { Attributes } from '@opentelemetry/api';
import { backoffMs, sleep } from './batching';
import { jobIdOfSubject, type Decode, type Encode, type StoredEvent } from './codec';
import { consume, type ConsumeOptions, type ConsumerHandle } from './consumer';
import {
  AggregateTooLargeError,
  AppendFailedError,
  ReadIncompleteError,
  ConcurrencyConflictError,
  StalePositionError,
  ConcurrencyRetriesExhaustedError,
  EventDecodeError,
  StreamConfigError,
  TradeLogArgumentError,
  UnsupportedServerError,
} from './errors';
import {
  AGGREGATE_CACHE_MAX_EVENTS,
  DECODED_EVENTS_CACHED_MAX,
  AGGREGATE_CACHE_SIZE_DEFAULT,
  AGGREGATE_CACHE_SIZE_LIMIT,
  COMMAND_MAX_ATTEMPTS_DEFAULT,
  COMMAND_MAX_ATTEMPTS_LIMIT,
  DIRECT_READ_MAX_EVENTS,
  CONFLICT_BACKOFF_BASE_MS,
  CONFLICT_BACKOFF_MAX_MS,
  DUPLICATE_WINDOW_MS,
  MAX_EVENTS_PER_AGGREGATE,
  MAX_EVENTS_PER_APPEND,
  NATS_DRAIN_TIMEOUT_MS,
  NATS_RECONNECT_ATTEMPTS_MAX,
  NATS_RECONNECT_WAIT_MS,
  PUBLISH_ATTEMPTS_MAX,
  PUBLISH_RETRY_BASE_MS,
  PUBLISH_RETRY_MAX_MS,
  PUBLISH_TIMEOUT_MS,
  READ_EXPIRES_MS,
  TRADE_STREAM_REPLICAS_MAX,
} from './limits';

export interface TradeLogOptions {
  /** NATS URL(s), e.g. `nats://127.0.0.1:4222`. */
  readonly servers: string | string[];
  /** The connection name shown by the server (the service's name). */
  readonly name: string;
  readonly streamName?: string;
  readonly subjectPrefix?: string;
  /**
   * How a body is written. Defaults to the catalogue's encodeEvent, which refuses anything a
   * reader would refuse: every service uses the default. Tests of the log itself pass jsonEncode.
   */
  readonly encode?: Encode;
  /** How bodies are read by readSubject, consumers and projections unless they say otherwise; defaults to the catalogue's decodeEvent. */
  readonly decode?: Decode;
  /** Aggregates whose decoded events readSubject keeps in memory (0 turns the cache off). */
  readonly aggregateCacheSize?: number;
  /** Reconnect attempts after the server is lost (default NATS_RECONNECT_ATTEMPTS_MAX), one every NATS_RECONNECT_WAIT_MS. */
  readonly maxReconnectAttempts?: number;
}

export interface AppendOptions {
  /** The subject's last sequence the caller decided on: 0 = the subject must be empty; 'any' = no check. */
  readonly expectedLastSubjectSeq: number | 'any';
}

export interface AppendResult {
  readonly seq: number;
  /** The server had this event id already (within the duplicate window): `seq` is the original's. */
  readonly duplicate: boolean;
}

/** What one append did, for an observer (metrics): the events' types, what each got (in order, as far as it came), how long, and the error if it failed. */
export interface AppendObservation {
  readonly subject: string;
  readonly types: readonly string[];
  readonly results: readonly AppendResult[];
  readonly seconds: number;
  readonly error?: unknown;
}
export type AppendObserver = (o: AppendObservation) => void;

export interface ReadOptions {
  /** How bodies are decoded; the log's decoder by default. */
  readonly decode?: Decode;
  /** The most events the read may hold (after `afterSeq`); default and cap MAX_EVENTS_PER_AGGREGATE. */
  readonly limit?: number;
  /** Read only the subject's events after this stream sequence (a snapshot's position); 0, the default, reads them all. */
  readonly afterSeq?: number;
  /** The id of the subject's event at `afterSeq`, as the snapshot recorded it: checked (StalePositionError when it differs). */
  readonly afterId?: string;
}

export interface ReadResult<E extends EventEnvelope = EventEnvelope> {
  /** The subject's events after `afterSeq` (all of them without it), in order. */
  readonly events: StoredEvent<E>[];
  /** The stream sequence of the subject's last event, 0 when it has none: the version to expect on append. */
  readonly lastSubjectSeq: number;
  /** The id (msgID) of the subject's event at lastSubjectSeq, '' when it has none: a snapshot taken there records it. */
  readonly lastId: string;
}

export interface PageResult<E extends EventEnvelope = EventEnvelope> extends ReadResult<E> {
  /** False when more events follow the page's last one: read the next page after it. */
  readonly complete: boolean;
}

interface CachedAggregate {
  /** Every event of the subject after this sequence is in `events` (0: the whole subject; never a part of a suffix). */
  readonly fromSeq: number;
  readonly events: StoredEvent[];
  readonly lastSubjectSeq: number;
  /** The msgID of the last event: tells a cached prefix from a stream that was recreated. */
  readonly lastId: string;
}

export interface CommandHandlerOptions<C, S, E extends EventEnvelope = EventEnvelope> {
  readonly subject: string;
  readonly initialState: S;
  readonly evolve: (state: S, event: E) => S;
  /** Pure: returns the events to append; throws a domain error to refuse (propagated untouched). */
  readonly decide: (command: C, state: S) => EventEnvelope[] | readonly EventEnvelope[];
  readonly command: C;
  readonly decode?: Decode;
  readonly maxAttempts?: number;
  /** Start from a snapshot instead of `initialState` and the whole subject. */
  readonly from?: CommandStart<S>;
}

/** A state folded from a subject's events up to `afterSeq`, whose event there is `afterId`. */
export interface CommandStart<S> {
  readonly state: S;
  readonly afterSeq: number;
  readonly afterId?: string;
}

export interface CommandResult<S> {
  readonly events: EventEnvelope[];
  readonly seqs: number[];
  /** The state after the appended events. */
  readonly state: S;
  /** The subject's last sequence after the command (the state's position) and the id of its event there. */
  readonly lastSubjectSeq: number;
  readonly lastId: string;
  /** Events folded on top of `from` (or the initial state) to reach `state`, the appended ones included. */
  readonly folded: number;
}

/** Connects to NATS and returns the trade log client; call ensureStream() once at boot. */
export async function connectTradeLog(opts: TradeLogOptions): Promise<TradeLog> {
  // A restart of nats-server must not end a service: keep reconnecting for a bounded outage
  // (about NATS_RECONNECT_ATTEMPTS_MAX x NATS_RECONNECT_WAIT_MS), then close; closed() tells the service.
  const nc = await connect({
    servers: opts.servers,
    name: opts.name,
    reconnectTimeWait: NATS_RECONNECT_WAIT_MS,
    maxReconnectAttempts: opts.maxReconnectAttempts ?? NATS_RECONNECT_ATTEMPTS_MAX,
  });
  return new TradeLog(nc, {
    streamName: opts.streamName ?? TRADE_STREAM,
    subjectPrefix: opts.subjectPrefix ?? TRADE_SUBJECT_PREFIX,
    encode: opts.encode ?? encodeEvent,
    decode: opts.decode ?? decodeEvent,
    name: opts.name,
    aggregateCacheSize: opts.aggregateCacheSize ?? AGGREGATE_CACHE_SIZE_DEFAULT,
  });
}

/**
 * The append-only trade log on one JetStream stream: append with optimistic concurrency per
 * subject, read one aggregate, run the command loop, and consume with durable pull consumers.
 */
export class TradeLog {
  readonly js: JetStreamClient;
  private jsmPromise?: Promise<JetStreamManager>;
  readonly streamName: string;
  readonly subjectPrefix: string;
  readonly name: string;
  private readonly encode: Encode;
  /** The decoder readers of this log use unless they name another. */
  readonly decode: Decode;
  private readonly aggregateCacheSize: number;
  private appendObserver?: AppendObserver;
  /** Per decoder, by stream sequence: events decoded lately, with the bytes they came from (decodeAt). */
  private readonly decoded = new Map<Decode, Map<number, { data: Uint8Array; event: EventEnvelope }>>();
  /** Per decoder, per subject: the events read last time (Map order = least recently used first). */
  private readonly aggregateCache = new Map<Decode, Map<string, CachedAggregate>>();

  constructor(
    readonly nc: NatsConnection,
    cfg: { streamName: string; subjectPrefix: string; encode: Encode; decode?: Decode; name: string; aggregateCacheSize?: number },
  ) {
    this.aggregateCacheSize = Math.min(cfg.aggregateCacheSize ?? AGGREGATE_CACHE_SIZE_DEFAULT, AGGREGATE_CACHE_SIZE_LIMIT);
    this.js = jetstream(nc, { timeout: PUBLISH_TIMEOUT_MS });
    this.streamName = cfg.streamName;
    this.subjectPrefix = cfg.subjectPrefix;
    this.encode = cfg.encode;
    this.decode = cfg.decode ?? decodeEvent;
    this.name = cfg.name;
    this.watchForStaleCache();
  }

  /**
   * The cache relies on stored events never changing. Only deleting and recreating the stream
   * breaks that: its advisory clears the cache, and so does every reconnect (an advisory may have
   * been missed while disconnected).
   */
  private watchForStaleCache(): void {
    if (this.aggregateCacheSize <= 0) return;
    this.nc.subscribe(`$JS.EVENT.ADVISORY.STREAM.DELETED.${this.streamName}`, { callback: () => this.aggregateCache.clear() });
    void (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === 'reconnect' || s.type === 'disconnect') this.aggregateCache.clear();
      }
    })().catch(() => undefined);
  }

  jsm(): Promise<JetStreamManager> {
    if (!this.jsmPromise) {
      const made = jetstreamManager(this.nc, { timeout: PUBLISH_TIMEOUT_MS });
      this.jsmPromise = made;
      // a failure (JetStream not ready yet, a timeout) is not kept: the next call asks again
      made.catch(() => {
        if (this.jsmPromise === made) this.jsmPromise = undefined;
      });
    }
    return this.jsmPromise;
  }

  /**
   * Creates the stream if it is missing (idempotent; safe when several services race). The log
   * keeps everything: no age, count or size limit, and `discard: new`, so if an operator ever
   * sets a limit the stream refuses new events instead of silently dropping history. Deleting or
   * purging messages is denied: the log is read for years by auditors.
   *
   * `replicas` (TRADE_STREAM_REPLICAS: 1 on one server, 3 on a cluster) is set on create and raised
   * on an existing stream that has fewer, never lowered: an operator may have raised it on purpose.
   */
  async ensureStream(opts: { replicas?: number } = {}): Promise<void> {
    const replicas = opts.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > TRADE_STREAM_REPLICAS_MAX) {
      throw new TradeLogArgumentError(`stream replicas must be an integer from 1 to ${TRADE_STREAM_REPLICAS_MAX}, not ${String(replicas)}`);
    }
    const jsm = await this.jsm();
    const wanted: Partial<StreamConfig> & { name: string } = {
      name: this.streamName,
      subjects: [`${this.subjectPrefix}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.New,
      max_age: 0,
      max_msgs: -1,
      max_bytes: -1,
      max_msgs_per_subject: -1,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
      deny_delete: true,
      deny_purge: true,
      num_replicas: replicas,
    };
    const existing = await jsm.streams.info(this.streamName).catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
      throw err;
    });
    let addError: JetStreamApiError | undefined;
    if (!existing) {
      try {
        await jsm.streams.add(wanted);
        return;
      } catch (err) {
        // Another service created it between our info and add: fall through and check it.
        if (!(err instanceof JetStreamApiError)) throw err;
        addError = err;
      }
    }
    const info =
      existing ??
      (await jsm.streams.info(this.streamName).catch((err: unknown) => {
        // Nobody created it: the server refused ours (e.g. more replicas than it has servers).
        if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
          throw new StreamConfigError(`stream ${this.streamName} (${replicas} replicas) could not be created: ${addError?.message ?? 'refused'}`, { cause: addError });
        }
        throw err;
      }));
    const cfg = info.config;
    if (cfg.storage !== StorageType.File) {
      throw new StreamConfigError(`stream ${this.streamName} uses ${cfg.storage} storage; the trade log needs file storage`);
    }
    const subject = `${this.subjectPrefix}.>`;
    const needsUpdate = !cfg.subjects?.includes(subject) || cfg.duplicate_window !== wanted.duplicate_window || cfg.num_replicas < replicas;
    if (needsUpdate) {
      await jsm.streams.update(this.streamName, {
        ...cfg,
        subjects: cfg.subjects?.includes(subject) ? cfg.subjects : [...(cfg.subjects ?? []), subject],
        duplicate_window: wanted.duplicate_window,
        num_replicas: Math.max(cfg.num_replicas, replicas),
      });
    }
  }

  /**
   * Appends the events of one decision to `subject`, in order. The first expects the subject's
   * last sequence to be `expectedLastSubjectSeq` (0: the subject is empty); each following one
   * expects the one before it, so no other writer can interleave. Each event's id is its
   * `msgID`: publishing it again inside the duplicate window returns the original sequence.
   *
   * A decision of several events is not atomic on nats-server < 2.12 (no atomic batch): if the
   * process dies between two publishes, the first events stand. Retrying the same command with the
   * same event ids completes it, as the already stored ones come back as duplicates.
   */
  append(subject: string, events: readonly EventEnvelope[], opts: AppendOptions): Promise<AppendResult[]> {
    // off: only the job scope (for logs); no span attributes built
    if (!tracingOn()) return withJobId(jobIdOfSubject(subject, this.subjectPrefix), () => this.observedAppend(subject, events, opts));
    // one span per append; its context goes into each event's headers, so a reader's span of the event is its child
    return withSpan(`trade-log append ${subject}`, this.appendAttributes(subject, events), () => this.observedAppend(subject, events, opts), { kind: SpanKind.PRODUCER });
  }

  /** What an append's span says: the service, the subject, the events, and the job when the subject is one job's. */
  private appendAttributes(subject: string, events: readonly EventEnvelope[]): Attributes {
    const jobId = jobIdOfSubject(subject, this.subjectPrefix);
    return {
      [SERVICE_ATTR]: this.name,
      'messaging.destination.name': subject,
      'starminer.event_types': events.map((e) => e.type).join(','),
      ...(jobId === undefined ? {} : { [JOB_ID_ATTR]: jobId }),
    };
  }

  private async observedAppend(subject: string, events: readonly EventEnvelope[], opts: AppendOptions): Promise<AppendResult[]> {
    const observer = this.appendObserver;
    if (!observer) return this.publishAll(subject, events, opts, []);
    const started = performance.now();
    const results: AppendResult[] = [];
    const observe = (error?: unknown): void => {
      // an observer (metrics) never changes the append's answer
      try {
        observer({ subject, types: events.map((e) => e.type), results, seconds: (performance.now() - started) / 1000, ...(error === undefined ? {} : { error }) });
      } catch {
        /* ignored */
      }
    };
    try {
      await this.publishAll(subject, events, opts, results);
    } catch (err) {
      observe(err);
      throw err;
    }
    observe();
    return results;
  }

  /** Called after every append, stored or failed (metrics); one observer per log client. */
  observeAppends(observer: AppendObserver | undefined): void {
    this.appendObserver = observer;
  }

  /** append's work: `results` gets each event's answer as it is stored, so a failure part way still says what stood. */
  private async publishAll(subject: string, events: readonly EventEnvelope[], opts: AppendOptions, results: AppendResult[]): Promise<AppendResult[]> {
    this.assertSubject(subject);
    if (events.length > MAX_EVENTS_PER_APPEND) {
      throw new TradeLogArgumentError(`${events.length} events in one append; the limit is ${MAX_EVENTS_PER_APPEND}`);
    }
    const expected = opts.expectedLastSubjectSeq;
    if (expected !== 'any' && !(Number.isSafeInteger(expected) && expected >= 0)) {
      throw new TradeLogArgumentError(`expectedLastSubjectSeq must be a non-negative integer or 'any', not ${String(expected)}`);
    }
    // Every event of the decision is encoded (checked against the catalogue) before the first is
    // published: one the catalogue refuses means none is stored.
    const bodies = events.map((event) => this.encode(event, subject));
    let last: number | undefined = expected === 'any' ? undefined : expected;
    for (const [i, event] of events.entries()) {
      const h = headers();
      h.set('type', event.type);
      injectTraceHeaders(h);
      const body = bodies[i];
      const publishOpts = {
        msgID: event.id,
        headers: h,
        timeout: PUBLISH_TIMEOUT_MS,
        ...(last === undefined ? {} : { expect: { lastSubjectSequence: last } }),
      };
      let ack: PubAck | undefined;
      for (let attempt = 1; ack === undefined; attempt += 1) {
        try {
          ack = await this.js.publish(subject, body, publishOpts);
        } catch (err) {
          if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) {
            throw new ConcurrencyConflictError(subject, last ?? -1, { cause: err });
          }
          // A timeout or a server restart leaves the outcome unknown. Publishing the same msgID
          // again is safe: if the first one was stored, the server answers with it as a duplicate
          // (the duplicate check comes before the sequence check). An API error is an answer: no retry.
          const retryable = !(err instanceof JetStreamApiError) && !this.nc.isClosed() && attempt < PUBLISH_ATTEMPTS_MAX;
          if (!retryable) throw new AppendFailedError(subject, err instanceof Error ? err.message : String(err), { cause: err });
          await sleep(backoffMs(attempt, PUBLISH_RETRY_BASE_MS, PUBLISH_RETRY_MAX_MS));
        }
      }
      if (ack.stream !== this.streamName) {
        throw new AppendFailedError(subject, `stored in stream ${ack.stream}, expected ${this.streamName}`);
      }
      results.push({ seq: ack.seq, duplicate: ack.duplicate });
      last = ack.seq;
    }
    return results;
  }

  /**
   * The event stored at `seq` (its body `data`), decoded once per process: the readers of this log
   * (consumers, projections, aggregate reads) share what another decoded, so an event read by five
   * of them is parsed and validated once (DECODED_EVENTS_CACHED_MAX by sequence, per decoder). A
   * hit counts only for the same bytes, so a stream made again under the same name decodes anew.
   * The event is shared: treat it as read-only (as the aggregate cache's). Throws as `decode` does,
   * and caches nothing then: each reader parks an undecodable event in its own way.
   */
  decodeAt(seq: number, data: Uint8Array, decode: Decode = this.decode): EventEnvelope {
    let cache = this.decoded.get(decode);
    const hit = cache?.get(seq);
    if (hit && (hit.data === data || (hit.data.length === data.length && Buffer.compare(hit.data, data) === 0))) return hit.event;
    const event = decode(data);
    if (!cache) {
      cache = new Map();
      this.decoded.set(decode, cache);
    }
    cache.set(seq, { data, event });
    if (cache.size > DECODED_EVENTS_CACHED_MAX) cache.delete(cache.keys().next().value as number);
    return event;
  }

  /**
   * Every event of one aggregate instance, in stream order, and the subject's last sequence.
   * Reads up to the last sequence seen when the read started; refuses (AggregateTooLargeError)
   * past MAX_EVENTS_PER_AGGREGATE events (or `limit`).
   *
   * With `afterSeq` (a snapshot's position) only the events after it are read and counted against
   * the limit; `lastSubjectSeq` is still the subject's real last sequence (the version to expect on
   * append). With `afterId` too, the event at `afterSeq` must be that one, of this subject: a
   * position the subject no longer has (past its end, another event there: the stream was reset or
   * restored) is StalePositionError, so that a snapshot never changes an answer.
   *
   * How: one STREAM.MSG.GET `last_by_subj` gives the version. Stored events never change (the
   * stream denies delete and purge), so the events this process read before are kept in a small
   * LRU cache and only what came after them is read: a hot aggregate costs one request. A cache
   * entry holds every event of the subject after its `fromSeq` (0 for a whole-subject read, a
   * snapshot's position for a suffix read), so a suffix never stands in for a whole read. New
   * events are read with `next_by_subj`, one request each and no server-side state; past
   * DIRECT_READ_MAX_EVENTS the rest streams through a short-lived ordered consumer. The returned
   * event objects are shared with the cache: treat them as read-only (evolve is pure anyway).
   */
  async readSubject<E extends EventEnvelope = EventEnvelope>(subject: string, opts: ReadOptions = {}): Promise<ReadResult<E>> {
    const { events, lastSubjectSeq, lastId } = await this.read<E>(subject, opts, false);
    return { events, lastSubjectSeq, lastId };
  }

  /**
   * At most `limit` (default and cap MAX_EVENTS_PER_AGGREGATE) events of the subject after
   * `afterSeq`, for a reader that folds a long subject page by page (saving a snapshot after each):
   * `complete` is false when more follow the page's last event. Same checks as readSubject.
   */
  async readSubjectPage<E extends EventEnvelope = EventEnvelope>(subject: string, opts: ReadOptions = {}): Promise<PageResult<E>> {
    return this.read<E>(subject, opts, true);
  }

  private async read<E extends EventEnvelope>(subject: string, opts: ReadOptions, page: boolean): Promise<PageResult<E>> {
    this.assertSubject(subject);
    const decode = opts.decode ?? this.decode;
    const limit = Math.min(opts.limit ?? MAX_EVENTS_PER_AGGREGATE, MAX_EVENTS_PER_AGGREGATE);
    const afterSeq = opts.afterSeq ?? 0;
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) throw new TradeLogArgumentError(`afterSeq must be a non-negative integer, not ${String(afterSeq)}`);
    if (page && !(Number.isSafeInteger(limit) && limit >= 1)) throw new TradeLogArgumentError(`a page holds at least one event, not ${String(limit)}`);
    const jsm = await this.jsm();
    const lastMsg = await jsm.streams.getMessage(this.streamName, { last_by_subj: subject });
    const cache = this.aggregateCache.get(decode);
    const cached = cache?.get(subject);
    if (!lastMsg) {
      cache?.delete(subject);
      if (afterSeq > 0) throw new StalePositionError(subject, afterSeq, 'the subject has no events');
      return { events: [], lastSubjectSeq: 0, lastId: '', complete: true };
    }
    const lastSubjectSeq = lastMsg.seq;
    const lastId = messageId(lastMsg);
    if (afterSeq > lastSubjectSeq) throw new StalePositionError(subject, afterSeq, `its last sequence is ${lastSubjectSeq}`);
    // A cached entry is used only if it covers afterSeq and is still a prefix of the subject (same last id at its sequence when nothing is new).
    const usable =
      cached !== undefined &&
      cached.fromSeq <= afterSeq &&
      cached.lastSubjectSeq >= afterSeq &&
      (cached.lastSubjectSeq < lastSubjectSeq || (cached.lastSubjectSeq === lastSubjectSeq && cached.lastId === lastId));
    if (afterSeq > 0 && opts.afterId !== undefined) {
      const known = usable ? cached.events.find((e) => e.seq === afterSeq) : undefined;
      await this.assertPosition(subject, afterSeq, opts.afterId, known ? known.event.id : afterSeq === lastSubjectSeq ? lastId : undefined);
    }
    const out: StoredEvent<E>[] = usable ? (cached.events.filter((e) => e.seq > afterSeq) as StoredEvent<E>[]) : [];
    if (out.length > limit) {
      if (!page) throw new AggregateTooLargeError(subject, limit);
      return { events: out.slice(0, limit), lastSubjectSeq, lastId, complete: false };
    }
    const fresh: StoredEvent<E>[] = [];
    const full = (): boolean => page && out.length >= limit;
    const push = (seq: number, data: Uint8Array): void => {
      if (out.length >= limit) throw new AggregateTooLargeError(subject, limit);
      let event: E;
      try {
        event = this.decodeAt(seq, data, decode) as E;
      } catch (cause) {
        throw new EventDecodeError(subject, seq, { cause });
      }
      const stored: StoredEvent<E> = { seq, subject, event, redelivered: false };
      out.push(stored);
      fresh.push(stored);
    };

    let cursor = usable ? cached.lastSubjectSeq + 1 : afterSeq + 1;
    let direct = 0;
    while (cursor <= lastSubjectSeq && direct < DIRECT_READ_MAX_EVENTS && !full()) {
      const m = await jsm.streams.getMessage(this.streamName, { seq: cursor, next_by_subj: subject } as unknown as MsgRequest);
      if (!m || m.seq > lastSubjectSeq) break;
      push(m.seq, m.data);
      direct += 1;
      cursor = m.seq + 1;
    }
    if (cursor <= lastSubjectSeq && direct >= DIRECT_READ_MAX_EVENTS && !full()) {
      const consumer = await this.js.consumers.get(this.streamName, {
        filter_subjects: subject,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: cursor,
      });
      try {
        // one more than the limit allows, so that a subject past it is refused rather than read short
        const messages = await consumer.fetch({ max_messages: limit - out.length + (page ? 0 : 1), expires: READ_EXPIRES_MS });
        for await (const m of messages) {
          if (m.seq > lastSubjectSeq) break;
          push(m.seq, m.data);
          if (m.seq === lastSubjectSeq || full()) break;
        }
      } finally {
        await consumer.delete().catch(() => undefined);
      }
    }
    const reached = out.at(-1)?.seq ?? afterSeq;
    if (reached !== lastSubjectSeq && !full()) {
      cache?.delete(subject);
      throw new ReadIncompleteError(subject, reached, lastSubjectSeq);
    }
    const complete = reached === lastSubjectSeq;
    if (complete) {
      let entry: CachedAggregate = usable
        ? { fromSeq: cached.fromSeq, events: cached.events.concat(fresh), lastSubjectSeq, lastId }
        : { fromSeq: afterSeq, events: fresh.slice(), lastSubjectSeq, lastId };
      // too long to keep whole: keep what this reader needs (after its position), if that fits
      if (entry.events.length > AGGREGATE_CACHE_MAX_EVENTS && entry.fromSeq < afterSeq) entry = { ...entry, fromSeq: afterSeq, events: out.slice() };
      this.remember(decode, subject, entry);
    }
    return { events: out, lastSubjectSeq, lastId, complete };
  }

  /** The event at `afterSeq` is `afterId`, of `subject` (`knownId`: the id there when the caller has it already). */
  private async assertPosition(subject: string, afterSeq: number, afterId: string, knownId: string | undefined): Promise<void> {
    let id = knownId;
    if (id === undefined) {
      const jsm = await this.jsm();
      const m = await jsm.streams.getMessage(this.streamName, { seq: afterSeq });
      if (!m) throw new StalePositionError(subject, afterSeq, 'the stream has no event at that sequence');
      if (m.subject !== subject) throw new StalePositionError(subject, afterSeq, `the event there belongs to ${m.subject}`);
      id = messageId(m);
    }
    if (id !== afterId) throw new StalePositionError(subject, afterSeq, `the event there is ${id || 'one without an id'}, not ${afterId}`);
  }

  private remember(decode: Decode, subject: string, entry: CachedAggregate): void {
    if (this.aggregateCacheSize <= 0 || entry.events.length > AGGREGATE_CACHE_MAX_EVENTS) return;
    let cache = this.aggregateCache.get(decode);
    if (!cache) {
      cache = new Map();
      this.aggregateCache.set(decode, cache);
    }
    cache.delete(subject);
    cache.set(subject, entry);
    while (cache.size > this.aggregateCacheSize) {
      const oldest = cache.keys().next().value as string;
      cache.delete(oldest);
    }
  }

  /**
   * The command loop: load the aggregate, fold its events, decide, append expecting the loaded
   * version; on a conflict, start again (after a short backoff) up to maxAttempts times. A domain
   * error thrown by decide propagates untouched, and nothing is appended.
   *
   * With `from` (a snapshot: a state folded up to `afterSeq`) only the events after it are read and
   * folded on top of it; the append still expects the subject's real last sequence, so a concurrent
   * writer is detected exactly as without it. A `from` the subject no longer has is
   * StalePositionError (nothing appended): the caller drops it and runs the command from the start.
   */
  async handleCommand<C, S, E extends EventEnvelope = EventEnvelope>(opts: CommandHandlerOptions<C, S, E>): Promise<CommandResult<S>> {
    const maxAttempts = opts.maxAttempts ?? COMMAND_MAX_ATTEMPTS_DEFAULT;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > COMMAND_MAX_ATTEMPTS_LIMIT) {
      throw new TradeLogArgumentError(`maxAttempts must be 1..${COMMAND_MAX_ATTEMPTS_LIMIT}`);
    }
    const from = opts.from;
    let lastConflict: ConcurrencyConflictError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      const read = await this.readSubject<E>(opts.subject, { decode: opts.decode, afterSeq: from?.afterSeq, afterId: from?.afterId });
      const state = read.events.reduce((s, e) => opts.evolve(s, e.event), from ? from.state : opts.initialState);
      const events = [...opts.decide(opts.command, state)];
      if (events.length === 0) return { events: [], seqs: [], state, lastSubjectSeq: read.lastSubjectSeq, lastId: read.lastId, folded: read.events.length };
      try {
        const acks = await this.append(opts.subject, events, { expectedLastSubjectSeq: read.lastSubjectSeq });
        const after = events.reduce((s, e) => opts.evolve(s, e as E), state);
        return {
          events,
          seqs: acks.map((a) => a.seq),
          state: after,
          lastSubjectSeq: acks[acks.length - 1].seq,
          lastId: events[events.length - 1].id,
          folded: read.events.length + events.length,
        };
      } catch (err) {
        if (!(err instanceof ConcurrencyConflictError)) throw err;
        lastConflict = err;
        if (attempt < maxAttempts) await sleep(backoffMs(attempt, CONFLICT_BACKOFF_BASE_MS, CONFLICT_BACKOFF_MAX_MS));
      }
    }
    throw new ConcurrencyRetriesExhaustedError(opts.subject, maxAttempts, { cause: lastConflict });
  }

  /** A durable pull consumer; see consumer.ts for the ack / nak / term policy. */
  consume(opts: ConsumeOptions): Promise<ConsumerHandle> {
    return consume(this, opts);
  }

  /** The stream's last sequence (0 when empty). */
  async lastSeq(): Promise<number> {
    const jsm = await this.jsm();
    const info = await jsm.streams.info(this.streamName);
    return info.state.last_seq;
  }

  /** The sequence of the last event on `subject` (one aggregate), or 0 when it has none. */
  async lastSeqOf(subject: string): Promise<number> {
    const jsm = await this.jsm();
    const m = await jsm.streams.getMessage(this.streamName, { last_by_subj: subject });
    return m?.seq ?? 0;
  }

  /** Filter subjects for a consumer: one as `filter_subject` (any server), several need 2.10+. */
  filterFor(subjects: readonly string[]): string | string[] {
    if (subjects.length === 0) throw new TradeLogArgumentError('at least one filter subject is needed');
    for (const s of subjects) {
      if (!s.startsWith(`${this.subjectPrefix}.`)) throw new TradeLogArgumentError(`filter ${s} is outside ${this.subjectPrefix}.>`);
    }
    if (subjects.length === 1) return subjects[0];
    if (!this.serverAtLeast(2, 10, 0)) {
      throw new UnsupportedServerError(`${subjects.length} filter subjects on one consumer need nats-server 2.10+, this one is ${this.nc.info?.version}`);
    }
    return [...subjects];
  }

  /** Whether the connected nats-server is at least this version (features differ: 2.9 is still packaged). */
  serverAtLeast(major: number, minor: number, patch: number): boolean {
    const [a = 0, b = 0, c = 0] = (this.nc.info?.version ?? '0.0.0').split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
    return a !== major ? a > major : b !== minor ? b > minor : c >= patch;
  }

  /**
   * Drains the connection; one whose drain has not ended after NATS_DRAIN_TIMEOUT_MS (a subscription
   * whose reader never took its end) is closed outright. Returns how it ended.
   */
  async close(): Promise<'drained' | 'closed after the drain timed out' | 'already closed'> {
    if (this.nc.isClosed()) return 'already closed';
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), NATS_DRAIN_TIMEOUT_MS)));
    const drained = await Promise.race([this.nc.drain().then(() => true), timedOut]).finally(() => clearTimeout(timer));
    if (drained) return 'drained';
    await this.nc.close();
    return 'closed after the drain timed out';
  }

  /** Settles when the connection is closed for good (by close(), or after the reconnect attempts ran out). */
  closed(): Promise<void | Error> {
    return this.nc.closed();
  }

  private assertSubject(subject: string): void {
    if (!subject.startsWith(`${this.subjectPrefix}.`) || /[\s*>]/.test(subject)) {
      throw new TradeLogArgumentError(`'${subject}' is not a concrete subject under ${this.subjectPrefix}.`);
    }
  }
}


/** The id an event was appended with (its msgID), or, for a message written without one, the id in its body; '' when neither. */
function messageId(m: StoredMsg): string {
  const header = m.header?.get('Nats-Msg-Id');
  if (header) return header;
  try {
    const id = (JSON.parse(Buffer.from(m.data).toString('utf8')) as { id?: unknown }).id;
    return typeof id === 'string' ? id : '';
  } catch {
    return '';
  }
}
