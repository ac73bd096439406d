import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { toJson } from '@starminer/events';
import { ServiceRuntime, Ticker } from '@starminer/service-kit';
import { EngineState, type ServiceSnapshot } from '../engine/engine-state';
import { EngineSnapshotRow } from './snapshot.entity';

/** A snapshot is taken after this many applied events, or this long after the last one with changes. */
export const SNAPSHOT_EVERY_EVENTS = 5_000;
export const SNAPSHOT_INTERVAL_MS = 30_000;

/**
 * The engine's state at a stream sequence, in Postgres, so that a start restores it and replays
 * only what came after instead of the whole log. One row per engine version: a new version (or a
 * snapshot this version cannot read) starts over from the log.
 */
@Injectable()
export class Snapshots {
  private readonly logger = new Logger('snapshot');
  private readonly ticker = new Ticker('matching-snapshot', SNAPSHOT_INTERVAL_MS, () => this.take());

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly state: EngineState,
  ) {}

  /** Restores the last snapshot of this engine version, if any; returns the sequence to follow from. */
  async restore(): Promise<number> {
    const row = await this.rt.db.getRepository(EngineSnapshotRow).findOne({ where: { engineVersion: this.state.engineConfig.engineVersion } });
    if (!row) return 0;
    try {
      this.state.restore(row.body as ServiceSnapshot, Number(row.lastSeq));
    } catch (err) {
      this.logger.warn(`the snapshot at seq ${row.lastSeq} cannot be read (${(err as Error).message}); rebuilding from the log`);
      return 0;
    }
    this.logger.log(`restored the engine from the snapshot at seq ${row.lastSeq}`);
    return Number(row.lastSeq);
  }

  start(): void {
    this.ticker.start();
  }

  stop(): void {
    this.ticker.stop();
  }

  /** Takes one when the threshold of events since the last is reached. */
  async maybeTake(): Promise<void> {
    if (this.state.eventsSinceSnapshot >= SNAPSHOT_EVERY_EVENTS) await this.take();
  }

  /** Saves the engine with the sequence it reflects, between two pieces of work, so nothing is half done. */
  take(): Promise<void> {
    return this.state.serial(async () => {
      if (this.state.eventsSinceSnapshot === 0 || !this.state.caughtUp) return;
      await this.saveIn(this.rt.db.manager);
    });
  }

  /**
   * Writes the snapshot with `em` (inside the caller's serial work and, where given, its
   * transaction: re-applied parked events and their snapshot commit together).
   */
  async saveIn(em: EntityManager): Promise<void> {
    const seq = this.state.lastSeq;
    await em
      .getRepository(EngineSnapshotRow)
      .upsert({ engineVersion: this.state.engineConfig.engineVersion, lastSeq: String(seq), body: JSON.parse(toJson(this.state.snapshot())), takenAt: new Date() }, ['engineVersion']);
    this.state.eventsSinceSnapshot = 0;
    this.logger.log(`snapshot at seq ${seq}`);
  }
}
