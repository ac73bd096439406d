import fc from 'fast-check';
import type { DataSource, EntityManager, ObjectLiteral } from 'typeorm';
import type { StoredEvent } from '@starminer/trade-log';
import type { PendingEvent } from '../views/views-stream.testing';

/** A TypeORM entity class (what a DataSource's `entities` and `getMetadata` take). */
type EntityClass = new () => ObjectLiteral;

/**
 * For the specs of a projection written two ways (per event, and a batch at a time): the log's
 * redeliveries, applying a log in batches as the runner does, a read model's rows, and the checks
 * that the batch path writes what the per-event path writes.
 */

/** `extra` spread evenly through `base`, in order (what is left goes at the end). */
export function spreadThrough(base: readonly PendingEvent[], extra: readonly PendingEvent[]): PendingEvent[] {
  const rest = [...extra];
  const out: PendingEvent[] = [];
  const step = Math.max(1, Math.floor(base.length / Math.max(1, rest.length)));
  base.forEach((p, i) => {
    out.push(p);
    if (i % step === step - 1 && rest.length > 0) out.push(rest.shift()!);
  });
  return [...out, ...rest];
}

/**
 * A log at least once delivered: `at(type, nth)` finds an event of the stored log (none of
 * `skipJobId`'s), `insertAfter(target, delivered, gap)` delivers one again `gap` events after
 * `target`; `log` is the result.
 */
export function redelivered(stored: readonly StoredEvent[], skipJobId: string) {
  const log = [...stored];
  return {
    log,
    at(type: string, nth = 0): StoredEvent {
      const found = stored.filter((s) => s.event.type === type && (s.event.data as { jobId?: string }).jobId !== skipJobId)[nth];
      if (!found) throw new Error(`the log has no ${type} #${nth}`);
      return found;
    },
    insertAfter(target: StoredEvent, delivered: StoredEvent, gap: number): void {
      log.splice(log.indexOf(target) + 1 + gap, 0, delivered);
    },
  };
}

/** Batch ends every `size` events. */
export const every = (size: number, length: number): number[] => Array.from({ length: Math.ceil(length / size) }, (_, i) => (i + 1) * size);

/** One projection's batch path and its tables. */
export interface BatchPath {
  readonly apply: (em: EntityManager, events: StoredEvent[]) => Promise<unknown>;
  /** Every table compared. */
  readonly entities: EntityClass[];
  /** The tables the projection writes (emptied between checks); default: every one. */
  readonly written?: EntityClass[];
}

/** In batches ending before each of `cuts` (and at the end), each in its own transaction, as the runner does. */
export async function applyInBatches(path: BatchPath, ds: DataSource, events: readonly StoredEvent[], cuts: readonly number[]): Promise<void> {
  const ends = [...new Set([...cuts.filter((c) => c > 0 && c < events.length), events.length])].sort((a, b) => a - b);
  let from = 0;
  for (const end of ends) {
    const batch = events.slice(from, end);
    await ds.transaction((em) => path.apply(em, batch));
    from = end;
  }
}

/** Every row of every table, in key order, as Postgres holds them. */
export async function rowsOf(path: BatchPath, ds: DataSource): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const entity of path.entities) {
    const meta = ds.getMetadata(entity);
    const keys = meta.primaryColumns.map((c) => `"${c.databaseName}"`).join(', ');
    out[meta.tableName] = (await ds.query(`SELECT * FROM "${meta.tableName}" ORDER BY ${keys}`)) as unknown[];
  }
  return out;
}

export async function cleared(path: BatchPath, ds: DataSource): Promise<void> {
  await ds.query(`TRUNCATE ${(path.written ?? path.entities).map((e) => `"${ds.getMetadata(e).tableName}"`).join(', ')}`);
}

/**
 * The checks every batch path must pass against the rows the per-event path wrote (`expected()`):
 * batches of 1, 7 and the whole log; batches split anywhere (fast-check); the log applied twice.
 */
export function itWritesWhatThePerEventPathWrites(path: BatchPath, ds: () => DataSource, log: readonly StoredEvent[], expected: () => Record<string, unknown[]>): void {
  it.each([1, 7, log.length])('when applied in batches of %i, then every table holds the rows the per-event path writes', async (size) => {
    await cleared(path, ds());
    await applyInBatches(path, ds(), log, every(size, log.length));
    expect(await rowsOf(path, ds())).toEqual(expected());
  });

  it('when applied in batches split anywhere, then every table holds the rows the per-event path writes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: log.length - 1 }), { maxLength: 40 }), async (cuts) => {
        await cleared(path, ds());
        await applyInBatches(path, ds(), log, cuts);
        expect(await rowsOf(path, ds())).toEqual(expected());
      }),
      { numRuns: 12 },
    );
  });

  it('given the log applied in batches, when it is applied again (delivered twice), then the rows are the same', async () => {
    await cleared(path, ds());
    await applyInBatches(path, ds(), log, every(7, log.length));
    await applyInBatches(path, ds(), log, every(50, log.length));
    expect(await rowsOf(path, ds())).toEqual(expected());
  });
}
