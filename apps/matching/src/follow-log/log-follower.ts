import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { TradeEvent } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import { EventDecodeError, parkingKeyOf, typeOfBody, type ParkedEvent, type ParkRecord, type Reader, type ReaderHealth } from '@starminer/trade-log';
import { EngineState } from '../engine/engine-state';
import { MatchRound } from '../match-round/match-round';
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
  private lastError?: string;
  private broken = false;
  /** Aggregate keys with parked events (this is the one writer of its parked events; loaded at start). */
  private blocked = new Map<string, number>();

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly state: EngineState,
    private readonly rounds: MatchRound,
    private readonly snapshots: Snapshots,
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
      if (this.stopping) return;
      this.broken = true;
      this.lastError = err.message;
      this.logger.error(`following the log failed: ${err.stack ?? err.message}`);
    });
    this.rt.register(this);
    this.snapshots.start();
    this.rounds.start();
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
          void flush(false);
        }, FOLLOW_LINGER_MS);
      }
    }
    if (timer) clearTimeout(timer);
    await flushing;
  }

  private async handle(batch: JsMsg[], caughtUp: boolean): Promise<void> {
    await this.state.serial(async () => {
      for (const m of batch) {
        this.state.lastSeq = m.seq;
        this.state.eventsSinceSnapshot += 1;
        const key = parkingKeyOf(m.subject);
        const behind = this.blocked.get(key);
        if (behind !== undefined) {
          await this.park(m, `waits behind parked event #${behind} of the same aggregate`, behind);
          continue;
        }
        let event: TradeEvent;
        try {
          event = this.rt.tradeLog.decode(m.data) as TradeEvent;
        } catch (cause) {
          await this.park(m, new EventDecodeError(m.subject, m.seq, { cause }).message, null);
          continue;
        }
        try {
          this.state.apply(event);
        } catch (err) {
          // the engine refused it: it never will take it as it is (the engine changed nothing)
          await this.park(m, `the engine refused ${event.type}: ${(err as Error).message}`, null);
        }
      }
    });
    if (caughtUp && !this.state.caughtUp) this.markCaughtUp();
    if (this.state.caughtUp) await this.rounds.schedule(this.state.lastEventMs);
    await this.snapshots.maybeTake();
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
      const stillParked = await this.rt.db.transaction(async (em) => {
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
        return parking.takeKey(em, FOLLOWER, key);
      });
      if (stillParked.length === 0) this.blocked.delete(key);
      else this.blocked.set(key, stillParked[0].seq);
      return { applied, stillParked };
    });
  }

  /** Stops following, lets the work in hand finish, and takes the final snapshot. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.rounds.stop();
    this.snapshots.stop();
    await this.messages?.close().catch(() => undefined);
    await this.loop?.catch(() => undefined);
    await this.snapshots.take().catch((err: Error) => this.logger.warn(`final snapshot failed: ${err.message}`));
  }
}
