import { In, type EntityManager, type EntityTarget, type FindOptionsSelect, type ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

/**
 * What the projections written a batch at a time share (a read model's `applyBatch`): statement
 * size bounds, table and column names from the entities' metadata, and the multi-row statements
 * that write what a batch folded in memory: one INSERT ... ON CONFLICT or UPDATE ... FROM a table
 * and kind of write, where the per-event path writes one statement an event. (The gateway's views
 * and webhooks had them first; settlement, the deployer, intake and the registry use them too.)
 */

/**
 * Rows in one statement, at most: a bound on one statement's size (its rows go as one parameter),
 * whatever batch it is handed. A runner's batch (BATCH_MAX_LIMIT, 1,000 events) fits in one
 * statement a table, but for webhook deliveries (up to LIMITS.webhooksPerOrgMax an event).
 */
export const ROWS_PER_STATEMENT_MAX = 1_000;

/** `rows` in slices of at most ROWS_PER_STATEMENT_MAX. */
export function chunks<T>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT_MAX) out.push(rows.slice(i, i + ROWS_PER_STATEMENT_MAX));
  return out;
}

export const quote = (identifier: string): string => `"${identifier.replace(/"/g, '""')}"`;

/** A table's quoted name (with its schema) and its columns, from the entity's metadata. */
export function tableOf<E extends ObjectLiteral>(em: EntityManager, entity: EntityTarget<E>) {
  const metadata = em.connection.getMetadata(entity);
  const column = (property: string): ColumnMetadata => {
    const found = metadata.findColumnWithPropertyName(property);
    if (!found) throw new Error(`${metadata.name} has no column ${property}`);
    return found;
  };
  return {
    name: metadata.tablePath.split('.').map(quote).join('.'),
    column,
    col: (property: string): string => quote(column(property).databaseName),
  };
}

/** The job an event names, if it is a job's (its `data.jobId`): the key most batch paths read their rows by. */
export function jobIdOf(e: { readonly data: unknown }): string | undefined {
  const id = (e.data as { jobId?: unknown }).jobId;
  return typeof id === 'string' ? id : undefined;
}

/** Own keys whose value is not undefined: the columns TypeORM writes of a row. */
const definedKeys = (row: object): string[] =>
  Object.entries(row)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);

/** The jsonb object of a row or patch: the columns it sets, by their names in the table, with the values Postgres reads back. */
function docOf(row: object, columns: readonly ColumnMetadata[]): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  for (const column of columns) {
    const value = (row as Record<string, unknown>)[column.propertyName];
    if (value !== undefined) doc[column.databaseName] = jsonValueOf(column, value);
  }
  return doc;
}

/** Rows grouped by the columns they set (undefined values left out, as TypeORM leaves them out). */
function bySignature<T extends object>(rows: Iterable<T>): T[][] {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const signature = definedKeys(row).sort().join(',');
    const group = groups.get(signature);
    if (group) group.push(row);
    else groups.set(signature, [row]);
  }
  return [...groups.values()];
}

/**
 * Multi-row `INSERT ... SELECT FROM jsonb_populate_recordset(...) ON CONFLICT`, the rows sent as one
 * jsonb array: `DO UPDATE` of the columns each row sets when `conflictPaths` are given (what
 * `Repository.upsert` of one row does), else `DO NOTHING`. Rows that set different columns go in
 * different statements: one statement overwrites the union of its rows' columns, which would null
 * a column a row leaves out. At most one row a key in a statement (Postgres refuses to update a row
 * twice in one statement): the fold gives one.
 */
export async function insertRows<E extends ObjectLiteral>(em: EntityManager, entity: EntityTarget<E>, rows: readonly object[], onConflict: { update: string[] } | { ignore: string[] }): Promise<void> {
  if (rows.length === 0) return;
  const t = tableOf(em, entity);
  const conflictPaths = 'update' in onConflict ? onConflict.update : onConflict.ignore;
  const conflict = conflictPaths.map((p) => t.col(p));
  for (const group of bySignature(rows)) {
    const columns = definedKeys(group[0]!).map((p) => t.column(p));
    const names = columns.map((c) => quote(c.databaseName));
    const set = names.filter((n) => !conflict.includes(n)).map((n) => `${n} = EXCLUDED.${n}`);
    const action = 'update' in onConflict && set.length > 0 ? `DO UPDATE SET ${set.join(', ')}` : 'DO NOTHING';
    const sql = `INSERT INTO ${t.name} (${names.join(', ')}) SELECT ${names.join(', ')} FROM jsonb_populate_recordset(NULL::${t.name}, $1::jsonb) ON CONFLICT (${conflict.join(', ')}) ${action}`;
    for (const chunk of chunks(group)) await em.query(sql, [JSON.stringify(chunk.map((row) => docOf(row, columns)))]);
  }
}

/**
 * One `UPDATE ... FROM unnest(keys, patches)` for every patch of a table: each patch a jsonb object
 * of the columns it sets, laid over the row it updates (jsonb_populate_record), so columns a patch
 * leaves out keep their value. A key the table does not have updates nothing.
 */
export async function updateRows<E extends ObjectLiteral>(em: EntityManager, entity: EntityTarget<E>, keyProperty: string, patches: ReadonlyMap<string, object>): Promise<void> {
  if (patches.size === 0) return;
  const t = tableOf(em, entity);
  const columns = [...new Set([...patches.values()].flatMap(definedKeys))].map((p) => t.column(p));
  if (columns.length === 0) return;
  const names = columns.map((c) => quote(c.databaseName));
  const sql =
    `UPDATE ${t.name} AS t SET (${names.join(', ')}) = (SELECT ${names.map((n) => `r.${n}`).join(', ')} FROM jsonb_populate_record(t, p.patch) AS r) ` +
    `FROM unnest($1::text[], $2::jsonb[]) AS p(key, patch) WHERE t.${t.col(keyProperty)} = p.key`;
  for (const chunk of chunks([...patches])) {
    await em.query(sql, [chunk.map(([key]) => key), chunk.map(([, patch]) => JSON.stringify(docOf(patch, columns)))]);
  }
}

/** `DELETE` of the rows of `keys` (text keys), ROWS_PER_STATEMENT_MAX a statement. */
export async function deleteRows<E extends ObjectLiteral>(em: EntityManager, entity: EntityTarget<E>, keyProperty: string, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  const t = tableOf(em, entity);
  for (const chunk of chunks(keys)) await em.query(`DELETE FROM ${t.name} WHERE ${t.col(keyProperty)} = ANY($1::text[])`, [chunk]);
}

/**
 * The rows whose `property` is one of `values` (a key, or a column such as a job id), as TypeORM
 * reads them (transformers applied): one `SELECT ... WHERE property IN (...)` a
 * ROWS_PER_STATEMENT_MAX values, none for no values. `select`: only these columns.
 */
export async function readRows<E extends ObjectLiteral>(em: EntityManager, entity: EntityTarget<E>, property: keyof E & string, values: readonly string[], select?: FindOptionsSelect<E>): Promise<E[]> {
  const out: E[] = [];
  for (const chunk of chunks(values)) {
    out.push(...(await em.getRepository(entity).find({ ...(select ? { select } : {}), where: { [property]: In(chunk) } as never })));
  }
  return out;
}

/**
 * A value as Postgres reads it back from jsonb into its column: through the column's transformer
 * first (amounts to decimal strings), as TypeORM writes it; times as ISO strings; objects as they
 * are (jsonb columns), as TypeORM's JSON.stringify of them.
 */
function jsonValueOf(column: ColumnMetadata, value: unknown): unknown {
  let v = value;
  const transformer = column.transformer;
  if (transformer) v = Array.isArray(transformer) ? transformer.reduce((x: unknown, tr) => tr.to(x), v) : transformer.to(v);
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return v.toString();
  return v;
}
