import type { DataSource } from 'typeorm';
import { TradeLogArgumentError } from './errors';
import { SNAPSHOT_STATE_BYTES_MAX } from './limits';

/**
 * A decider's state folded from a subject's events up to `subjectSeq` (whose event is `eventId`),
 * as that decider's snapshot codec encoded it. A cache of a fold of the log, nothing more: a
 * reader checks it against the log (StalePositionError) and against its codec's version, and folds
 * from the start whenever it does not fit.
 */
export interface StoredSnapshot {
  readonly subject: string;
  /** The codec's name: two deciders may fold the same subject (the account's and the faucet's mints). */
  readonly decider: string;
  readonly subjectSeq: number;
  readonly eventId: string;
  readonly version: number;
  readonly state: unknown;
  readonly updatedAt: Date;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

interface Row {
  subject: string;
  decider: string;
  subject_seq: string;
  event_id: string;
  version: number;
  state: unknown;
  updated_at: Date;
}

/**
 * A service's aggregate snapshots: `<schema>.aggregate_snapshots`, one row per (subject, decider),
 * shared by its replicas. Writes only move a snapshot forward (a later position, or another codec
 * version), so replicas racing to save one keep the latest.
 */
export class SnapshotStore {
  readonly table: string;

  constructor(
    readonly dataSource: DataSource,
    readonly schema: string,
  ) {
    if (!IDENTIFIER.test(schema)) throw new TradeLogArgumentError(`schema '${schema}' must match ${IDENTIFIER}`);
    this.table = `"${schema}".aggregate_snapshots`;
  }

  async ensureTable(): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`starminer.aggregate_snapshots.${this.schema}`]);
      await em.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await em.query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (
           subject text NOT NULL, decider text NOT NULL, subject_seq bigint NOT NULL, event_id text NOT NULL,
           version int NOT NULL, state jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),
           PRIMARY KEY (subject, decider))`,
      );
    });
  }

  async get(subject: string, decider: string): Promise<StoredSnapshot | undefined> {
    const rows = (await this.dataSource.query(`SELECT * FROM ${this.table} WHERE subject = $1 AND decider = $2`, [subject, decider])) as Row[];
    const r = rows[0];
    if (!r) return undefined;
    return { subject: r.subject, decider: r.decider, subjectSeq: Number(r.subject_seq), eventId: r.event_id, version: r.version, state: r.state, updatedAt: r.updated_at };
  }

  /**
   * Saves a snapshot unless the stored one is as far or further with the same version. Returns
   * whether it was written. A state whose JSON is longer than SNAPSHOT_STATE_BYTES_MAX is refused.
   */
  async put(s: Omit<StoredSnapshot, 'updatedAt'>): Promise<boolean> {
    const json = JSON.stringify(s.state);
    if (json === undefined) throw new TradeLogArgumentError(`the snapshot of ${s.subject} is not JSON`);
    if (Buffer.byteLength(json) > SNAPSHOT_STATE_BYTES_MAX) {
      throw new TradeLogArgumentError(`the snapshot of ${s.subject} is ${Buffer.byteLength(json)} bytes; the limit is ${SNAPSHOT_STATE_BYTES_MAX}`);
    }
    const rows = (await this.dataSource.query(
      `INSERT INTO ${this.table} AS s (subject, decider, subject_seq, event_id, version, state, updated_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, now())
       ON CONFLICT (subject, decider) DO UPDATE SET subject_seq = EXCLUDED.subject_seq, event_id = EXCLUDED.event_id, version = EXCLUDED.version, state = EXCLUDED.state, updated_at = now()
       WHERE s.version <> EXCLUDED.version OR s.subject_seq < EXCLUDED.subject_seq
       RETURNING subject`,
      [s.subject, s.decider, s.subjectSeq, s.eventId, s.version, json],
    )) as unknown[];
    return rows.length > 0;
  }

  /** Drops the snapshot at `subjectSeq` (one the log no longer has), leaving a newer one alone. */
  async drop(subject: string, decider: string, subjectSeq: number): Promise<void> {
    await this.dataSource.query(`DELETE FROM ${this.table} WHERE subject = $1 AND decider = $2 AND subject_seq = $3`, [subject, decider, subjectSeq]);
  }
}
