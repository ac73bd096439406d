import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import type { DataSource, EntityManager } from 'typeorm';
import { backoffMs, batchesOf } from './batching';
import type { Decode, StoredEvent } from './codec';
import { EventApplyError, EventDecodeError, ProjectionStoppedError, ProjectionTimeoutError, TradeLogArgumentError } from './errors';
import {
  BATCH_LINGER_MS,
  BATCH_MAX_DEFAULT,
  BATCH_MAX_LIMIT,
  MAX_WAITERS,
  PROJECTION_APPLY_MAX_ATTEMPTS,
  PROJECTION_CHECKPOINT_FLUSH_MS,
  PROJECTION_EVENT_ATTEMPTS_MAX,
  PROJECTION_PULL_MIN_MESSAGES,
  PROJECTION_RETRY_BASE_MS,
  PROJECTION_RETRY_MAX_MS,
  PULL_EXPIRES_MS_DEFAULT,
  WAIT_UNTIL_TIMEOUT_MS_DEFAULT,
} from './limits';
import { ParkingLot, parkingKeyOf, typeOfBody, type ParkedEvent, type ParkRecord } from './parking';
import type { ReaderHealth, Reader } from './reader';
import { handlerSpan, traceOf } from './consumer';
import { isTransientDatabaseError } from './transient';
import type { TradeLog } from './trade-log';

export interface ProjectionRunnerOptions {
  readonly tradeLog: TradeLog;
  readonly dataSource: DataSource;
  /** The service's Postgres schema; the checkpoint and parked-event tables live there. */
  readonly schema: string;
  /** The projection's name: its checkpoint row, and the reader its parked events are filed under. */
  readonly name: string;
  readonly filterSubjects: string[];
  /** Defaults to the log's decoder (the catalogue's decodeEvent). */
  readonly decode?: Decode;
  /** Writes one event's rows, inside the batch's transaction. Must not commit, must not call out. */
  readonly apply?: (em: EntityManager, e: StoredEvent) => Promise<void>;
  /**
   * Instead of `apply`: writes a whole batch's rows at once (multi-row INSERT ... ON CONFLICT),
   * for projections where per-event statements are the bottleneck. Gets only the events above
   * the checkpoint, in order, decoded.
   */
  readonly applyBatch?: (em: EntityManager, events: StoredEvent[]) => Promise<void>;
  /**
   * The event types `apply`/`applyBatch` change rows for (none of the others may change one). An
   * event of another type (its message's `type` header, set at append) is skipped undecoded, and a
   * batch of only such events opens no transaction: the checkpoint moves in memory (waiters resolve)
   * and in Postgres lazily (PROJECTION_CHECKPOINT_FLUSH_MS, and at stop). A message without the
   * header is applied as before. Undefined: every event is applied.
   */
  readonly types?: readonly string[];
  /** Deletes the projection's rows, for rebuild(). */
  readonly reset?: (em: EntityManager) => Promise<void>;
  /**
   * The shape of the read model this code writes (1, 2, ...; needs `reset`). Raise it when a change
   * means rows written before it are wrong or missing (a new table, a new column filled from events):
   * a store at a lower version is rebuilt at start (reset and replay, as a fresh service would), once,
   * under the checkpoint lock; one at a higher version (older code) is left alone and reported.
   * Replicas of the older shape must be stopped before one of the new shape starts (a Recreate
   * rollout for a release that raises it): an old replica still applying batches after the reset
   * would move the shared checkpoint past events the rebuild then skips.
   */
  readonly shapeVersion?: number;
  readonly batchMax?: number;
  /** Consecutive failed attempts at a batch (the database away) before the runner stops as 'failed'; 1..PROJECTION_APPLY_MAX_ATTEMPTS. */
  readonly applyMaxAttempts?: number;
  /** Attempts at one event that fails to apply before it is parked; 1..PROJECTION_EVENT_ATTEMPTS_MAX. */
  readonly eventMaxAttempts?: number;
  /**
   * True when the service can no longer be correct with an event of this projection parked (money:
   * a funds check, a ledger): readiness then turns red until an operator re-applies it.
   */
  readonly critical?: boolean;
  /** Told about failed batch attempts (defaults to console.warn). */
  readonly onError?: (err: unknown) => void;
  /** Told about every event it parked, once the park is committed (defaults to onError). */
  readonly onParked?: (parked: ParkRecord) => void;
}

type Status = 'idle' | 'running' | 'stopping' | 'failed';

interface Waiter {
  readonly seq: number;
  resolve(): void;
  reject(err: Error): void;
}

interface RawMessage {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly redelivered: boolean;
  readonly trace?: StoredEvent['trace'];
  /** The message's `type` header (the event's type, set at append); undefined for a message without it. */
  readonly type?: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const SAVEPOINT = 'starminer_apply';

/**
 * Applies the events of `filterSubjects` to a service's own Postgres schema. The checkpoint (the
 * last stream sequence applied) is kept in `<schema>.projection_checkpoint`, and it, not the NATS
 * consumer, is the truth: each run reads it and starts an ordered consumer at checkpoint + 1.
 *
 * Each batch is ONE transaction: lock the checkpoint row, apply every event above it, write the
 * new checkpoint, commit. So rows and checkpoint move together (a crash mid-batch leaves neither),
 * and an event at or below the checkpoint (a redelivery, a second replica) changes nothing.
 * Batching is what makes it fast: one transaction per event caps Postgres near 1.8k rows/s on this
 * machine, batches of 100 reach about 24k/s (see docs/BENCHMARKS.md).
 *
 * A projection that writes rows for a few of the types it reads says which (`types`): the others
 * are skipped by their message's `type` header, undecoded, and a batch of only those opens no
 * transaction at all (its checkpoint is stored lazily, never moved back), so a quiet log of one
 * event at a time costs a transaction only for the events that change something.
 *
 * No single event stops it. A batch that fails for a reason of the database (connection,
 * deadlock) is retried whole with backoff; one that fails for a reason of an event is run again
 * with a savepoint around each event, which finds the event; after `eventMaxAttempts` that event
 * is parked (`ParkingLot`) with its error, later events of the same aggregate are parked behind
 * it, and everything else is applied. `retryParked(key)` re-applies them in order after a fix.
 */
export class ProjectionRunner implements Reader {
  readonly kind = 'projection';
  readonly parking: ParkingLot;
  private readonly opts: ProjectionRunnerOptions;
  private readonly decode: Decode;
  private readonly batchMax: number;
  private readonly applyMaxAttempts: number;
  private readonly eventMaxAttempts: number;
  private readonly table: string;
  private readonly onError: (err: unknown) => void;
  /** ProjectionRunnerOptions.types as a set; undefined: every event is relevant. */
  private readonly types?: ReadonlySet<string>;
  private status: Status = 'idle';
  private checkpointSeq = 0;
  /** The highest checkpoint this runner knows is stored (read at start, committed, or flushed). */
  private storedSeq = 0;
  /** When the checkpoint moved past skipped events was last written to Postgres (PROJECTION_CHECKPOINT_FLUSH_MS). */
  private flushedAtMs = 0;
  private pending = 0;
  private lastEventAtMs?: number;
  private oldestUnappliedAtMs?: number;
  private retrying = false;
  private lastError?: string;
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;
  private failureError?: Error;
  private waiters: Waiter[] = [];
  /** Failed attempts of events that failed to apply on their own, by seq (until they apply or park). */
  private readonly eventFailures = new Map<number, number>();
  /** Resolved by stop(): ends a backoff pause at once. */
  private wakeUp: Promise<void> = Promise.resolve();
  private wake: () => void = () => undefined;
  private readonly counters = { batches: 0, applied: 0, skipped: 0, ignored: 0, parked: 0 };

  constructor(opts: ProjectionRunnerOptions) {
    if (!IDENTIFIER.test(opts.schema)) throw new TradeLogArgumentError(`schema '${opts.schema}' must match ${IDENTIFIER}`);
    if (opts.name.length === 0 || opts.name.length > 200) throw new TradeLogArgumentError('projection name must be 1-200 characters');
    const batchMax = opts.batchMax ?? BATCH_MAX_DEFAULT;
    if (!Number.isInteger(batchMax) || batchMax < 1 || batchMax > BATCH_MAX_LIMIT) throw new TradeLogArgumentError(`batchMax must be 1..${BATCH_MAX_LIMIT}`);
    const attempts = opts.applyMaxAttempts ?? PROJECTION_APPLY_MAX_ATTEMPTS;
    if (!Number.isInteger(attempts) || attempts < 1 || attempts > PROJECTION_APPLY_MAX_ATTEMPTS) {
      throw new TradeLogArgumentError(`applyMaxAttempts must be 1..${PROJECTION_APPLY_MAX_ATTEMPTS}`);
    }
    const eventAttempts = opts.eventMaxAttempts ?? PROJECTION_EVENT_ATTEMPTS_MAX;
    if (!Number.isInteger(eventAttempts) || eventAttempts < 1 || eventAttempts > PROJECTION_EVENT_ATTEMPTS_MAX) {
      throw new TradeLogArgumentError(`eventMaxAttempts must be 1..${PROJECTION_EVENT_ATTEMPTS_MAX}`);
    }
    this.applyMaxAttempts = attempts;
    this.eventMaxAttempts = eventAttempts;
    if ((opts.apply === undefined) === (opts.applyBatch === undefined)) throw new TradeLogArgumentError('give exactly one of apply and applyBatch');
    if (opts.types !== undefined && opts.types.length === 0) throw new TradeLogArgumentError('types, when given, must name at least one event type');
    this.types = opts.types === undefined ? undefined : new Set(opts.types);
    opts.tradeLog.filterFor(opts.filterSubjects);
    this.opts = opts;
    this.decode = opts.decode ?? opts.tradeLog.decode;
    this.batchMax = batchMax;
    this.table = `"${opts.schema}".projection_checkpoint`;
    this.parking = new ParkingLot(opts.dataSource, opts.schema);
    this.onError = opts.onError ?? ((err: unknown) => console.warn(`[projection ${opts.name}]`, err));
  }

  get name(): string {
    return this.opts.name;
  }

  get critical(): boolean {
    return this.opts.critical ?? false;
  }

  /** The last stream sequence this runner has committed. */
  get checkpoint(): number {
    return this.checkpointSeq;
  }

  /** 'idle' (not started or stopped), 'running', 'stopping', or 'failed' (see `failure`): for health checks. */
  get state(): Status {
    return this.status;
  }

  /** Why the runner stopped on its own, when it did. */
  get failure(): Error | undefined {
    return this.failureError;
  }

  /**
   * What this instance has done since it was created: committed batches, events applied, skipped
   * (already applied), ignored (a type outside `types`: not decoded, nothing to write), parked.
   */
  get stats(): Readonly<{ batches: number; applied: number; skipped: number; ignored: number; parked: number }> {
    return { ...this.counters };
  }

  health(): ReaderHealth {
    return {
      reader: this.opts.name,
      kind: this.kind,
      state: this.status === 'running' && this.retrying ? 'retrying' : this.status,
      position: this.checkpointSeq,
      lag: this.pending,
      ...(this.lastEventAtMs === undefined ? {} : { lastEventAtMs: this.lastEventAtMs }),
      ...(this.oldestUnappliedAtMs === undefined ? {} : { oldestUnappliedAtMs: this.oldestUnappliedAtMs }),
      critical: this.critical,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  /** Creates the checkpoint and parking tables if needed, reads the checkpoint, and starts applying. */
  async start(): Promise<void> {
    if (this.status === 'running') return;
    await this.ensureTable();
    await this.parking.ensureTable();
    await this.upgradeShape();
    this.checkpointSeq = await this.readCheckpoint();
    this.storedSeq = this.checkpointSeq;
    this.flushedAtMs = Date.now();
    this.failureError = undefined;
    this.wakeUp = new Promise<void>((resolve) => (this.wake = resolve));
    this.status = 'running';
    this.loop = this.run();
  }

  /** Stops consuming; the batch in hand commits (or rolls back) first. */
  async stop(): Promise<void> {
    if (this.status !== 'running') return;
    this.status = 'stopping';
    this.wake();
    // Not awaited: close() only settles once the iterator reaches its end marker, which it never
    // does if the loop breaks out first after a batch; the subscription is gone either way.
    void this.messages?.close().catch(() => undefined);
    await this.loop;
    // the checkpoint moved over skipped events since the last flush: stored now, so a restart replays none of them
    await this.flushCheckpoint();
    this.status = 'idle';
    this.rejectWaiters(new ProjectionStoppedError(this.opts.name, 'stopped'));
  }

  /** Resolves once the checkpoint reaches `seq` (read-your-writes after an append). */
  waitUntil(seq: number, timeoutMs = WAIT_UNTIL_TIMEOUT_MS_DEFAULT): Promise<void> {
    if (this.checkpointSeq >= seq) return Promise.resolve();
    if (this.status === 'failed') return Promise.reject(this.failureError ?? new ProjectionStoppedError(this.opts.name, 'failed'));
    if (this.status !== 'running') return Promise.reject(new ProjectionStoppedError(this.opts.name, `not running (${this.status})`));
    if (this.waiters.length >= MAX_WAITERS) return Promise.reject(new TradeLogArgumentError(`more than ${MAX_WAITERS} waiters on ${this.opts.name}`));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new ProjectionTimeoutError(this.opts.name, seq, this.checkpointSeq, timeoutMs));
      }, timeoutMs);
      const waiter: Waiter = {
        seq,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * Drops the read model (through `reset`) and replays the log from sequence 1, in the same way
   * a fresh service would. reset, the parked events and the checkpoint's return to 0 commit together.
   */
  async rebuild(): Promise<void> {
    const reset = this.opts.reset;
    if (!reset) throw new TradeLogArgumentError(`projection ${this.opts.name} has no reset callback, so it cannot rebuild`);
    const wasRunning = this.status === 'running';
    await this.stop();
    await this.ensureTable();
    await this.parking.ensureTable();
    await this.opts.dataSource.transaction(async (em) => {
      await this.lockCheckpoint(em);
      await reset(em);
      await em.query(`DELETE FROM ${this.parking.table} WHERE reader = $1`, [this.opts.name]);
      await em.query(`UPDATE ${this.table} SET last_seq = 0 WHERE name = $1`, [this.opts.name]);
    });
    this.checkpointSeq = 0;
    this.storedSeq = 0;
    if (wasRunning) await this.start();
  }

  /**
   * Re-applies the parked events of one key in log order (after a fix: new code, an upcaster, a
   * repaired row), each read again from the stream. It stops at the first that still fails, which
   * stays parked with its new error, and so do the ones behind it. Serialised with the batches of
   * every replica by the checkpoint lock.
   */
  async retryParked(key: string): Promise<{ applied: number; stillParked: ParkedEvent[] }> {
    await this.parking.ensureTable();
    const jsm = await this.opts.tradeLog.jsm();
    let applied = 0;
    const stillParked = await this.opts.dataSource.transaction(async (em) => {
      await this.lockCheckpoint(em);
      const parked = await this.parking.takeKey(em, this.opts.name, key);
      for (const p of parked) {
        const m = await jsm.streams.getMessage(this.opts.tradeLog.streamName, { seq: p.seq });
        if (!m) throw new TradeLogArgumentError(`parked event #${p.seq} is not in the stream any more`);
        await em.query(`SAVEPOINT ${SAVEPOINT}`);
        try {
          const event = this.opts.tradeLog.decodeAt(p.seq, m.data, this.decode);
          await this.applyOne(em, { seq: p.seq, subject: p.subject, event, redelivered: true });
          await em.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
        } catch (err) {
          if (isTransientDatabaseError(err)) throw err;
          await em.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
          await this.parking.recordFailure(em, this.opts.name, p.seq, describe(err));
          break;
        }
        await this.parking.remove(em, this.opts.name, p.seq);
        applied += 1;
      }
      return this.parking.takeKey(em, this.opts.name, key);
    });
    return { applied, stillParked };
  }

  private async run(): Promise<void> {
    const log = this.opts.tradeLog;
    let failures = 0;
    while (this.status === 'running') {
      try {
        const consumer = await log.js.consumers.get(log.streamName, {
          filter_subjects: log.filterFor(this.opts.filterSubjects),
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: this.checkpointSeq + 1,
        });
        // Pull more than one transaction's worth: with batchMax 1 a pull per event would measure
        // round trips to NATS, not Postgres. Ordered consumers need no acks, so buffering is cheap.
        this.messages = await consumer.consume({ max_messages: Math.max(this.batchMax, PROJECTION_PULL_MIN_MESSAGES), expires: PULL_EXPIRES_MS_DEFAULT });
        if (this.status !== 'running') void this.messages.close().catch(() => undefined);
        for await (const batch of batchesOf(this.messages, this.batchMax, BATCH_LINGER_MS)) {
          this.pending = batch[batch.length - 1].info.pending;
          this.oldestUnappliedAtMs = batch[0].info.timestampNanos / 1e6;
          await this.applyWithRetry(batch.map((m) => ({ seq: m.seq, subject: m.subject, data: m.data, redelivered: m.redelivered, ...traceOf(m), ...typeOf(m) })));
          this.lastEventAtMs = batch[batch.length - 1].info.timestampNanos / 1e6;
          this.oldestUnappliedAtMs = undefined;
          failures = 0;
          if (this.status !== 'running') break;
        }
        // The iterator ended without being asked to: start again from the checkpoint, after a pause.
        if (this.status === 'running') throw new Error('the ordered consumer ended');
      } catch (err) {
        if (this.status !== 'running') break;
        if (err instanceof ProjectionStoppedError) {
          this.fail(err);
          break;
        }
        failures += 1;
        this.onError(err);
        if (failures >= PROJECTION_APPLY_MAX_ATTEMPTS) {
          this.fail(new ProjectionStoppedError(this.opts.name, `the consumer failed ${failures} times in a row`, { cause: err }));
          break;
        }
        void this.messages?.close().catch(() => undefined);
        await this.pause(backoffMs(failures, PROJECTION_RETRY_BASE_MS, PROJECTION_RETRY_MAX_MS));
      }
    }
  }

  private async applyWithRetry(batch: RawMessage[]): Promise<void> {
    if (!batch.some((m) => this.relevant(m))) {
      await this.skipBatch(batch);
      return;
    }
    let isolate = false;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const cp = await this.applyBatch(batch, isolate);
        this.retrying = false;
        this.lastError = undefined;
        this.advance(cp);
        return;
      } catch (err) {
        this.lastError = describe(err);
        if (err instanceof EventApplyError) {
          // One event failed on its own and will be tried again, then parked: the attempts are
          // counted per event (bounded by eventMaxAttempts), not against the batch.
          this.onError(err);
          attempt -= 1;
          await this.pause(backoffMs(err.attempts, PROJECTION_RETRY_BASE_MS, PROJECTION_RETRY_MAX_MS));
          if (this.status !== 'running') throw err;
          continue;
        }
        if (!isolate && !isTransientDatabaseError(err)) {
          // Some event of the batch fails on its own: run it again, each event in a savepoint, to
          // find which (not an attempt of the batch: the database is fine).
          isolate = true;
          attempt -= 1;
          continue;
        }
        this.retrying = true;
        this.onError(err);
        if (attempt >= this.applyMaxAttempts) {
          throw new ProjectionStoppedError(this.opts.name, `a batch ending at ${batch.at(-1)?.seq} failed ${attempt} times`, { cause: err });
        }
        if (this.status !== 'running') throw err;
        await this.pause(backoffMs(attempt, PROJECTION_RETRY_BASE_MS, PROJECTION_RETRY_MAX_MS));
        if (this.status !== 'running') throw err;
      }
    }
  }

  /** A backoff that stop() cuts short. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = this.wakeUp;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      wake.then(done, done);
    });
  }

  /** Whether an event may change this projection's rows: its type among `types` (or no `types`, or no type header). */
  private relevant(m: RawMessage): boolean {
    return this.types === undefined || m.type === undefined || this.types.has(m.type);
  }

  /**
   * A batch none of whose events changes a row: no transaction, no decoding. The checkpoint moves
   * in memory (waiters resolve: the rows are as they would be after the batch), and in Postgres at
   * most once per PROJECTION_CHECKPOINT_FLUSH_MS. Every relevant event before the batch is committed
   * (batches run in order), so the stored checkpoint may be raised past it by any replica.
   */
  private async skipBatch(batch: RawMessage[]): Promise<void> {
    this.counters.ignored += batch.length;
    this.advance(batch[batch.length - 1].seq);
    if (Date.now() - this.flushedAtMs >= PROJECTION_CHECKPOINT_FLUSH_MS) await this.flushCheckpoint();
  }

  /**
   * Raises the stored checkpoint to the one in memory, never lowering it (another replica may have
   * moved it further). A failure is only reported: the stored checkpoint is behind, and a restart
   * skips those events again.
   */
  private async flushCheckpoint(): Promise<void> {
    if (this.checkpointSeq <= this.storedSeq) return;
    const seq = this.checkpointSeq;
    this.flushedAtMs = Date.now();
    try {
      await this.opts.dataSource.query(`UPDATE ${this.table} SET last_seq = $2 WHERE name = $1 AND last_seq < $2`, [this.opts.name, seq]);
      this.storedSeq = Math.max(this.storedSeq, seq);
    } catch (err) {
      this.onError(err);
    }
  }

  private async applyOne(em: EntityManager, stored: StoredEvent): Promise<void> {
    await handlerSpan(this.opts.tradeLog, this.opts.name, [stored], async () => {
      if (this.opts.apply) await this.opts.apply(em, stored);
      else await this.opts.applyBatch!(em, [stored]);
    });
  }

  /**
   * One transaction: lock the checkpoint, apply what is above it (parking what cannot be applied,
   * and what waits behind a parked event of its key), move the checkpoint. Returns the new checkpoint.
   * `isolate` runs each event in a savepoint, so one that fails is found, counted, and at last parked.
   */
  private async applyBatch(batch: RawMessage[], isolate: boolean): Promise<number> {
    const tally = { applied: 0, skipped: 0, ignored: 0, parked: 0 };
    const reader = this.opts.name;
    const parkedNow: ParkRecord[] = [];
    const last = await this.opts.dataSource.transaction(async (em) => {
      const current = await this.lockCheckpoint(em);
      const fresh = batch.filter((m) => m.seq > current);
      tally.skipped = batch.length - fresh.length; // already applied: a redelivery, or another replica got here first
      const blocked = await this.parking.blockedAmong(em, reader, fresh.filter((m) => this.relevant(m)).map((m) => parkingKeyOf(m.subject)));
      const park = async (m: RawMessage, error: string, blockedBy: number | null, attempts: number): Promise<void> => {
        const key = parkingKeyOf(m.subject);
        const record: ParkRecord = { reader, seq: m.seq, subject: m.subject, type: typeOfBody(m.data), key, error, blockedBy, attempts };
        await this.parking.park(em, record);
        if (!blocked.has(key)) blocked.set(key, m.seq);
        tally.parked += 1;
        parkedNow.push(record);
      };
      let seq = current;
      const decoded: StoredEvent[] = [];
      for (const m of fresh) {
        seq = m.seq;
        if (!this.relevant(m)) {
          // A type that changes no row: not decoded, not applied. Behind a parked event of its key it
          // is not parked either: applied after that event's fix it would change nothing, so there is
          // nothing to re-apply (the checkpoint passes it as any other).
          tally.ignored += 1;
          continue;
        }
        const waitsBehind = blocked.get(parkingKeyOf(m.subject));
        if (waitsBehind !== undefined) {
          await park(m, `waits behind parked event #${waitsBehind} of the same aggregate`, waitsBehind, 0);
          continue;
        }
        let event;
        try {
          event = this.opts.tradeLog.decodeAt(m.seq, m.data, this.decode);
        } catch (cause) {
          // An event the catalogue refuses will never apply as it is: parked at once.
          await park(m, new EventDecodeError(m.subject, m.seq, { cause }).message, null, 1);
          continue;
        }
        const stored: StoredEvent = { seq: m.seq, subject: m.subject, event, redelivered: m.redelivered, ...(m.trace ? { trace: m.trace } : {}) };
        if (!isolate) {
          if (this.opts.apply) await handlerSpan(this.opts.tradeLog, reader, [stored], () => this.opts.apply!(em, stored));
          else decoded.push(stored);
          tally.applied += 1;
          continue;
        }
        await em.query(`SAVEPOINT ${SAVEPOINT}`);
        try {
          await this.applyOne(em, stored);
          await em.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
          this.eventFailures.delete(m.seq);
          tally.applied += 1;
        } catch (err) {
          if (isTransientDatabaseError(err)) throw err;
          await em.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
          const attempts = (this.eventFailures.get(m.seq) ?? 0) + 1;
          if (attempts < this.eventMaxAttempts) {
            this.eventFailures.set(m.seq, attempts);
            throw new EventApplyError(m.subject, m.seq, attempts, { cause: err });
          }
          this.eventFailures.delete(m.seq);
          await park(m, describe(err), null, attempts);
        }
      }
      if (this.opts.applyBatch && decoded.length > 0) await handlerSpan(this.opts.tradeLog, reader, decoded, () => this.opts.applyBatch!(em, decoded));
      if (seq !== current) await em.query(`UPDATE ${this.table} SET last_seq = $2 WHERE name = $1`, [this.opts.name, seq]);
      return seq;
    });
    // counted and told only once the transaction committed
    this.storedSeq = Math.max(this.storedSeq, last);
    this.counters.batches += 1;
    this.counters.applied += tally.applied;
    this.counters.skipped += tally.skipped;
    this.counters.ignored += tally.ignored;
    this.counters.parked += tally.parked;
    for (const record of parkedNow) {
      if (this.opts.onParked) this.opts.onParked(record);
      else this.onError(new Error(`projection ${reader} parked #${record.seq} ${record.subject}: ${record.error}`));
    }
    return last;
  }

  private async lockCheckpoint(em: EntityManager): Promise<number> {
    const rows = (await em.query(`SELECT last_seq FROM ${this.table} WHERE name = $1 FOR UPDATE`, [this.opts.name])) as { last_seq: string }[];
    if (rows.length === 0) throw new ProjectionStoppedError(this.opts.name, 'checkpoint row is missing');
    return Number(rows[0].last_seq);
  }

  private async ensureTable(): Promise<void> {
    // Replicas of a service start together; CREATE ... IF NOT EXISTS still races in Postgres
    // (a unique violation on pg_type), so the DDL runs under a transaction-scoped advisory lock.
    await this.opts.dataSource.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`starminer.projection_checkpoint.${this.opts.schema}`]);
      await em.query(`CREATE SCHEMA IF NOT EXISTS "${this.opts.schema}"`);
      await em.query(`CREATE TABLE IF NOT EXISTS ${this.table} (name text PRIMARY KEY, last_seq bigint NOT NULL)`);
      // the read model's shape (ProjectionRunnerOptions.shapeVersion); 0 for stores written before it existed
      await em.query(`ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS shape_version int NOT NULL DEFAULT 0`);
      await em.query(`INSERT INTO ${this.table} (name, last_seq) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING`, [this.opts.name]);
    });
  }

  /**
   * Rebuilds a store written by an older shape of this projection (see `shapeVersion`): reset,
   * parked events dropped, checkpoint 0 and the new version commit together, so a crash leaves
   * the old store (rebuilt on the next start) or the new one.
   */
  private async upgradeShape(): Promise<void> {
    const version = this.opts.shapeVersion;
    if (version === undefined) return;
    const reset = this.opts.reset;
    if (!reset) throw new TradeLogArgumentError(`projection ${this.opts.name} has a shapeVersion but no reset callback, so it cannot rebuild`);
    await this.opts.dataSource.transaction(async (em) => {
      await this.lockCheckpoint(em);
      const rows = (await em.query(`SELECT shape_version FROM ${this.table} WHERE name = $1`, [this.opts.name])) as { shape_version: number }[];
      const stored = rows[0]?.shape_version ?? 0;
      if (stored > version) {
        this.onError(new Error(`projection ${this.opts.name}: the store is at shape ${stored}, this code writes shape ${version}; left as it is`));
        return;
      }
      if (stored === version) return;
      await reset(em);
      await em.query(`DELETE FROM ${this.parking.table} WHERE reader = $1`, [this.opts.name]);
      await em.query(`UPDATE ${this.table} SET last_seq = 0, shape_version = $2 WHERE name = $1`, [this.opts.name, version]);
    });
  }

  private async readCheckpoint(): Promise<number> {
    const rows = (await this.opts.dataSource.query(`SELECT last_seq FROM ${this.table} WHERE name = $1`, [this.opts.name])) as { last_seq: string }[];
    return rows.length ? Number(rows[0].last_seq) : 0;
  }

  private advance(seq: number): void {
    if (seq <= this.checkpointSeq) return;
    this.checkpointSeq = seq;
    const ready = this.waiters.filter((w) => w.seq <= seq);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.seq > seq);
    for (const w of ready) w.resolve();
  }

  private fail(err: Error): void {
    this.status = 'failed';
    this.failureError = err;
    this.lastError = describe(err);
    this.onError(err);
    void this.messages?.close().catch(() => undefined);
    this.rejectWaiters(err);
  }

  private rejectWaiters(err: Error): void {
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) w.reject(err);
  }
}

/** A message's `type` header as a RawMessage field (absent, or empty: none). */
function typeOf(m: { headers?: { get(k: string): string } }): { type?: string } {
  const type = m.headers?.get('type');
  return type ? { type } : {};
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
