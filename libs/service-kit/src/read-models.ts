import { createHash } from 'node:crypto';
import type { DataSource, EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import type { AggregateKind, EventType, ReadModelDigest, ReadModelTableDigest } from '@starminer/events';
import { LIMITS } from '@starminer/events';
import type { StoredEvent } from '@starminer/trade-log';

/** One table a read model writes, and the columns of it that are not the log's (written by a reconciler's clock, a trace). */
export interface ReadModelTable {
  readonly entity: EntityTarget<ObjectLiteral>;
  /**
   * Properties left out of the digest, each because the log does not decide it: a reconciler's
   * retry bookkeeping, a chain check's findings, a trace context from message headers. A replay
   * of the log cannot give them, so comparing them would report differences that are not.
   */
  readonly notFromLog?: readonly string[];
}

/**
 * A service's read model, as one definition that both the live service and the auditor's replay
 * run: the projection's name (its checkpoint), the aggregate kinds it reads, the code that applies
 * events, and the tables it writes (cleared in this order by a rebuild, digested by the auditor).
 */
export interface ReadModel {
  readonly name: string;
  readonly kinds: readonly AggregateKind[];
  readonly apply: (em: EntityManager, e: StoredEvent) => Promise<void>;
  /** The batch path, where the service has one (it writes the same rows as `apply`). */
  readonly applyBatch?: (em: EntityManager, events: StoredEvent[]) => Promise<void>;
  /**
   * Every event type `apply`/`applyBatch` may change a row for (helpers and `default:` branches
   * included), where that is a few of its kinds' types: the projection then skips the others without
   * decoding them or opening a transaction (ProjectionRunnerOptions.types). Left out, every event of
   * `kinds` is applied. tools/audit/replay/read-model-types.spec.ts projects the same streams with and
   * without it and checks the rows are the same.
   */
  readonly types?: readonly EventType[];
  readonly tables: readonly ReadModelTable[];
  readonly critical?: boolean;
  readonly shapeVersion?: number;
}

/** Rows hashed per chunk: the auditor finds the first differing row by the first differing chunk, then reads only that chunk. */
export const READ_MODEL_CHUNK_ROWS = LIMITS.readModelChunkRows;

const sha256 = (): ReturnType<typeof createHash> => createHash('sha256');

interface TableSql {
  readonly table: string;
  readonly columns: string[];
  readonly select: string;
  readonly order: string;
}

/** The SQL of one table's digest: every column of the log as Postgres' own text, ordered by the primary key in the "C" collation (the same on any server). */
function tableSql(ds: DataSource, t: ReadModelTable): TableSql {
  const meta = ds.getMetadata(t.entity);
  const left = new Set(t.notFromLog ?? []);
  const columns = meta.columns.filter((c) => !left.has(c.propertyName)).map((c) => c.databaseName).sort();
  const keys = meta.primaryColumns.map((c) => c.databaseName);
  const q = (n: string): string => `"${n.replace(/"/g, '""')}"`;
  return {
    table: meta.tableName,
    columns,
    select: columns.map((c, i) => `${q(c)}::text AS "c${i}"`).join(', '),
    order: keys.map((k) => `${q(k)}::text COLLATE "C"`).join(', '),
  };
}

function fromOf(schema: string, table: string): string {
  return `"${schema}"."${table}"`;
}

/**
 * A digest of a read model's rows: per table, the row count, a sha256 of every row (its log-decided
 * columns as Postgres prints them, in primary-key order), and a sha256 per READ_MODEL_CHUNK_ROWS
 * rows. Read in one REPEATABLE READ transaction with the projection's checkpoint, so the digest is
 * of the rows as of that log position. Pages by primary key (bounded memory).
 */
export async function digestReadModel(ds: DataSource, schema: string, model: ReadModel): Promise<ReadModelDigest> {
  return ds.transaction('REPEATABLE READ', async (em) => {
    await em.query(`SET LOCAL TimeZone = 'UTC'`);
    const checkpoint = await checkpointOf(em, schema, model.name);
    const tables: ReadModelTableDigest[] = [];
    for (const t of model.tables) tables.push(await digestTable(em, schema, tableSql(ds, t)));
    return { model: model.name, checkpoint, tables };
  });
}

async function checkpointOf(em: EntityManager, schema: string, name: string): Promise<number> {
  const rows = (await em.query(`SELECT last_seq FROM "${schema}".projection_checkpoint WHERE name = $1`, [name]).catch(() => [])) as { last_seq: string }[];
  return rows.length ? Number(rows[0].last_seq) : 0;
}

async function digestTable(em: EntityManager, schema: string, sql: TableSql): Promise<ReadModelTableDigest> {
  const all = sha256();
  const chunks: string[] = [];
  let chunk = sha256();
  let inChunk = 0;
  let rows = 0;
  for await (const page of pages(em, schema, sql)) {
    for (const row of page) {
      const line = `${JSON.stringify(row)}\n`;
      all.update(line);
      chunk.update(line);
      rows += 1;
      inChunk += 1;
      if (inChunk === READ_MODEL_CHUNK_ROWS) {
        if (chunks.length < LIMITS.readModelChunksMax) chunks.push(chunk.digest('hex'));
        chunk = sha256();
        inChunk = 0;
      }
    }
  }
  if (inChunk > 0 && chunks.length < LIMITS.readModelChunksMax) chunks.push(chunk.digest('hex'));
  const chunksTruncated = Math.ceil(rows / READ_MODEL_CHUNK_ROWS) > chunks.length;
  return { table: sql.table, columns: sql.columns, rows, sha256: all.digest('hex'), chunks, ...(chunksTruncated ? { chunksTruncated } : {}) };
}

/**
 * The table's rows as arrays of text (null kept), in primary-key order, READ_MODEL_CHUNK_ROWS at a
 * time, through one cursor of the caller's transaction: the table is sorted once (the "C"
 * collation's order is not the key index's, so pages by key would sort it again for every page).
 */
async function* pages(em: EntityManager, schema: string, sql: TableSql, fromChunk = 0, chunkCount = Number.MAX_SAFE_INTEGER): AsyncGenerator<(string | null)[][]> {
  const cursor = `starminer_digest_${(cursorSerial += 1)}`;
  await em.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT ${sql.select} FROM ${fromOf(schema, sql.table)} ORDER BY ${sql.order}`);
  try {
    if (fromChunk > 0) await em.query(`MOVE FORWARD ${fromChunk * READ_MODEL_CHUNK_ROWS} IN ${cursor}`);
    for (let n = 0; n < chunkCount; n += 1) {
      const raw = (await em.query(`FETCH FORWARD ${READ_MODEL_CHUNK_ROWS} FROM ${cursor}`)) as Record<string, string | null>[];
      if (raw.length === 0) return;
      yield raw.map((r) => Object.values(r));
      if (raw.length < READ_MODEL_CHUNK_ROWS) return;
    }
  } finally {
    await em.query(`CLOSE ${cursor}`);
  }
}

/** Cursor names are unique per process (two digests may share nothing but the name space of their connections). */
let cursorSerial = 0;

/** The rows of one chunk of one table (as the digest hashed them), for the auditor's first differing row. */
export async function readModelChunk(ds: DataSource, schema: string, model: ReadModel, table: string, chunk: number): Promise<{ checkpoint: number; columns: string[]; rows: (string | null)[][] }> {
  const t = model.tables.find((x) => ds.getMetadata(x.entity).tableName === table);
  if (!t) throw new RangeError(`read model ${model.name} has no table ${table}`);
  const sql = tableSql(ds, t);
  return ds.transaction('REPEATABLE READ', async (em) => {
    await em.query(`SET LOCAL TimeZone = 'UTC'`);
    const checkpoint = await checkpointOf(em, schema, model.name);
    const rows: (string | null)[][] = [];
    for await (const page of pages(em, schema, sql, chunk, 1)) rows.push(...page);
    return { checkpoint, columns: sql.columns, rows };
  });
}
