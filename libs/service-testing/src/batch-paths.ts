import fc from 'fast-check';
import { DataSource, type EntityManager, type EntitySchema, type ObjectLiteral } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '@starminer/testing';
import type { StoredEvent } from '@starminer/trade-log';

/**
 * For the specs of a projection written two ways (per event, and a batch at a time, a read
 * model's `apply` and `applyBatch`): a read model on a real Postgres, the log's redeliveries,
 * applying a log in batches as the runner does, a read model's rows, and the checks that the batch
 * path writes what the per-event path writes.
 */

/** A TypeORM entity class (what a DataSource's `entities` and `getMetadata` take). */
type EntityClass = new () => ObjectLiteral;

export interface ReadModelUnderTest {
  readonly ds: DataSource;
  close(): Promise<void>;
}

/** A fresh real Postgres database with `entities` synchronized: a read model as its projection writes it. */
export async function readModelOnTestDatabase(entities: readonly (string | (new () => unknown) | EntitySchema)[], poolSize = 2): Promise<ReadModelUnderTest> {
  const db: TestDatabase = await createTestDatabase();
  const ds = new DataSource({ type: 'postgres', url: db.url, entities: [...entities] as never, synchronize: true, poolSize });
  await ds.initialize();
  return {
    ds,
    async close() {
      await ds.destroy();
      await db.drop();
    },
  };
}

/**
 * A read model for one spec file: created before its tests, dropped after them (jest hooks). Read
 * `ds` inside tests and hooks, once the database exists.
 */
export function readModelPerSpec(entities: Parameters<typeof readModelOnTestDatabase>[0], poolSize?: number): { readonly ds: DataSource } {
  let model: ReadModelUnderTest | undefined;
  beforeAll(async () => {
    model = await readModelOnTestDatabase(entities, poolSize);
  }, 120_000);
  afterAll(() => model?.close());
  return {
    get ds(): DataSource {
      if (!model) throw new Error('the read model exists only inside the tests and hooks of its spec');
      return model.ds;
    },
  };
}

/** `extra` spread evenly through `base`, in order (what is left goes at the end). */
export function spreadThrough<T>(base: readonly T[], extra: readonly T[]): T[] {
  const rest = [...extra];
  const out: T[] = [];
  const step = Math.max(1, Math.floor(base.length / Math.max(1, rest.length)));
  base.forEach((p, i) => {
    out.push(p);
    if (i % step === step - 1 && rest.length > 0) out.push(rest.shift()!);
  });
  return [...out, ...rest];
}

/**
 * A log at least once delivered: `at(type, nth, ofJobWith)` finds an event of the stored log (none of
 * `skipJobId`'s; with `ofJobWith`, of a job that also has an event of that type), `of(type, target)` the event of that type of `target`'s job,
 * `insertAfter(target, delivered, gap)` delivers one again `gap` events after `target`; `log` is the result.
 */
export function redelivered(stored: readonly StoredEvent[], skipJobId: string) {
  const log = [...stored];
  return {
    log,
    at(type: string, nth = 0, ofJobWith?: string): StoredEvent {
      const jobOf = (s: StoredEvent): string | undefined => (s.event.data as { jobId?: string }).jobId;
      const hasOther = (s: StoredEvent): boolean => ofJobWith === undefined || stored.some((o) => o.event.type === ofJobWith && jobOf(o) === jobOf(s));
      const found = stored.filter((s) => s.event.type === type && jobOf(s) !== skipJobId && hasOther(s))[nth];
      if (!found) throw new Error(`the log has no ${type} #${nth}${ofJobWith ? ` of a job with ${ofJobWith}` : ''}`);
      return found;
    },
    of(type: string, target: StoredEvent): StoredEvent {
      const jobId = (target.event.data as { jobId?: string }).jobId;
      const found = stored.find((s) => s.event.type === type && (s.event.data as { jobId?: string }).jobId === jobId);
      if (jobId === undefined || !found) throw new Error(`the log has no ${type} of ${jobId ?? 'no job'}`);
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

/** Each event in its own transaction, as the runner's per-event path does. */
export async function applyPerEvent(ds: DataSource, apply: (em: EntityManager, e: StoredEvent) => Promise<unknown>, events: readonly StoredEvent[]): Promise<void> {
  for (const e of events) await ds.transaction((em) => apply(em, e));
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

/**
 * For a read model whose rows another writer also moves (a reconciler's retry bookkeeping, a chain
 * check's findings, columns the log does not decide): with `touch` (that writer) run on both
 * databases after each of `cuts` events, the log applied per event into one and in batches of each
 * of `sizes` into the other (batches ending at the cuts) leaves the same rows, so the batch path
 * writes those columns exactly where the per-event path does, and leaves them where it does not.
 * `expectTouched` checks the per-event rows show both (the touch is worth comparing).
 */
export function itKeepsWhatAnotherWriterWrites(
  path: BatchPath,
  applyOne: (em: EntityManager, e: StoredEvent) => Promise<unknown>,
  ds: () => { perEvent: DataSource; batched: DataSource },
  log: readonly StoredEvent[],
  another: { readonly cuts: readonly number[]; touch(ds: DataSource): Promise<void>; expectTouched(rows: Record<string, unknown[]>): void },
  sizes: readonly number[] = [3, 50, log.length],
): void {
  const ends = [...new Set(another.cuts.filter((c) => c > 0 && c < log.length))].sort((a, b) => a - b);
  const segments = [...ends, log.length].map((end, i) => log.slice(i === 0 ? 0 : ends[i - 1], end));
  it.each(sizes)('given another writer moves the rows between batches, when the log is applied in batches of %i, then every table holds the rows the per-event path writes', async (size) => {
    const { perEvent, batched } = ds();
    await cleared(path, perEvent);
    await cleared(path, batched);
    for (const [i, segment] of segments.entries()) {
      await applyPerEvent(perEvent, applyOne, segment);
      await applyInBatches(path, batched, segment, every(size, segment.length));
      if (i < segments.length - 1) {
        await another.touch(perEvent);
        await another.touch(batched);
      }
    }
    const want = await rowsOf(path, perEvent);
    another.expectTouched(want);
    expect(await rowsOf(path, batched)).toEqual(want);
  });
}
