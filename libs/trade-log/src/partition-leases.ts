import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { StreamConfigError, TradeLogArgumentError } from './errors';
import {
  assertLeaseTiming,
  decideLease,
  decodeLeaseRecord,
  encodeLeaseRecord,
  isLeaseName,
  LEASE_CLOCK_SKEW_MS_DEFAULT,
  LEASE_RENEW_DIVISOR,
  LEASE_TTL_MS_DEFAULT,
  leaseDeadlineMs,
  type LeaseLossReason,
  type LeaseRecord,
  type LeaseTiming,
  type LeaseWish,
} from './lease';
import { PUBLISH_TIMEOUT_MS, TRADE_STREAM_REPLICAS_MAX } from './limits';

/** The stream of every lease group (one subject per partition); its name is per run in tests. */
export const LEASE_STREAM = 'LEASES';
export const LEASE_SUBJECT_PREFIX = 'lease';
/** Records kept per partition subject: the last one decides, the few before it tell an operator who held it. */
export const LEASE_HISTORY_PER_SUBJECT = 8;
/** Partitions one replica may run: every one is read and written on its own, so keep the list short. */
export const LEASE_PARTITIONS_MAX = 64;
/** Peers a replica counts for balancing; heartbeats from more are ignored (the quota only gets larger). */
export const LEASE_REPLICAS_MAX = 256;
/** Reads and writes of one partition's record in one step: a lost race re-reads, this many times at most. */
export const LEASE_WRITE_ATTEMPTS_MAX = 3;
/** After a failed renewal (a timeout, NATS away) the next try comes after renewInterval / this. */
export const LEASE_RENEW_RETRY_DIVISOR = 4;

/** Why a replica stopped holding a partition: the decider's refusals, the loss timer, or its own choice. */
export type PartitionLossReason = LeaseLossReason | 'shed' | 'stopped';

export interface PartitionLeasesOptions {
  /** The replica's connection; the leases use their own JetStream clients on it. */
  readonly nc: NatsConnection;
  /** Unique per running process (two processes with one id would both believe they hold a lease). */
  readonly replicaId: string;
  /** What is partitioned, e.g. `matching`; one subject token. */
  readonly group: string;
  /** The partitions this replica may run (every replica of the group is given the same list). */
  readonly partitions: readonly string[];
  readonly streamName?: string;
  readonly subjectPrefix?: string;
  /** Copies of the lease stream (1 on one server, 3 on a cluster), set when it is created. */
  readonly streamReplicas?: number;
  readonly ttlMs?: number;
  readonly skewMs?: number;
  /** Default: TTL / LEASE_RENEW_DIVISOR. */
  readonly renewIntervalMs?: number;
  /**
   * Take at most ceil(partitions / live replicas), shedding the rest (default true). Replicas learn
   * each other from heartbeats on `<prefix>.<group>.replica.<id>` (core NATS, not stored).
   */
  readonly balance?: boolean;
  /** The wall clock (ms since the epoch); tests pass their own. */
  readonly now?: () => number;
  /** This replica now holds `partition` under `epoch` (the fencing token for its writes). */
  readonly onAcquired?: (partition: string, epoch: number) => void;
  /** This replica must stop writing for `partition` under `epoch`: it may be taken by another. */
  readonly onLost?: (partition: string, epoch: number, reason: PartitionLossReason) => void;
  /** A read or write failed (NATS away, a record nobody can read); the replica goes on. */
  readonly onError?: (err: unknown, partition?: string) => void;
}

/** A lease this replica holds: the record it wrote last, at which sequence, and until when it may act. */
interface Held {
  readonly epoch: number;
  record: LeaseRecord;
  seq: number;
  /** record.expiresAtMs - skew: past it the replica has lost the lease, renewed or not. */
  deadlineMs: number;
  renewDueAtMs: number;
  timer: NodeJS.Timeout;
}

interface Slot {
  readonly partition: string;
  readonly subject: string;
  held?: Held;
  /** When a replica under its quota reads this partition again (the holder's end; 0: now). */
  retryAtMs: number;
}

class WrongLastSequence extends Error {}

/**
 * One replica's leases on the partitions of a group, so that each partition has one active writer.
 * Every partition's lease is a record on `<prefix>.<group>.partition.<p>` in the lease stream; a
 * write expects the subject's last sequence it read (0: none), so of two replicas racing for one
 * partition exactly one wins and the other re-reads. Held leases are renewed every renewIntervalMs;
 * each has a loss timer at expiresAt - skew that ends it locally whatever NATS does, before any
 * other replica may take it (at expiresAt + skew). release() gives everything back at once.
 *
 * Usage: `const leases = new PartitionLeases({...}); await leases.start();` ... `await leases.release()`.
 */
export class PartitionLeases {
  readonly replicaId: string;
  readonly group: string;
  readonly streamName: string;
  readonly subjectPrefix: string;
  readonly timing: LeaseTiming;
  readonly renewIntervalMs: number;
  private readonly nc: NatsConnection;
  private readonly js: JetStreamClient;
  private jsm?: JetStreamManager;
  private readonly now: () => number;
  private readonly balance: boolean;
  private readonly streamReplicas: number;
  /** In preference order: rotated by the replica id, so replicas starting together want different partitions first. */
  private readonly slots: Slot[];
  private readonly bySubject = new Map<string, Slot>();
  /** Peer replica id -> local time until which it counts as live (its last heartbeat + TTL). */
  private readonly peers = new Map<string, number>();
  private readonly subs: Subscription[] = [];
  private timer?: NodeJS.Timeout;
  private timerAtMs = Infinity;
  private ticking?: Promise<void>;
  private tickAgain = false;
  private heartbeatDueAtMs = 0;
  /** No more ticks: release() or abandon() was called. */
  private stopped = false;
  /** abandon(): a write that lands after it is not taken up either. */
  private abandoned = false;
  private started = false;
  /** Set once start() has listened for peers: no tick runs before. */
  private ready = false;

  constructor(private readonly opts: PartitionLeasesOptions) {
    for (const [what, name] of [
      ['replica id', opts.replicaId],
      ['group', opts.group],
    ] as const) {
      if (!isLeaseName(name)) throw new TradeLogArgumentError(`${what} '${name}' must be one subject token of [A-Za-z0-9_-]`);
    }
    if (opts.partitions.length === 0 || opts.partitions.length > LEASE_PARTITIONS_MAX) {
      throw new TradeLogArgumentError(`a replica runs 1 to ${LEASE_PARTITIONS_MAX} partitions, not ${opts.partitions.length}`);
    }
    if (new Set(opts.partitions).size !== opts.partitions.length) throw new TradeLogArgumentError('partitions are listed twice');
    for (const p of opts.partitions) {
      if (!isLeaseName(p)) throw new TradeLogArgumentError(`partition '${p}' must be one subject token of [A-Za-z0-9_-]`);
    }
    this.timing = { ttlMs: opts.ttlMs ?? LEASE_TTL_MS_DEFAULT, skewMs: opts.skewMs ?? LEASE_CLOCK_SKEW_MS_DEFAULT };
    this.renewIntervalMs = opts.renewIntervalMs ?? Math.floor(this.timing.ttlMs / LEASE_RENEW_DIVISOR);
    assertLeaseTiming(this.timing, this.renewIntervalMs);
    this.streamReplicas = opts.streamReplicas ?? 1;
    if (!Number.isInteger(this.streamReplicas) || this.streamReplicas < 1 || this.streamReplicas > TRADE_STREAM_REPLICAS_MAX) {
      throw new TradeLogArgumentError(`stream replicas must be an integer from 1 to ${TRADE_STREAM_REPLICAS_MAX}`);
    }
    this.replicaId = opts.replicaId;
    this.group = opts.group;
    this.streamName = opts.streamName ?? LEASE_STREAM;
    this.subjectPrefix = opts.subjectPrefix ?? LEASE_SUBJECT_PREFIX;
    this.nc = opts.nc;
    this.now = opts.now ?? Date.now;
    this.balance = opts.balance ?? true;
    // A request that takes longer than a renew interval is as good as failed: the next one is due.
    this.js = jetstream(opts.nc, { timeout: Math.min(PUBLISH_TIMEOUT_MS, this.renewIntervalMs) });
    const start = hashOf(opts.replicaId) % opts.partitions.length;
    const ordered = [...opts.partitions.slice(start), ...opts.partitions.slice(0, start)];
    this.slots = ordered.map((partition) => ({ partition, subject: this.subjectOf(partition), retryAtMs: 0 }));
    for (const s of this.slots) this.bySubject.set(s.subject, s);
  }

  /** Creates the lease stream if it is missing (idempotent), checks it, and starts taking leases. */
  async start(): Promise<void> {
    if (this.started) throw new TradeLogArgumentError('start() was called already');
    this.started = true;
    this.jsm = await jetstreamManager(this.nc, { timeout: Math.min(PUBLISH_TIMEOUT_MS, this.renewIntervalMs) });
    await ensureLeaseStream(this.jsm, { streamName: this.streamName, subjectPrefix: this.subjectPrefix, replicas: this.streamReplicas });
    const records = `${this.subjectPrefix}.${this.group}.partition.*`;
    this.subs.push(
      this.nc.subscribe(records, {
        callback: (err, msg) => {
          if (!err) this.onRecordSeen(msg.subject, msg.data);
        },
      }),
    );
    if (this.balance) {
      const beats = `${this.subjectPrefix}.${this.group}.replica.*`;
      this.subs.push(
        this.nc.subscribe(beats, {
          callback: (err, msg) => {
            if (!err) this.onHeartbeat(msg.data);
          },
        }),
      );
      // Hear the peers that are up already before taking anything (they beat once per renew interval).
      this.heartbeat(false);
      this.heartbeatDueAtMs = this.now() + this.renewIntervalMs;
      await new Promise((resolve) => setTimeout(resolve, this.renewIntervalMs));
    }
    this.ready = true;
    await this.runTick();
  }

  /** Whether this replica holds `partition` now (its local deadline not passed). */
  holds(partition: string): boolean {
    return this.leaseOf(partition) !== undefined;
  }

  /** The epoch (fencing token) under which this replica holds `partition`, or undefined. */
  epochOf(partition: string): number | undefined {
    return this.leaseOf(partition)?.epoch;
  }

  /** The lease held on `partition`: its epoch and the local time at which it ends unless renewed. */
  leaseOf(partition: string): { readonly epoch: number; readonly deadlineMs: number } | undefined {
    const h = this.slots.find((s) => s.partition === partition)?.held;
    if (!h || this.now() >= h.deadlineMs) return undefined;
    return { epoch: h.epoch, deadlineMs: h.deadlineMs };
  }

  /** The partitions this replica holds now. */
  heldPartitions(): string[] {
    return this.slots.filter((s) => this.holds(s.partition)).map((s) => s.partition);
  }

  /** Replicas this one counts (itself included) for its quota. */
  liveReplicas(): number {
    const now = this.now();
    let live = 1;
    for (const [id, until] of this.peers) {
      if (until < now) this.peers.delete(id);
      else live += 1;
    }
    return live;
  }

  /** How many partitions this replica may hold: all of them, or its share of the live replicas. */
  quota(): number {
    return this.balance ? Math.ceil(this.slots.length / this.liveReplicas()) : this.slots.length;
  }

  /**
   * Shutdown: stops, ends every lease locally (onLost 'stopped'), then writes each as released so
   * another replica takes it at once, and says it is leaving. A write that fails leaves the lease
   * to expire (TTL + skew). Nothing is taken afterwards.
   */
  async release(): Promise<void> {
    if (this.stopped) return;
    this.stop();
    await this.ticking;
    if (this.balance) this.heartbeat(true);
    await Promise.all(this.slots.filter((s) => s.held).map((s) => this.giveBack(s, 'stopped')));
    for (const s of this.subs) s.unsubscribe();
  }

  /**
   * Stops at once without writing anything or calling back: what a crash (kill -9) leaves behind.
   * The records stand until they expire. For tests, and for a process that is going away anyway.
   */
  abandon(): void {
    this.stop();
    this.abandoned = true;
    for (const s of this.slots) {
      if (s.held) clearTimeout(s.held.timer);
      s.held = undefined;
    }
    for (const s of this.subs) s.unsubscribe();
  }

  private stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private subjectOf(partition: string): string {
    return `${this.subjectPrefix}.${this.group}.partition.${partition}`;
  }

  /** One tick at a time; a tick asked for during one runs right after it. */
  private async runTick(): Promise<void> {
    if (this.ticking) {
      this.tickAgain = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      try {
        do {
          this.tickAgain = false;
          if (this.stopped) return;
          try {
            await this.tick();
          } catch (err) {
            // tick() handles each partition's failures itself; this is a broken invariant: report, try later
            this.report(err);
            this.wakeAt(this.now() + this.renewIntervalMs);
          }
        } while (this.tickAgain);
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  private wakeAt(atMs: number): void {
    if (this.stopped || !this.ready || atMs >= this.timerAtMs) return;
    clearTimeout(this.timer);
    this.timerAtMs = atMs;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAtMs = Infinity;
        void this.runTick();
      },
      Math.max(0, atMs - this.now()),
    );
  }

  /** Renew what is due, shed what is over the quota, take free partitions up to it; then sleep until the next thing is due. */
  private async tick(): Promise<void> {
    // Closed for good (reconnects ran out): nothing can be read or written; the loss timers end what is held.
    if (this.nc.isClosed()) return;
    let now = this.now();
    if (this.balance && now >= this.heartbeatDueAtMs) {
      this.heartbeat(false);
      this.heartbeatDueAtMs = now + this.renewIntervalMs;
    }
    await Promise.all(this.slots.filter((s) => s.held && s.held.renewDueAtMs <= now).map((s) => this.renew(s)));
    const quota = this.quota();
    const held = this.slots.filter((s) => s.held);
    // Shed the least preferred first: the ones another replica prefers, as the order is rotated per replica.
    if (held.length > quota) await Promise.all(held.slice(quota).map((s) => this.giveBack(s, 'shed')));
    let holding = Math.min(held.length, quota);
    let failed = false;
    now = this.now();
    for (const s of this.slots) {
      if (this.stopped || holding >= quota) break;
      if (s.held || s.retryAtMs > now) continue;
      const outcome = await this.acquire(s);
      if (outcome === 'taken') holding += 1;
      // NATS is away or slow: the rest would fail the same way, and renewals must not wait behind them.
      failed = outcome === 'failed';
      if (failed) break;
    }
    now = this.now();
    let next = now + this.renewIntervalMs;
    for (const s of this.slots) {
      if (s.held) next = Math.min(next, s.held.renewDueAtMs);
      // after a failure the next try is a renew interval away, not at each partition's retry time
      else if (holding < quota && !failed) next = Math.min(next, Math.max(s.retryAtMs, now));
    }
    for (const until of this.peers.values()) next = Math.min(next, Math.max(until + 1, now));
    this.wakeAt(next);
  }

  /** Read the partition's record, decide, write it expecting what was read; a lost race re-reads. */
  private async acquire(s: Slot): Promise<'taken' | 'wait' | 'failed'> {
    try {
      for (let attempt = 1; attempt <= LEASE_WRITE_ATTEMPTS_MAX; attempt += 1) {
        const last = await this.read(s);
        const decision = decideLease(last.record, { kind: 'acquire', replica: this.replicaId }, this.now(), this.timing);
        if (decision.kind === 'wait') {
          s.retryAtMs = decision.retryAtMs;
          return 'wait';
        }
        if (decision.kind !== 'take') throw new Error(`acquire decided ${decision.kind}`);
        if (last.record && decision.record.epoch <= last.record.epoch) throw new Error('the epoch must grow on a take');
        try {
          const seq = await this.write(s, decision.record, last.seq);
          // Taken while release() waited for this tick: hold it, so that release() gives it back at once.
          if (this.abandoned) return 'failed';
          return this.hold(s, decision.record, seq) ? 'taken' : 'wait';
        } catch (err) {
          if (!(err instanceof WrongLastSequence)) throw err;
        }
      }
      s.retryAtMs = this.now() + this.renewIntervalMs;
      return 'wait';
    } catch (err) {
      this.report(err, s.partition);
      s.retryAtMs = this.now() + this.renewIntervalMs;
      return 'failed';
    }
  }

  /** Extend a held lease: write on the sequence this replica wrote last; if someone wrote since, re-read and decide. */
  private async renew(s: Slot): Promise<void> {
    const h = s.held as Held;
    let last: { record?: LeaseRecord; seq: number } = { record: h.record, seq: h.seq };
    try {
      for (let attempt = 1; attempt <= LEASE_WRITE_ATTEMPTS_MAX; attempt += 1) {
        const wish: LeaseWish = { kind: 'renew', replica: this.replicaId, epoch: h.epoch };
        const decision = decideLease(last.record, wish, this.now(), this.timing);
        if (decision.kind === 'lost') return this.lose(s, h, decision.reason);
        if (decision.kind !== 'renew') throw new Error(`renew decided ${decision.kind}`);
        try {
          const seq = await this.write(s, decision.record, last.seq);
          // The loss timer may have fired while the write was in flight: that epoch is over here.
          if (s.held !== h) return;
          this.extend(s, h, decision.record, seq);
          return;
        } catch (err) {
          if (!(err instanceof WrongLastSequence)) throw err;
          if (s.held !== h) return;
          last = await this.read(s);
        }
      }
      h.renewDueAtMs = this.now() + Math.floor(this.renewIntervalMs / LEASE_RENEW_RETRY_DIVISOR);
    } catch (err) {
      this.report(err, s.partition);
      if (s.held === h) h.renewDueAtMs = this.now() + Math.floor(this.renewIntervalMs / LEASE_RENEW_RETRY_DIVISOR);
    }
  }

  /** Stop holding `s` (callbacks first), then write it as released so another replica takes it at once. */
  private async giveBack(s: Slot, reason: 'shed' | 'stopped'): Promise<void> {
    const h = s.held;
    if (!h) return;
    this.lose(s, h, reason);
    // Not before the lease would have expired anyway: no flapping back and forth in one tick.
    s.retryAtMs = this.now() + this.timing.ttlMs;
    let last: { record?: LeaseRecord; seq: number } = { record: h.record, seq: h.seq };
    try {
      for (let attempt = 1; attempt <= LEASE_WRITE_ATTEMPTS_MAX; attempt += 1) {
        const decision = decideLease(last.record, { kind: 'release', replica: this.replicaId, epoch: h.epoch }, this.now(), this.timing);
        if (decision.kind !== 'release') return;
        try {
          await this.write(s, decision.record, last.seq);
          return;
        } catch (err) {
          if (!(err instanceof WrongLastSequence)) throw err;
          last = await this.read(s);
        }
      }
    } catch (err) {
      this.report(err, s.partition);
    }
  }

  /** Start holding `s` with the record just written, if its deadline is still ahead (a late ack is no lease). */
  private hold(s: Slot, record: LeaseRecord, seq: number): boolean {
    const now = this.now();
    const deadlineMs = leaseDeadlineMs(record, this.timing);
    if (now >= deadlineMs) {
      s.retryAtMs = 0;
      return false;
    }
    const h: Held = { epoch: record.epoch, record, seq, deadlineMs, renewDueAtMs: now + this.renewIntervalMs, timer: this.lossTimer(s, deadlineMs) };
    s.held = h;
    this.call(() => this.opts.onAcquired?.(s.partition, record.epoch), s.partition);
    return true;
  }

  private extend(s: Slot, h: Held, record: LeaseRecord, seq: number): void {
    const now = this.now();
    if (record.epoch !== h.epoch || record.holder !== this.replicaId) throw new Error('a renewal must keep holder and epoch');
    const deadlineMs = leaseDeadlineMs(record, this.timing);
    if (now >= deadlineMs) return this.lose(s, h, 'expired');
    clearTimeout(h.timer);
    h.record = record;
    h.seq = seq;
    h.deadlineMs = deadlineMs;
    h.renewDueAtMs = now + this.renewIntervalMs;
    h.timer = this.lossTimer(s, deadlineMs);
  }

  /** Ends the lease locally at its deadline, whatever the renewals are doing (NATS may be unreachable). */
  private lossTimer(s: Slot, deadlineMs: number): NodeJS.Timeout {
    const fire = (): void => {
      const h = s.held;
      if (!h || h.deadlineMs !== deadlineMs) return;
      // a timer may fire a little early on some platforms: only a passed deadline ends the lease
      const left = deadlineMs - this.now();
      if (left > 0) h.timer = setTimeout(fire, left);
      else this.lose(s, h, 'expired');
    };
    return setTimeout(fire, Math.max(0, deadlineMs - this.now()));
  }

  private lose(s: Slot, h: Held, reason: PartitionLossReason): void {
    if (s.held !== h) return;
    clearTimeout(h.timer);
    s.held = undefined;
    if (reason !== 'shed' && reason !== 'stopped') s.retryAtMs = 0;
    this.call(() => this.opts.onLost?.(s.partition, h.epoch, reason), s.partition);
    if (!this.stopped && reason !== 'stopped') this.wakeAt(this.now());
  }

  /**
   * A write to a partition's subject, seen as a core NATS message: a hint only, as a write the stream
   * refused (a lost race) is delivered too. A release makes the partition worth reading now; another
   * replica's epoch past ours ends ours at once (it can only come from clocks further apart than the
   * allowance, and stopping early is the safe side).
   */
  private onRecordSeen(subject: string, data: Uint8Array): void {
    const s = this.bySubject.get(subject);
    if (!s || this.stopped) return;
    let record: LeaseRecord;
    try {
      record = decodeLeaseRecord(data);
    } catch {
      return; // the read before a write reports it
    }
    if (record.holder === this.replicaId) return;
    if (s.held && record.epoch > s.held.epoch) return this.lose(s, s.held, 'taken');
    if (record.released && !s.held) {
      s.retryAtMs = 0;
      this.wakeAt(this.now());
    }
  }

  private onHeartbeat(data: Uint8Array): void {
    if (this.stopped) return;
    let beat: { replica?: unknown; leaving?: unknown };
    try {
      beat = JSON.parse(Buffer.from(data).toString('utf8')) as typeof beat;
    } catch {
      return;
    }
    if (typeof beat.replica !== 'string' || beat.replica === this.replicaId) return;
    if (beat.leaving === true) {
      if (this.peers.delete(beat.replica)) this.wakeAt(this.now());
      return;
    }
    const known = this.peers.has(beat.replica);
    if (!known && this.peers.size >= LEASE_REPLICAS_MAX) return;
    this.peers.set(beat.replica, this.now() + this.timing.ttlMs);
    // A new peer lowers the quota: shed at once rather than at the next renewal.
    if (!known) this.wakeAt(this.now());
  }

  private heartbeat(leaving: boolean): void {
    if (this.nc.isClosed()) return;
    try {
      this.nc.publish(`${this.subjectPrefix}.${this.group}.replica.${this.replicaId}`, JSON.stringify({ replica: this.replicaId, leaving }));
    } catch (err) {
      this.report(err);
    }
  }

  private async read(s: Slot): Promise<{ record?: LeaseRecord; seq: number }> {
    const jsm = this.jsm as JetStreamManager;
    const m = await jsm.streams.getMessage(this.streamName, { last_by_subj: s.subject });
    return m ? { record: decodeLeaseRecord(m.data), seq: m.seq } : { seq: 0 };
  }

  /** Writes `record` if the subject's last sequence is still `expectedSeq`; WrongLastSequence if not. */
  private async write(s: Slot, record: LeaseRecord, expectedSeq: number): Promise<number> {
    try {
      const ack = await this.js.publish(s.subject, encodeLeaseRecord(record), { expect: { lastSubjectSequence: expectedSeq } });
      if (ack.stream !== this.streamName) throw new StreamConfigError(`${s.subject} was stored in ${ack.stream}, not ${this.streamName}`);
      return ack.seq;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) throw new WrongLastSequence();
      throw err;
    }
  }

  private call(fn: () => void, partition: string): void {
    try {
      fn();
    } catch (err) {
      this.report(err, partition);
    }
  }

  private report(err: unknown, partition?: string): void {
    try {
      this.opts.onError?.(err, partition);
    } catch {
      // a failing error handler must not stop the leases
    }
  }
}

/**
 * Creates the lease stream if it is missing (idempotent; replicas race to create it): file storage,
 * LEASE_HISTORY_PER_SUBJECT records per partition, no age limit, delete and purge denied, because an
 * epoch must never start over at 1 (a fenced-off writer would look current again).
 */
export async function ensureLeaseStream(jsm: JetStreamManager, opts: { streamName: string; subjectPrefix: string; replicas: number }): Promise<void> {
  const subject = `${opts.subjectPrefix}.*.partition.*`;
  const wanted: Partial<StreamConfig> & { name: string } = {
    name: opts.streamName,
    subjects: [subject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: 0,
    max_msgs: -1,
    max_bytes: -1,
    max_msgs_per_subject: LEASE_HISTORY_PER_SUBJECT,
    deny_delete: true,
    deny_purge: true,
    num_replicas: opts.replicas,
  };
  const notFound = (err: unknown): undefined => {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw err;
  };
  let info = await jsm.streams.info(opts.streamName).catch(notFound);
  if (!info) {
    try {
      await jsm.streams.add(wanted);
      return;
    } catch (err) {
      // another replica created it between our info and add: check theirs
      if (!(err instanceof JetStreamApiError)) throw err;
      info = await jsm.streams.info(opts.streamName).catch(notFound);
      if (!info) throw new StreamConfigError(`lease stream ${opts.streamName} could not be created: ${err.message}`, { cause: err });
    }
  }
  const cfg = info.config;
  if (cfg.storage !== StorageType.File) throw new StreamConfigError(`lease stream ${opts.streamName} uses ${cfg.storage} storage; leases need file storage`);
  if (!cfg.subjects?.includes(subject)) throw new StreamConfigError(`lease stream ${opts.streamName} does not hold ${subject}`);
  if (cfg.max_age !== 0 || !cfg.deny_purge || !cfg.deny_delete) {
    throw new StreamConfigError(`lease stream ${opts.streamName} may lose records (max_age, purge or delete allowed): epochs could start over`);
  }
}

/** A small stable hash (FNV-1a) of a replica id, to rotate its preference order. */
function hashOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
