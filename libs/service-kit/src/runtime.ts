import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { Counter, Gauge, Registry } from 'prom-client';
import { DataSource, type EntityManager, type EntitySchema, type MixedList } from 'typeorm';
import { belongsTo, EventSchemaError, subjectFor, type AggregateEnvelope, type AggregateEvent, type AggregateKind, type TradeEvent } from '@starminer/events';
import { DomainError, type Decider, type Draft, type SnapshotCodec } from '@starminer/domain';
import {
  AggregateTooLargeError,
  connectTradeLog,
  EventDecodeError,
  MAX_EVENTS_PER_AGGREGATE,
  ParkingLot,
  PoisonEventError,
  ProjectionRunner,
  SnapshotStore,
  StalePositionError,
  type CommandStart,
  type ConsumeOptions,
  type ConsumerHandle,
  type ParkRecord,
  type Reader,
  type ReaderHealth,
  type StoredEvent,
  type TradeLog,
} from '@starminer/trade-log';
import type { BaseConfig } from './config';
import { AggregateUnreadableError } from './errors';
import { envelope, type Causation } from './events';
import { ServiceMetrics } from './metrics';
import type { ReadModel } from './read-models';

export interface RuntimeOptions {
  /** The service's name: its Postgres schema, its NATS connection name, its actor. */
  readonly service: string;
  readonly config: BaseConfig;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  readonly entities: MixedList<Function | string | EntitySchema>;
}

/** Readiness turns red when a reader is further behind the log than this. */
export const READY_LAG_EVENTS_MAX = 10_000;
/** Saving a snapshot waits at most this long for Postgres; a snapshot not saved is only a later, longer fold. */
export const SNAPSHOT_WRITE_TIMEOUT_MS = 1_000;

/** A decider's state at a position of its subject, and the events folded to reach it from the last snapshot (or the start). */
interface Folded<A extends AggregateKind, S> {
  readonly start: CommandStart<S>;
  readonly events: AggregateEvent<A>[];
}

export interface ProjectionOptions {
  readonly reset?: (em: EntityManager) => Promise<void>;
  /** A parked event leaves the service unable to be correct (money: funds, ledger): readiness red. */
  readonly critical?: boolean;
  /** The read model's shape: a store written by a lower one is rebuilt at start (ProjectionRunnerOptions.shapeVersion). */
  readonly shapeVersion?: number;
  /** Writes a whole batch at once instead of `apply` per event (ProjectionRunnerOptions.applyBatch): the runner then uses only this. */
  readonly applyBatch?: (em: EntityManager, events: StoredEvent[]) => Promise<void>;
  /** The event types the projection changes rows for; the others are skipped without a transaction (ProjectionRunnerOptions.types). */
  readonly types?: readonly string[];
}

/** The health of one dependency or reader, as readiness reports it. */
export interface Check {
  readonly up: boolean;
  readonly detail: Record<string, unknown>;
}

/** One reader as readiness judges it: its health, its parked events (null: the parking lot could not be read), what counts against the service. */
export interface ReaderReport {
  readonly name: string;
  readonly health: ReaderHealth;
  readonly parked: number | null;
  readonly problems: readonly string[];
}

/** Every reader of the service, read once: readiness' `readers` check and the operator's status are both made from it. */
export interface ReadersReport {
  readonly readers: readonly ReaderReport[];
  /** false when the parking lot could not be read (readiness is then red: a parked event of money may be hidden). */
  readonly parkedCounted: boolean;
}

/**
 * What every service holds at its edge: the trade log (appends checked by the catalogue's
 * encoder), its own Postgres schema, the parking lot of events its readers could not apply, and
 * the readers themselves, so that health, metrics and the operator's commands see them all.
 * Market rules stay in the deciders; this only loads, decides and appends.
 */
export class ServiceRuntime {
  private readonly logger: Logger;
  private readonly readerList: Reader[] = [];
  private readonly models: ReadModel[] = [];
  private natsConnected = true;
  private closing = false;
  readonly metrics = new Registry();
  /** The edge's series (HTTP, commands, appends, chain transactions) on `metrics`. */
  readonly meters: ServiceMetrics;
  private readonly parkedTotal: Counter;
  /** When this process's runtime started (the operator's status shows it). */
  readonly startedAt = new Date();

  private constructor(
    readonly service: string,
    readonly config: BaseConfig,
    readonly tradeLog: TradeLog,
    readonly db: DataSource,
    readonly parking: ParkingLot,
    readonly snapshots: SnapshotStore,
  ) {
    this.logger = new Logger(service);
    this.metrics.setDefaultLabels({ service });
    this.parkedTotal = new Counter({ name: 'starminer_events_parked_total', help: 'Events a reader parked (could not decode or apply after its attempts)', labelNames: ['reader'], registers: [this.metrics] });
    this.defineReaderMetrics();
    this.meters = new ServiceMetrics(this.metrics);
    tradeLog.observeAppends(this.meters.onAppend);
  }

  static async start(opts: RuntimeOptions): Promise<ServiceRuntime> {
    const { config, service } = opts;
    const tradeLog = await connectTradeLog({
      servers: config.NATS_URL,
      name: service,
      streamName: config.TRADE_STREAM,
      subjectPrefix: config.TRADE_SUBJECT_PREFIX,
    });
    await tradeLog.ensureStream({ replicas: config.TRADE_STREAM_REPLICAS });
    await ensureSchema(config.DATABASE_URL, service);
    const dataSource = new DataSource({
      type: 'postgres',
      url: config.DATABASE_URL,
      schema: service,
      entities: opts.entities,
      // Read models are disposable: rebuilt from the log, so their tables follow the entities.
      synchronize: true,
      poolSize: config.DB_POOL_SIZE,
    });
    await dataSource.initialize();
    const parking = new ParkingLot(dataSource, service);
    await parking.ensureTable();
    const snapshots = new SnapshotStore(dataSource, service);
    await snapshots.ensureTable();
    const runtime = new ServiceRuntime(service, config, tradeLog, dataSource, parking, snapshots);
    runtime.watchConnection();
    return runtime;
  }

  /**
   * The log's connection rides out a NATS restart (readiness is red meanwhile) and gives up after
   * its bounded reconnects: a service without its log is of no use, so it exits and its supervisor
   * (the stack, Kubernetes) starts it again.
   */
  private watchConnection(): void {
    void (async () => {
      for await (const s of this.tradeLog.nc.status()) {
        if (s.type === 'disconnect') this.natsConnected = false;
        if (s.type === 'reconnect') this.natsConnected = true;
      }
    })().catch(() => undefined);
    void this.tradeLog.closed().then((err) => {
      if (this.closing) return;
      this.logger.error(`the trade log connection closed${err ? `: ${err.message}` : ''}; exiting`);
      process.exit(1);
    });
  }

  /** Every reader of the log this service runs. */
  get readers(): readonly Reader[] {
    return this.readerList;
  }

  /** Adds a reader to health, metrics and the parked-event commands. */
  register<R extends Reader>(reader: R): R {
    if (this.readerList.some((r) => r.name === reader.name)) throw new Error(`${this.service} already has a reader named ${reader.name}`);
    this.readerList.push(reader);
    return reader;
  }

  reader(name: string): Reader | undefined {
    return this.readerList.find((r) => r.name === name);
  }

  subject(kind: AggregateKind, id: string): string {
    return subjectFor(kind, id, this.config.TRADE_SUBJECT_PREFIX);
  }

  filter(kind: AggregateKind): string {
    return `${this.config.TRADE_SUBJECT_PREFIX}.${kind}.>`;
  }

  /**
   * The filter for a reader of several aggregate kinds: one subject per kind on nats-server 2.10+,
   * so the server delivers only those kinds (a reader of jobs and contracts no longer receives,
   * decodes and skips every account, node, market and anchor event). Before 2.10 (Debian 12 ships
   * 2.9) a consumer takes one filter subject, so several kinds read the whole log and skip the
   * rest; the apply functions ignore event types they do not project.
   */
  filterOf(kinds: readonly AggregateKind[]): string[] {
    if (kinds.length === 1) return [this.filter(kinds[0])];
    return this.tradeLog.serverAtLeast(2, 10, 0) ? [...new Set(kinds)].map((k) => this.filter(k)) : [`${this.config.TRADE_SUBJECT_PREFIX}.>`];
  }

  /**
   * Load, decide, append (with optimistic concurrency and a bounded retry), then answer. An event
   * the catalogue refuses is never stored (EventSchemaError, answered EVENT_REFUSED); an aggregate
   * whose events cannot be read is AGGREGATE_UNREADABLE, and said in the log.
   *
   * A decider with a snapshot codec starts from its latest snapshot (this service's
   * `aggregate_snapshots`) and folds only the events after it; the append still expects the
   * subject's real last sequence. A snapshot the log no longer has (a stream reset or restored) or
   * of another version is ignored, and one past MAX_EVENTS_PER_AGGREGATE events behind is caught up
   * page by page. After the command, once `every` events were folded since the snapshot, the new
   * state is saved (a failed save is logged; the command stands).
   */
  async execute<A extends AggregateKind, C, S>(
    kind: A,
    id: string,
    decider: Decider<A, C, S>,
    command: C,
    causation: Causation,
  ): Promise<{ events: TradeEvent[]; seqs: number[]; state: S }> {
    const subject = this.subject(kind, id);
    const codec = decider.snapshot;
    const handle = (from: CommandStart<S> | undefined) =>
      this.tradeLog.handleCommand<C, S>({
        subject,
        initialState: decider.initialState(),
        evolve: (s: S, e: StoredEvent['event']) => decider.evolve(s, this.ofAggregate(kind, subject, e)),
        decide: (c: C, s: S) => envelope(decider.decide(c, s) as readonly Draft[], id, causation),
        command,
        from,
      });
    try {
      if (!codec) {
        const result = await handle(undefined);
        return { events: result.events as TradeEvent[], seqs: result.seqs, state: result.state };
      }
      let from = await this.snapshotOf(subject, codec);
      let caughtUp = false;
      for (;;) {
        try {
          const result = await handle(from);
          if (result.folded >= codec.every) await this.saveSnapshot(subject, codec, { state: result.state, afterSeq: result.lastSubjectSeq, afterId: result.lastId });
          return { events: result.events as TradeEvent[], seqs: result.seqs, state: result.state };
        } catch (err) {
          if (from && err instanceof StalePositionError) {
            await this.dropSnapshot(subject, codec, from.afterSeq, err);
            from = undefined;
          } else if (err instanceof AggregateTooLargeError && !caughtUp) {
            from = (await this.foldPages(kind, subject, decider, codec, from)).start;
            caughtUp = true;
          } else {
            throw err;
          }
        }
      }
    } catch (err) {
      throw this.unreadable(subject, err);
    }
  }

  /**
   * The current state of one aggregate instance, folded from its events, and those events. For a
   * decider with a snapshot codec the fold starts at its latest snapshot, and `events` are only
   * those after it (the codec declines to snapshot a state whose edge needs more: see the mint
   * decider); the state is saved again once `every` events were folded since.
   */
  async load<A extends AggregateKind, S>(
    kind: A,
    id: string,
    decider: Pick<Decider<A, unknown, S>, 'evolve' | 'initialState' | 'snapshot'>,
  ): Promise<{ state: S; events: AggregateEnvelope<A>[] }> {
    const codec = decider.snapshot;
    if (!codec) {
      const list = await this.events(kind, id);
      return { state: list.reduce((s, e) => decider.evolve(s, e as unknown as AggregateEvent<A>), decider.initialState()), events: list };
    }
    const subject = this.subject(kind, id);
    try {
      const folded = await this.foldPages(kind, subject, decider, codec, await this.snapshotOf(subject, codec));
      if (folded.events.length >= codec.every) await this.saveSnapshot(subject, codec, folded.start);
      return { state: folded.start.state, events: folded.events as unknown as AggregateEnvelope<A>[] };
    } catch (err) {
      throw this.unreadable(subject, err);
    }
  }

  /**
   * Folds the subject from `from` (a snapshot; the start without one) to its last event, a page of
   * at most MAX_EVENTS_PER_AGGREGATE events at a time, saving a snapshot at the end of each page
   * that more follow. A state the codec declines to snapshot cannot be paged past: the aggregate is
   * too large for that decider, as without snapshots.
   */
  private async foldPages<A extends AggregateKind, S>(
    kind: A,
    subject: string,
    decider: Pick<Decider<A, unknown, S>, 'evolve' | 'initialState'>,
    codec: SnapshotCodec<S>,
    from: CommandStart<S> | undefined,
  ): Promise<Folded<A, S>> {
    let start: CommandStart<S> = from ?? { state: decider.initialState(), afterSeq: 0 };
    let fromSnapshot = from !== undefined;
    for (;;) {
      let page;
      try {
        page = await this.tradeLog.readSubjectPage(subject, { afterSeq: start.afterSeq, afterId: start.afterId });
      } catch (err) {
        if (!(fromSnapshot && err instanceof StalePositionError)) throw err;
        await this.dropSnapshot(subject, codec, start.afterSeq, err);
        start = { state: decider.initialState(), afterSeq: 0 };
        fromSnapshot = false;
        continue;
      }
      fromSnapshot = false;
      const events = page.events.map((e) => this.ofAggregate(kind, subject, e.event));
      const state = events.reduce((s, e) => decider.evolve(s, e), start.state);
      if (page.complete) return { start: { state, afterSeq: page.lastSubjectSeq, afterId: page.lastId }, events };
      const last = page.events[page.events.length - 1];
      if (codec.encode(state) === undefined) throw new AggregateTooLargeError(subject, MAX_EVENTS_PER_AGGREGATE);
      start = { state, afterSeq: last.seq, afterId: last.event.id };
      await this.saveSnapshot(subject, codec, start);
    }
  }

  /** The decider's latest snapshot of `subject`, or undefined: none, another version, unreadable (logged), Postgres away (logged). */
  private async snapshotOf<S>(subject: string, codec: SnapshotCodec<S>): Promise<CommandStart<S> | undefined> {
    try {
      const row = await this.snapshots.get(subject, codec.name);
      if (!row || row.version !== codec.version) return undefined;
      return { state: codec.decode(row.state), afterSeq: row.subjectSeq, afterId: row.eventId };
    } catch (err) {
      this.logger.warn(`snapshot of ${subject} (${codec.name}) not used, folding from the start: ${(err as Error)?.message ?? String(err)}`);
      return undefined;
    }
  }

  /** Saves `at` as the decider's snapshot of `subject`; a failure is logged and nothing else (a snapshot is a cache). */
  private async saveSnapshot<S>(subject: string, codec: SnapshotCodec<S>, at: CommandStart<S>): Promise<void> {
    try {
      const state = codec.encode(at.state);
      if (state === undefined || at.afterSeq === 0 || !at.afterId) return;
      const put = this.snapshots.put({ subject, decider: codec.name, subjectSeq: at.afterSeq, eventId: at.afterId, version: codec.version, state });
      await withTimeout(put, SNAPSHOT_WRITE_TIMEOUT_MS, 'Postgres did not answer');
    } catch (err) {
      this.logger.warn(`snapshot of ${subject} (${codec.name}) at #${at.afterSeq} not saved: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  /** A snapshot the log no longer has: said, and deleted so that newer ones can be saved. */
  private async dropSnapshot<S>(subject: string, codec: SnapshotCodec<S>, afterSeq: number, why: Error): Promise<void> {
    this.logger.warn(`snapshot of ${subject} (${codec.name}) ignored, folding from the start: ${why.message}`);
    await this.snapshots.drop(subject, codec.name, afterSeq).catch((err: unknown) => this.logger.warn(`stale snapshot of ${subject} not deleted: ${(err as Error)?.message ?? String(err)}`));
  }

  /** The events of one aggregate instance, in order (for edges that need more than a decider's state). */
  async events<A extends AggregateKind>(kind: A, id: string): Promise<AggregateEnvelope<A>[]> {
    const subject = this.subject(kind, id);
    try {
      const { events } = await this.tradeLog.readSubject(subject);
      return events.map((e) => this.ofAggregate(kind, subject, e.event) as unknown as AggregateEnvelope<A>);
    } catch (err) {
      throw this.unreadable(subject, err);
    }
  }

  /** An event read from an aggregate's subject, checked to be one of that aggregate's types. */
  private ofAggregate<A extends AggregateKind>(kind: A, subject: string, e: StoredEvent['event']): AggregateEvent<A> {
    if (!belongsTo(kind, e)) throw new AggregateUnreadableError(`${subject} holds a ${e.type}, which belongs to another aggregate`);
    return e;
  }

  private unreadable(subject: string, err: unknown): unknown {
    if (err instanceof EventDecodeError || err instanceof AggregateUnreadableError) {
      this.logger.error(`${subject} cannot be read, so its commands are refused: ${err.message}`);
      return err instanceof AggregateUnreadableError ? err : new AggregateUnreadableError(err.message, { cause: err });
    }
    return err;
  }

  /** The read models this service projects (readModel()), for the auditor's digests. */
  get readModels(): readonly ReadModel[] {
    return this.models;
  }

  /**
   * The projection of a read model definition (`ReadModel`): the same definition the auditor's
   * replay runs, so the rows it rebuilds are written by this code. A rebuild clears its tables in order.
   */
  readModel(model: ReadModel): ProjectionRunner {
    if (this.models.some((m) => m.name === model.name)) throw new Error(`${this.service} already projects ${model.name}`);
    const runner = this.projection(model.name, this.filterOf(model.kinds), model.apply, {
      applyBatch: model.applyBatch,
      types: model.types,
      critical: model.critical,
      shapeVersion: model.shapeVersion,
      reset: async (em) => {
        for (const t of model.tables) await em.getRepository(t.entity).clear();
      },
    });
    this.models.push(model);
    return runner;
  }

  /** A projection into this service's schema: parks what it cannot apply, registered for health and the operator. */
  projection(name: string, filterSubjects: string[], apply: (em: EntityManager, e: StoredEvent) => Promise<void>, opts: ProjectionOptions = {}): ProjectionRunner {
    return this.register(
      new ProjectionRunner({
        tradeLog: this.tradeLog,
        dataSource: this.db,
        schema: this.service,
        name,
        filterSubjects,
        ...(opts.applyBatch ? { applyBatch: opts.applyBatch } : { apply }),
        reset: opts.reset,
        types: opts.types,
        critical: opts.critical,
        shapeVersion: opts.shapeVersion,
        onError: (err) => this.logger.warn(`projection ${name}: ${(err as Error)?.message ?? String(err)}`),
        onParked: (p) => this.parked(p),
      }),
    );
  }

  /**
   * A durable consumer that parks poison events, registered for health and the operator. What no
   * retry can get past is poison, parked at once: a refusal of the market (DomainError), an event
   * the catalogue refuses, an aggregate that cannot be read.
   */
  async consume(opts: Omit<ConsumeOptions, 'parking' | 'onParked'>): Promise<ConsumerHandle> {
    const handler = opts.handler;
    const handle = await this.tradeLog.consume({
      onError: (err, e) => this.logger.warn(`consumer ${opts.durable}${e ? ` ${e.subject}#${e.seq}` : ''}: ${(err as Error)?.message ?? String(err)}`),
      ...opts,
      handler: async (batch) => {
        try {
          await handler(batch);
        } catch (err) {
          if (err instanceof DomainError || err instanceof EventSchemaError || err instanceof AggregateUnreadableError) {
            throw new PoisonEventError(`${err instanceof DomainError ? `${err.code}: ` : ''}${err.message}`, { cause: err });
          }
          throw err;
        }
      },
      parking: this.parking,
      onParked: (p) => this.parked(p),
    });
    return this.register(handle);
  }

  /** The one log line and metric of a parked event. */
  parked(p: ParkRecord): void {
    this.parkedTotal.inc({ reader: p.reader });
    this.logger.error(
      `PARKED ${p.reader} #${p.seq} ${p.subject}${p.type ? ` (${p.type})` : ''}: ${p.error}. Later events of ${p.key} wait behind it; list: cmd.${this.service}.listParked, re-apply after a fix: cmd.${this.service}.retryParked`,
    );
  }

  // ------------------------------------------------------------------ health

  /** Liveness: false only when a reader gave up (its bounded retries ran out); the supervisor then restarts the service. */
  liveness(): Check {
    const failed = this.readerList.map((r) => r.health()).filter((h) => h.state === 'failed');
    return { up: failed.length === 0, detail: failed.length ? { failed: failed.map((h) => ({ reader: h.reader, error: h.lastError })) } : {} };
  }

  nats(): Check {
    const up = this.natsConnected && !this.tradeLog.nc.isClosed();
    return { up, detail: { server: this.tradeLog.nc.info?.server_id ?? null, version: this.tradeLog.nc.info?.version ?? null } };
  }

  async postgres(timeoutMs: number): Promise<Check> {
    try {
      await withTimeout(this.db.query('SELECT 1'), timeoutMs, 'Postgres did not answer');
      return { up: true, detail: {} };
    } catch (err) {
      return { up: false, detail: { error: (err as Error).message } };
    }
  }

  /**
   * Each reader: running, not retrying, not far behind; and for a critical reader, nothing parked
   * (the service can no longer be correct until an operator re-applies it). Parked events of other
   * readers are reported, and leave the service ready.
   */
  async readersCheck(): Promise<Check> {
    return readersCheckOf(await this.readersReport());
  }

  /** Each reader's health and parked count, read once (one query of the parking lot), with what counts against readiness. */
  async readersReport(): Promise<ReadersReport> {
    const counts = await this.parking.counts().catch(() => undefined);
    const readers = this.readerList.map((r): ReaderReport => {
      const health = r.health();
      const parked = counts === undefined ? null : (counts.get(r.name) ?? 0);
      const problems: string[] = [];
      if (health.state !== 'running') problems.push(health.state);
      if (health.lag > READY_LAG_EVENTS_MAX) problems.push(`lag ${health.lag} > ${READY_LAG_EVENTS_MAX}`);
      if (health.critical && (parked ?? 0) > 0) problems.push(`${parked} parked`);
      return { name: r.name, health, parked, problems };
    });
    return { readers, parkedCounted: counts !== undefined };
  }

  private defineReaderMetrics(): void {
    const healths = (): ReaderHealth[] => this.readerList.map((r) => r.health());
    // one gauge per figure of a reader's health, read at each scrape
    const figures: [name: string, help: string, value: (h: ReaderHealth) => number][] = [
      ['starminer_reader_lag_events', 'Events of the reader filter still to read', (h) => h.lag],
      // 0 when caught up: a quiet market is not a late reader
      ['starminer_reader_lag_seconds', 'While behind: age of the oldest event the reader holds unapplied (else of the last it applied); 0 when caught up', (h) => readerLagSeconds(h, Date.now())],
      ['starminer_reader_position', 'The last stream sequence the reader applied or handled', (h) => h.position],
      ['starminer_reader_up', '1 when the reader is running and not retrying', (h) => (h.state === 'running' ? 1 : 0)],
    ];
    for (const [name, help, value] of figures) {
      new Gauge({
        name,
        help,
        labelNames: ['reader', 'kind'],
        registers: [this.metrics],
        collect() {
          for (const h of healths()) this.set({ reader: h.reader, kind: h.kind }, value(h));
        },
      });
    }
    const parking = this.parking;
    const readers = () => this.readerList;
    new Gauge({
      name: 'starminer_parked_events',
      help: 'Events parked now, per reader (an operator re-applies them after a fix)',
      labelNames: ['reader'],
      registers: [this.metrics],
      async collect() {
        const counts = await parking.counts().catch(() => new Map<string, number>());
        for (const r of readers()) this.set({ reader: r.name }, counts.get(r.name) ?? 0);
      },
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const closed = await this.tradeLog.close().catch((err: Error) => `failed: ${err.message}`);
    if (closed !== 'drained' && closed !== 'already closed') this.logger.warn(`stopping: the trade log's connection ${closed}`);
    await this.db.destroy().catch(() => undefined);
  }
}

/** Readiness' `readers` check of a report: up when no reader has a problem and the parking lot was read. */
export function readersCheckOf(report: ReadersReport): Check {
  const detail: Record<string, unknown> = {};
  for (const { name, health: h, parked, problems } of report.readers) {
    detail[name] = { kind: h.kind, state: h.state, position: h.position, lag: h.lag, parked: parked ?? 0, critical: h.critical, ...(problems.length ? { problems: [...problems] } : {}), ...(h.lastError ? { lastError: h.lastError } : {}) };
  }
  return { up: report.parkedCounted && report.readers.every((r) => r.problems.length === 0), detail };
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}

async function ensureSchema(url: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (err) {
    // two services starting at once may race on the same schema; it exists either way
    if (!/already exists|duplicate key/.test(String(err))) throw err;
  } finally {
    await client.end();
  }
}

/**
 * How far behind a reader is in time: 0 when caught up (a quiet market is not a late reader);
 * while behind, the age of the oldest event it holds unapplied, else of the last it applied (so
 * the first batch after a quiet hour is not reported an hour late). Nothing known: 0, the lag in
 * events still says it.
 */
export function readerLagSeconds(h: Pick<ReaderHealth, 'lag' | 'lastEventAtMs' | 'oldestUnappliedAtMs'>, nowMs: number): number {
  if (h.lag <= 0) return 0;
  const since = h.oldestUnappliedAtMs ?? h.lastEventAtMs;
  return since === undefined ? 0 : Math.max(0, (nowMs - since) / 1000);
}
