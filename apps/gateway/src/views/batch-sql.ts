import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import type { TradeEvent } from '@starminer/events';

/**
 * What the gateway's projections written a batch at a time (views-batch.ts, webhooks-batch.ts)
 * share: statement size bounds, table and column names from the entities' metadata, the job an
 * event names.
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

/** The job an event names, if it is a job's (its `data.jobId`). */
export function jobIdOf(e: TradeEvent): string | undefined {
  const id = (e.data as { jobId?: unknown }).jobId;
  return typeof id === 'string' ? id : undefined;
}
