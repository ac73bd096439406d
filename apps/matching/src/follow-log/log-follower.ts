import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { TradeEvent } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import { EventDecodeError, handlerSpan, parkingKeyOf, traceOf, typeOfBody, type ParkedEvent, type ParkRecord, type Reader, type ReaderHealth } from '@starminer/trade-log';
import { EngineState } from '../engine/engine-state';
import { MatchRound } from '../match-round/match-round';
import { MatchingPartitions } from '../partitions/matching-partitions';
import { Snapshots } from '../snapshot/snapshots';

/** Events handed to the engine at once; a round runs after each batch. */
export const FOLLOW_BATCH_MAX = 500;
const FOLLOW_EXPIRES_MS = 5_000;
const FOLLOW_LINGER_MS = 5;
/** The reader's name: its parked events are filed under it. */
export const FOLLOWER = 'engine';

/**
 * Follows the log into the engine with an ordered (ephemeral) consumer, from the snapshot's
 * sequence: the in-memory engine is the state, so there is nothing to ack. An event that does not
 * decode, or that the engine refuses (a node or job it cannot take), is parked with its reason and
 * the engine goes on with every other; later events of the same aggregate wait behind it. Matching
 * decides only once it has caught up (nothing pending after a batch).
 */
@Injectable()
export class LogFollower implements Reader, OnApplicationBootstrap {
  readonly name = FOLLOWER;
  readonly kind = 'follower';
  readonly critical = false;
  private readonly logger = new Logger('matching');
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;
  private stopping = false;
  private pending = 0;
  private lastEventAtMs?: number;
  private lastError?: string;
  private broken = false;
  /** Aggregate keys with parked events (this is the one writer of its parked events; loaded at start). */
  private blocked = new Map<string, number>();

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly state: EngineState,
    private readonly rounds: MatchRound,
    private readonly snapshots: Snapshots,
    private readonly partitions: MatchingPartitions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const fromSeq = (await this.snapshots.restore()) + 1;
    this.blocked = await this.rt.parking.blockedKeys(FOLLOWER);
    if ((await this.rt.tradeLog.lastSeq()) < fromSeq) this.markCaughtUp();
    const log = this.rt.tradeLog;
    const consumer = await log.js.consumers.get(log.streamName, {
      filter_subjects: log.filterFor(this.rt.filterOf(['node', 'job', 'contract', 'market'])),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: fromSeq,
    });
    this.messages = await consumer.consume({ max_messages: FOLLOW_BATCH_MAX, expires: FOLLOW_EXPIRES_MS });
    this.loop = this.follow(this.messages);
    this.loop.catch((err: Error) => {
      if (!this.stopping) this.fail(err, 'following the log');
    });
    this.rt.register(this);
    this.snapshots.start();
    this.rounds.start();
    // partitioned replicas: take leases; a partition routes once the engine has passed its take-over
    await this.partitions.start(() => void this.rounds.schedule(Date.now()));
  }

  private async follow(messages: ConsumerMessages): Promise<void> {
    let batch: JsMsg[] = [];
    let timer: NodeJS.Timeout | undefined;
    let flushing: Promise<void> = Promise.resolve();
    const flush = (caughtUp: boolean): Promise<void> => {
      const b = batch;
      batch = [];
      flushing = flushing.then(() => (b.length ? this.handle(b, caughtUp) : undefined));
      return flushing;
    };
    for await (const m of messages) {
      if (this.stopping) break;
      batch.push(m);
      this.pending = m.info.pending;
      const caughtUp = m.info.pending === 0;
      if (caughtUp || batch.length >= FOLLOW_BATCH_MAX) {
        if (timer) clearTimeout(timer);
        timer = undefined;
        await flush(caughtUp);
      } else if (!timer) {
        timer = setTimeout(() => {
          timer = undefined;
          // a failure here also fails the loop's next flush, which ends it
          flush(false).catch(() => undefined);
        }, FOLLOW_LINGER_MS);
      }
    }
    if (timer) clearTimeout(timer);
    await flushing;
  }

  private async handle(batch: JsMsg[], caughtUp: boolean): Promise<void> {
    await this.state.serial(async () => {
      for (const m of batch) {
        if (this.broken) return;
        await this.fold(m);
        // only now is it in the engine or parked: a snapshot may say it is behind us
        this.state.lastSeq = m.seq;
        this.lastEventAtMs = m.info.timestampNanos / 1e6;
        this.state.eventsSinceSnapshot += 1;
      }
    });
    if (caughtUp && !this.state.caughtUp && !this.broken) this.markCaughtUp();
    if (this.state.caughtUp) await this.rounds.schedule(this.state.lastEventMs);
    await this.snapshots.maybeTake().catch((err: Error) => this.logger.warn(`snapshot failed: ${err.message}`));
  }

  /** One message into the engine, or into the parking lot with its reason (a failure to park throws). */
  private async fold(m: JsMsg): Promise<void> {
    const key = parkingKeyOf(m.subject);
    const behind = this.blocked.get(key);
    if (behind !== undefined) return this.park(m, `waits behind parked event #${behind} of the same aggregate`, behind);
    let event: TradeEvent;
    try {
      event = this.rt.tradeLog.decode(m.data) as TradeEvent;
    } catch (cause) {
      return this.park(m, new EventDecodeError(m.subject, m.seq, { cause }).message, null);
    }
    const stored = { seq: m.seq, subject: m.subject, event, redelivered: m.redelivered, ...traceOf(m) };
    await handlerSpan(this.rt.tradeLog, FOLLOWER, [stored], async () => {
      try {
        this.state.apply(event, stored.trace);
      } catch (err) {
        // the engine refused it: it never will take it as it is (the engine changed nothing)
        await this.park(m, `the engine refused ${event.type}: ${(err as Error).message}`, null);
      }
    });
  }

  /**
   * The follower cannot go on (the database is away while it parks, or it lost track): it stops
   * deciding on a state it cannot trust and says so; liveness then fails and the supervisor starts
   * it again, from the last snapshot and the log after it.
   */
  private fail(err: Error, what: string): void {
    this.broken = true;
    this.lastError = `${what}: ${err.message}`;
    this.state.caughtUp = false;
    void this.rounds.stop();
    this.snapshots.stop();
    this.logger.error(`${what} failed; matching stops deciding until it is restarted: ${err.stack ?? err.message}`);
  }

  private async park(m: JsMsg, error: string, blockedBy: number | null): Promise<void> {
    const key = parkingKeyOf(m.subject);
    const record: ParkRecord = { reader: FOLLOWER, seq: m.seq, subject: m.subject, type: typeOfBody(m.data), key, error, blockedBy, attempts: 1 };
    await this.rt.parking.park(this.rt.db.manager, record);
    if (!this.blocked.has(key)) this.blocked.set(key, m.seq);
    this.rt.parked(record);
  }

  private markCaughtUp(): void {
    this.state.caughtUp = true;
    this.logger.log(`caught up with the log: ${this.state.nodes.size} nodes, queues ${JSON.stringify(this.state.engine.queueDepths())}`);
  }

  health(): ReaderHealth {
    return {
      reader: FOLLOWER,
      kind: 'follower',
      state: this.stopping ? 'stopping' : this.broken ? 'failed' : 'running',
      position: this.state.lastSeq,
      lag: this.pending,
      ...(this.lastEventAtMs === undefined ? {} : { lastEventAtMs: this.lastEventAtMs }),
      critical: false,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  /**
   * Re-applies the parked events of one key to the engine, in log order, after a fix (a new
   * engine version, a node re-registered within the limits): between two rounds, and stopping at
   * the first the engine still refuses.
   */
  retryParked(key: string): Promise<{ applied: number; stillParked: ParkedEvent[] }> {
    const parking = this.rt.parking;
    return this.state.serial(async () => {
      const jsm = await this.rt.tradeLog.jsm();
      let applied = 0;
      let stillParked: ParkedEvent[];
      try {
        stillParked = await this.rt.db.transaction(async (em) => {
          for (const p of await parking.takeKey(em, FOLLOWER, key)) {
            const m = await jsm.streams.getMessage(this.rt.tradeLog.streamName, { seq: p.seq });
            try {
              if (!m) throw new Error(`#${p.seq} is not in the stream any more`);
              this.state.apply(this.rt.tradeLog.decode(m.data) as TradeEvent);
            } catch (err) {
              await parking.recordFailure(em, FOLLOWER, p.seq, (err as Error).message);
              break;
            }
            await parking.remove(em, FOLLOWER, p.seq);
            applied += 1;
          }
          // what was re-applied is in the snapshot that commits with its removal from the lot:
          // a restart neither loses it nor applies it twice
          if (applied > 0) await this.snapshots.saveIn(em);
          return parking.takeKey(em, FOLLOWER, key);
        });
      } catch (err) {
        // the engine took events whose removal from the lot did not commit: restart from the snapshot
        if (applied > 0) this.fail(err as Error, 're-applying parked events');
        throw err;
      }
      if (stillParked.length === 0) this.blocked.delete(key);
      else this.blocked.set(key, stillParked[0].seq);
      return { applied, stillParked };
    });
  }

  /** Stops following, lets the work in hand finish, and takes the final snapshot. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // no match is appended after the leases are given back: the round in progress ends first
    await this.rounds.stop();
    await this.partitions.stop().catch((err: Error) => this.logger.warn(`giving the partitions back failed: ${err.message}`));
    this.snapshots.stop();
    await this.messages?.close().catch(() => undefined);
    await this.loop?.catch(() => undefined);
    await this.snapshots.take().catch((err: Error) => this.logger.warn(`final snapshot failed: ${err.message}`));
  }
}
