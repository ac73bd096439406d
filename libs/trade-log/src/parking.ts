import type { DataSource, EntityManager } from 'typeorm';
import { TradeLogArgumentError } from './errors';
import { PARKED_ERROR_CHARS_MAX, PARKED_LIST_MAX } from './limits';

/**
 * An event a reader could not decode or apply after its bounded attempts, kept with its reason so
 * the reader goes on with every other aggregate. Later events of the same key (the aggregate id:
 * the last token of the subject, so a job's `trade.job.<id>` and `trade.contract.<id>` share one)
 * wait behind it, parked too, so nothing of that aggregate is applied out of order. An operator
 * lists them and, after a fix, re-applies them in order.
 */
export interface ParkedEvent {
  readonly reader: string;
  readonly seq: number;
  readonly subject: string;
  readonly type: string | null;
  readonly key: string;
  readonly error: string;
  /** The first parked seq of the same key this one waits behind; null when it failed itself. */
  readonly blockedBy: number | null;
  readonly attempts: number;
  readonly parkedAt: Date;
}

/** What a reader parks: everything but the time, which the lot stamps. */
export type ParkRecord = Omit<ParkedEvent, 'parkedAt'>;

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** The aggregate key of a stored message: the last token of its subject (`trade.<aggregate>.<id>`). */
export const parkingKeyOf = (subject: string): string => subject.slice(subject.lastIndexOf('.') + 1);

/** The `type` of a stored body when its envelope can be read at all (for the operator's list). */
export function typeOfBody(data: Uint8Array): string | null {
  try {
    const raw = JSON.parse(Buffer.from(data).toString('utf8')) as { type?: unknown };
    return typeof raw.type === 'string' ? raw.type.slice(0, 64) : null;
  } catch {
    return null;
  }
}

interface Row {
  reader: string;
  seq: string;
  subject: string;
  type: string | null;
  key: string;
  error: string;
  blocked_by: string | null;
  attempts: number;
  parked_at: Date;
}

const toParked = (r: Row): ParkedEvent => ({
  reader: r.reader,
  seq: Number(r.seq),
  subject: r.subject,
  type: r.type,
  key: r.key,
  error: r.error,
  blockedBy: r.blocked_by === null ? null : Number(r.blocked_by),
  attempts: r.attempts,
  parkedAt: r.parked_at,
});

/** A service's parked events: `<schema>.parked_events`, shared by its readers and replicas. */
export class ParkingLot {
  readonly table: string;

  constructor(
    readonly dataSource: DataSource,
    readonly schema: string,
  ) {
    if (!IDENTIFIER.test(schema)) throw new TradeLogArgumentError(`schema '${schema}' must match ${IDENTIFIER}`);
    this.table = `"${schema}".parked_events`;
  }

  async ensureTable(): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`starminer.parked_events.${this.schema}`]);
      await em.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await em.query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (
           reader text NOT NULL, seq bigint NOT NULL, subject text NOT NULL, type text, key text NOT NULL,
           error text NOT NULL, blocked_by bigint, attempts int NOT NULL, parked_at timestamptz NOT NULL DEFAULT now(),
           PRIMARY KEY (reader, seq))`,
      );
      await em.query(`CREATE INDEX IF NOT EXISTS parked_events_reader_key ON ${this.table} (reader, key, seq)`);
    });
  }

  /** Parks one event (idempotent: parking the same seq again keeps the first record). */
  async park(em: EntityManager, r: ParkRecord): Promise<void> {
    await em.query(
      `INSERT INTO ${this.table} (reader, seq, subject, type, key, error, blocked_by, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (reader, seq) DO NOTHING`,
      [r.reader, r.seq, r.subject, r.type, r.key, r.error.slice(0, PARKED_ERROR_CHARS_MAX), r.blockedBy, r.attempts],
    );
  }

  /** Of `keys`, those that have parked events of `reader`, each with its first parked seq. */
  async blockedAmong(em: EntityManager | DataSource, reader: string, keys: readonly string[]): Promise<Map<string, number>> {
    if (keys.length === 0) return new Map();
    const rows = (await em.query(`SELECT key, min(seq) AS first FROM ${this.table} WHERE reader = $1 AND key = ANY($2) GROUP BY key`, [reader, [...new Set(keys)]])) as {
      key: string;
      first: string;
    }[];
    return new Map(rows.map((r) => [r.key, Number(r.first)]));
  }

  /** Every key of `reader` with parked events, each with its first parked seq (a reader that keeps them in memory loads them at start). */
  async blockedKeys(reader: string): Promise<Map<string, number>> {
    const rows = (await this.dataSource.query(`SELECT key, min(seq) AS first FROM ${this.table} WHERE reader = $1 GROUP BY key`, [reader])) as { key: string; first: string }[];
    return new Map(rows.map((r) => [r.key, Number(r.first)]));
  }

  /** The parked events of one key of one reader, in log order, locked for re-applying. */
  async takeKey(em: EntityManager, reader: string, key: string): Promise<ParkedEvent[]> {
    const rows = (await em.query(`SELECT * FROM ${this.table} WHERE reader = $1 AND key = $2 ORDER BY seq LIMIT $3 FOR UPDATE`, [reader, key, PARKED_LIST_MAX])) as Row[];
    return rows.map(toParked);
  }

  async remove(em: EntityManager, reader: string, seq: number): Promise<void> {
    await em.query(`DELETE FROM ${this.table} WHERE reader = $1 AND seq = $2`, [reader, seq]);
  }

  async recordFailure(em: EntityManager, reader: string, seq: number, error: string): Promise<void> {
    await em.query(`UPDATE ${this.table} SET error = $3, attempts = attempts + 1, blocked_by = NULL WHERE reader = $1 AND seq = $2`, [
      reader,
      seq,
      error.slice(0, PARKED_ERROR_CHARS_MAX),
    ]);
  }

  /**
   * Parked events in log order (then by reader: two readers may park one event) after
   * (`afterSeq`, `afterReader`), at most `limit`; every reader when `reader` is omitted.
   */
  async list(opts: { reader?: string; afterSeq?: number; afterReader?: string; limit?: number } = {}): Promise<ParkedEvent[]> {
    const limit = Math.min(Math.max(1, opts.limit ?? PARKED_LIST_MAX), PARKED_LIST_MAX);
    // after a page's last (seq, reader); after a seq alone: past every reader of that seq
    const after = opts.afterReader === undefined ? 'seq > $2::bigint AND $3::text IS NULL' : '(seq, reader) > ($2::bigint, $3::text)';
    const rows = (await this.dataSource.query(`SELECT * FROM ${this.table} WHERE ($1::text IS NULL OR reader = $1) AND ${after} ORDER BY seq, reader LIMIT $4`, [
      opts.reader ?? null,
      opts.afterSeq ?? 0,
      opts.afterReader ?? null,
      limit,
    ])) as Row[];
    return rows.map(toParked);
  }

  /** How many events each reader has parked. */
  async counts(): Promise<Map<string, number>> {
    const rows = (await this.dataSource.query(`SELECT reader, count(*)::int AS n FROM ${this.table} GROUP BY reader`)) as { reader: string; n: number }[];
    return new Map(rows.map((r) => [r.reader, r.n]));
  }
}
