/**
 * One projection written two ways, on one generated log: per event (the baseline) against a batch
 * at a time (what bench:views and bench:webhooks run; their files say what each projection is).
 *
 * 1. Makes up a market's log in memory (apps/gateway/src/views/views-stream.testing.ts): N jobs
 *    (default 2,000, about 7 events each) through whole lifecycles, F of them in flight at once
 *    (default 100) so their events interleave as on the log, with nodes, orgs and price moves.
 * 2. Applies it into a fresh schema with the per-event path, then into another with the batch path,
 *    both in batches of B events (default BATCH_MAX_DEFAULT, what the projection runner takes),
 *    each batch one transaction that locks and moves a checkpoint row as the runner does. A
 *    throwaway warm-up run first, so neither measured run starts cold.
 * 3. Checks that both schemas hold the same rows, every table.
 *
 * Prints events/s of each path, the ratio, statements per event, the bench process's CPU per
 * event, and, last, one JSON line. Postgres: DATABASE_URL, else 127.0.0.1:5432, else the embedded
 * one (createTestDatabase); the database is dropped at the end.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { DataSource, type EntityManager, type Logger, type ObjectLiteral } from 'typeorm';
import { createTestDatabase } from '@starminer/testing';
import { BATCH_MAX_DEFAULT, BATCH_MAX_LIMIT, type StoredEvent } from '@starminer/trade-log';
import { viewsStream } from '../../apps/gateway/src/views/views-stream.testing';
import { numberOption } from '../cli-options';

/** A TypeORM entity class (what a DataSource's `entities` and `getMetadata` take). */
type EntityClass = new () => ObjectLiteral;

const JOBS_DEFAULT = 2_000;
/** ~70,000 events: the per-event path takes a minute or two of them on this machine */
const JOBS_MAX = 10_000;
const IN_FLIGHT_DEFAULT = 100;
const SEED_DEFAULT = 42;
const WARMUP_JOBS = 200;
export const BENCH_NODES = 200;
export const BENCH_ORGS = 20;

const OPTIONS = {
  jobs: { type: 'string' },
  batch: { type: 'string' },
  'in-flight': { type: 'string' },
  seed: { type: 'string' },
} as const;

type Path = 'perEvent' | 'batch';

/** What one projection bench measures. */
export interface ProjectionPaths {
  /** The projection's name: the bench's and the checkpoint row's. */
  readonly name: string;
  /** Every table the schema needs (and that is compared). */
  readonly entities: EntityClass[];
  /** The tables the projection writes (emptied after the warm-up); default: every one. */
  readonly written?: EntityClass[];
  /** Rows both schemas start with (e.g. the webhooks a projection reads). */
  readonly seed?: (ds: DataSource) => Promise<void>;
  readonly perEvent: (em: EntityManager, e: StoredEvent) => Promise<unknown>;
  readonly batch: (em: EntityManager, events: StoredEvent[]) => Promise<unknown>;
  /** Where a difference between the paths is explained. */
  readonly spec: string;
  /** More fields for the JSON line. */
  readonly extra?: Record<string, unknown>;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Counts the statements a DataSource sends (BEGIN and COMMIT included). */
class StatementCounter implements Logger {
  count = 0;
  logQuery(): void {
    this.count += 1;
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

/** Each path's own schema, with a checkpoint row as the runner keeps it. */
async function openSchema(p: ProjectionPaths, url: string, schema: string): Promise<{ ds: DataSource; statements: StatementCounter }> {
  const admin = new DataSource({ type: 'postgres', url });
  await admin.initialize();
  await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await admin.destroy();
  const statements = new StatementCounter();
  const ds = new DataSource({ type: 'postgres', url, schema, entities: p.entities, synchronize: true, poolSize: 2, logging: ['query'], logger: statements });
  await ds.initialize();
  await ds.query(`CREATE TABLE "${schema}".projection_checkpoint (name text PRIMARY KEY, last_seq bigint NOT NULL)`);
  await ds.query(`INSERT INTO "${schema}".projection_checkpoint VALUES ($1, 0)`, [p.name]);
  await p.seed?.(ds);
  return { ds, statements };
}

/** One transaction a batch, as the runner: lock the checkpoint, write the rows, move the checkpoint. */
async function applyAll(p: ProjectionPaths, ds: DataSource, schema: string, path: Path, events: readonly StoredEvent[], batchMax: number): Promise<void> {
  for (let i = 0; i < events.length; i += batchMax) {
    const batch = events.slice(i, i + batchMax);
    await ds.transaction(async (em: EntityManager) => {
      await em.query(`SELECT last_seq FROM "${schema}".projection_checkpoint WHERE name = $1 FOR UPDATE`, [p.name]);
      if (path === 'batch') await p.batch(em, batch);
      else for (const e of batch) await p.perEvent(em, e);
      await em.query(`UPDATE "${schema}".projection_checkpoint SET last_seq = $1 WHERE name = $2`, [batch[batch.length - 1]!.seq, p.name]);
    });
  }
}

async function truncate(p: ProjectionPaths, ds: DataSource, schema: string): Promise<void> {
  await ds.query(`TRUNCATE ${(p.written ?? p.entities).map((e) => `"${schema}"."${ds.getMetadata(e).tableName}"`).join(', ')}`);
  await ds.query(`UPDATE "${schema}".projection_checkpoint SET last_seq = 0`);
}

async function rowsOf(p: ProjectionPaths, ds: DataSource, schema: string): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const entity of p.entities) {
    const meta = ds.getMetadata(entity);
    const keys = meta.primaryColumns.map((c) => `"${c.databaseName}"`).join(', ');
    out[meta.tableName] = (await ds.query(`SELECT * FROM "${schema}"."${meta.tableName}" ORDER BY ${keys}`)) as unknown[];
  }
  return out;
}

async function measure(p: ProjectionPaths, ds: DataSource, statements: StatementCounter, schema: string, path: Path, events: readonly StoredEvent[], batchMax: number) {
  const before = statements.count;
  const cpu = process.cpuUsage();
  const start = performance.now();
  await applyAll(p, ds, schema, path, events, batchMax);
  const seconds = (performance.now() - start) / 1000;
  const cpuUs = process.cpuUsage(cpu);
  const result = {
    eventsPerSec: Math.round(events.length / seconds),
    seconds: round(seconds, 2),
    statementsPerEvent: round((statements.count - before) / events.length, 2),
    benchCpuUsPerEvent: round((cpuUs.user + cpuUs.system) / events.length, 1),
  };
  console.log(
    `${path === 'batch' ? 'batch    ' : 'per event'}: ${events.length} events in ${result.seconds} s = ${result.eventsPerSec} events/s; ` +
      `${result.statementsPerEvent} statements/event (BEGIN, checkpoint and COMMIT included), bench process CPU ${result.benchCpuUsPerEvent} µs/event`,
  );
  return result;
}

/** Runs the bench for `p` with the command line's options. */
export async function runProjectionPaths(p: ProjectionPaths): Promise<void> {
  const { values } = parseArgs({ options: OPTIONS });
  const jobs = numberOption(values, 'jobs', JOBS_DEFAULT, { min: 1, max: JOBS_MAX });
  const batchMax = numberOption(values, 'batch', BATCH_MAX_DEFAULT, { min: 1, max: BATCH_MAX_LIMIT });
  const inFlight = numberOption(values, 'in-flight', IN_FLIGHT_DEFAULT, { min: 1, max: 10_000 });
  const seed = numberOption(values, 'seed', SEED_DEFAULT, { min: 0, max: 2 ** 31 });

  const events = viewsStream({ jobs, seed, inFlight, nodes: BENCH_NODES, orgs: BENCH_ORGS });
  const warmup = viewsStream({ jobs: Math.min(jobs, WARMUP_JOBS), seed: seed + 1, inFlight, nodes: BENCH_NODES, orgs: BENCH_ORGS });
  console.log(
    `${p.name} projection: ${jobs} jobs, ${events.length} events, ${inFlight} jobs in flight, batches of ${batchMax}; ` +
      `node ${process.version}, ${cpus().length} cores, load average ${round(loadavg()[0]!)}`,
  );

  const db = await createTestDatabase();
  const opened: DataSource[] = [];
  const [perEventSchema, batchSchema] = [`${p.name}_per_event`, `${p.name}_batch`];
  try {
    const perEvent = await openSchema(p, db.url, perEventSchema);
    const batch = await openSchema(p, db.url, batchSchema);
    opened.push(perEvent.ds, batch.ds);
    // warm-up: both paths, then the rows go
    await applyAll(p, perEvent.ds, perEventSchema, 'perEvent', warmup, batchMax);
    await applyAll(p, batch.ds, batchSchema, 'batch', warmup, batchMax);
    await truncate(p, perEvent.ds, perEventSchema);
    await truncate(p, batch.ds, batchSchema);

    const baseline = await measure(p, perEvent.ds, perEvent.statements, perEventSchema, 'perEvent', events, batchMax);
    const batched = await measure(p, batch.ds, batch.statements, batchSchema, 'batch', events, batchMax);
    const same = isDeepStrictEqual(await rowsOf(p, perEvent.ds, perEventSchema), await rowsOf(p, batch.ds, batchSchema));
    if (!same) throw new Error(`the batch path left rows the per-event path did not: see ${p.spec}`);
    const ratio = round(batched.eventsPerSec / baseline.eventsPerSec, 2);
    console.log(`batch / per event: ${ratio}× the events/s; both schemas hold the same rows`);
    console.log(
      JSON.stringify({
        bench: p.name,
        jobs,
        events: events.length,
        batchMax,
        inFlight,
        seed,
        ...p.extra,
        node: process.version,
        cores: cpus().length,
        loadAvg1m: round(loadavg()[0]!),
        perEvent: baseline,
        batch: batched,
        batchVsPerEventEventsPerSec: ratio,
        sameRows: same,
      }),
    );
  } finally {
    for (const ds of opened) await ds.destroy().catch(() => undefined);
    await db.drop();
  }
}

/** The bench's entry: runs it, or prints the error and exits 1. */
export function mainOf(p: ProjectionPaths): void {
  runProjectionPaths(p).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
