/**
 * The gateway's webhooks projection, per event against a batch at a time (`npm run bench:webhooks
 * [-- --jobs N --batch B --in-flight F --seed S]`).
 *
 * 1. Makes up a market's log in memory (apps/gateway/src/views/views-stream.testing.ts): N jobs
 *    (default 2,000, about 10 events each) through whole lifecycles, F of them in flight at once
 *    (default 100) so their events interleave as on the log, with nodes, orgs and price moves; and
 *    the same webhooks in both schemas: of ORGS orgs, a quarter with none, a quarter with one, a
 *    quarter with two and a quarter with three (one of them deleted).
 * 2. Applies it into a fresh schema with the per-event path (`applyToWebhooks`, the baseline), then
 *    into another with the batch path (`applyWebhooksBatch`), both in batches of B events (default
 *    BATCH_MAX_DEFAULT, what the projection runner takes), each batch one transaction that locks
 *    and moves a checkpoint row as the runner does. A throwaway warm-up run first, so neither
 *    measured run starts cold.
 * 3. Checks that both schemas hold the same rows, every table.
 *
 * Prints events/s of each path, the ratio, statements per event, the bench process's CPU per
 * event, and, last, one JSON line. Postgres: DATABASE_URL, else 127.0.0.1:5432, else the embedded
 * one (createTestDatabase); the database is dropped at the end.
 */
import { isDeepStrictEqual } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DataSource, type EntityManager, type Logger } from 'typeorm';
import { createTestDatabase } from '@starminer/testing';
import { BATCH_MAX_DEFAULT, BATCH_MAX_LIMIT, type StoredEvent } from '@starminer/trade-log';
import { viewsStream } from '../../apps/gateway/src/views/views-stream.testing';
import { WEBHOOK_ENTITIES, WebhookDeliveryRow, WebhookJobRow, WebhookRow } from '../../apps/gateway/src/webhooks/entities';
import { applyWebhooksBatch } from '../../apps/gateway/src/webhooks/follow/webhooks-batch';
import { applyToWebhooks } from '../../apps/gateway/src/webhooks/follow/webhooks.projection';
import { numberOption } from '../cli-options';

const JOBS_DEFAULT = 2_000;
/** ~100,000 events: the per-event path takes a minute or two of them on this machine */
const JOBS_MAX = 10_000;
const IN_FLIGHT_DEFAULT = 100;
const SEED_DEFAULT = 42;
const WARMUP_JOBS = 200;
const NODES = 200;
const ORGS = 20;
/** One clock for both paths: `pendingSince` then compares too. */
const NOW = new Date('2026-03-01T00:00:00.000Z');

/** org-(4k+1) none, org-(4k+2) one, org-(4k+3) two, org-(4k+4) three with the last deleted; every one from the log's start. */
function webhooksOf(orgs: number): WebhookRow[] {
  const rows: WebhookRow[] = [];
  for (let i = 1; i <= orgs; i++) {
    for (let w = 0; w < (i - 1) % 4; w++) {
      const deleted = (i - 1) % 4 === 3 && w === 2;
      rows.push({
        webhookId: `wh-${i}-${w}`,
        orgId: `org-${i}`,
        url: `https://hooks.example/${i}/${w}`,
        description: null,
        secret: deleted ? null : 'whsec_x',
        createdAt: NOW,
        afterSeq: '0',
        deletedAt: deleted ? NOW : null,
        consecutiveFailures: 0,
        nextAttemptAt: NOW,
        leaseUntil: null,
        leaseOwner: null,
      });
    }
  }
  return rows;
}

const OPTIONS = {
  jobs: { type: 'string' },
  batch: { type: 'string' },
  'in-flight': { type: 'string' },
  seed: { type: 'string' },
} as const;

type Path = 'perEvent' | 'batch';

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
async function openSchema(url: string, schema: string): Promise<{ ds: DataSource; statements: StatementCounter }> {
  const admin = new DataSource({ type: 'postgres', url });
  await admin.initialize();
  await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await admin.destroy();
  const statements = new StatementCounter();
  const ds = new DataSource({ type: 'postgres', url, schema, entities: WEBHOOK_ENTITIES, synchronize: true, poolSize: 2, logging: ['query'], logger: statements });
  await ds.initialize();
  await ds.query(`CREATE TABLE "${schema}".projection_checkpoint (name text PRIMARY KEY, last_seq bigint NOT NULL)`);
  await ds.query(`INSERT INTO "${schema}".projection_checkpoint VALUES ('webhooks', 0)`);
  await ds.getRepository(WebhookRow).insert(webhooksOf(ORGS));
  return { ds, statements };
}

/** One transaction a batch, as the runner: lock the checkpoint, write the rows, move the checkpoint. */
async function applyAll(ds: DataSource, schema: string, path: Path, events: readonly StoredEvent[], batchMax: number): Promise<void> {
  for (let i = 0; i < events.length; i += batchMax) {
    const batch = events.slice(i, i + batchMax);
    await ds.transaction(async (em: EntityManager) => {
      await em.query(`SELECT last_seq FROM "${schema}".projection_checkpoint WHERE name = 'webhooks' FOR UPDATE`);
      if (path === 'batch') await applyWebhooksBatch(em, batch, NOW);
      else for (const e of batch) await applyToWebhooks(em, e, NOW);
      await em.query(`UPDATE "${schema}".projection_checkpoint SET last_seq = $1 WHERE name = 'webhooks'`, [batch[batch.length - 1]!.seq]);
    });
  }
}

/** The projection's rows go; the webhooks stay. */
async function truncate(ds: DataSource, schema: string): Promise<void> {
  await ds.query(`TRUNCATE ${[WebhookJobRow, WebhookDeliveryRow].map((e) => `"${schema}"."${ds.getMetadata(e).tableName}"`).join(', ')}`);
  await ds.query(`UPDATE "${schema}".projection_checkpoint SET last_seq = 0`);
}

async function rowsOf(ds: DataSource, schema: string): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const entity of WEBHOOK_ENTITIES) {
    const meta = ds.getMetadata(entity);
    const keys = meta.primaryColumns.map((c) => `"${c.databaseName}"`).join(', ');
    out[meta.tableName] = (await ds.query(`SELECT * FROM "${schema}"."${meta.tableName}" ORDER BY ${keys}`)) as unknown[];
  }
  return out;
}

async function measure(ds: DataSource, statements: StatementCounter, schema: string, path: Path, events: readonly StoredEvent[], batchMax: number) {
  const before = statements.count;
  const cpu = process.cpuUsage();
  const start = performance.now();
  await applyAll(ds, schema, path, events, batchMax);
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

async function main(): Promise<void> {
  const { values } = parseArgs({ options: OPTIONS });
  const jobs = numberOption(values, 'jobs', JOBS_DEFAULT, { min: 1, max: JOBS_MAX });
  const batchMax = numberOption(values, 'batch', BATCH_MAX_DEFAULT, { min: 1, max: BATCH_MAX_LIMIT });
  const inFlight = numberOption(values, 'in-flight', IN_FLIGHT_DEFAULT, { min: 1, max: 10_000 });
  const seed = numberOption(values, 'seed', SEED_DEFAULT, { min: 0, max: 2 ** 31 });

  const events = viewsStream({ jobs, seed, inFlight, nodes: NODES, orgs: ORGS });
  const warmup = viewsStream({ jobs: Math.min(jobs, WARMUP_JOBS), seed: seed + 1, inFlight, nodes: NODES, orgs: ORGS });
  console.log(
    `webhooks projection: ${jobs} jobs, ${events.length} events, ${inFlight} jobs in flight, batches of ${batchMax}; ` +
      `node ${process.version}, ${cpus().length} cores, load average ${round(loadavg()[0]!)}`,
  );

  const db = await createTestDatabase();
  const opened: DataSource[] = [];
  try {
    const perEvent = await openSchema(db.url, 'webhooks_per_event');
    const batch = await openSchema(db.url, 'webhooks_batch');
    opened.push(perEvent.ds, batch.ds);
    // warm-up: both paths, then the rows go
    await applyAll(perEvent.ds, 'webhooks_per_event', 'perEvent', warmup, batchMax);
    await applyAll(batch.ds, 'webhooks_batch', 'batch', warmup, batchMax);
    await truncate(perEvent.ds, 'webhooks_per_event');
    await truncate(batch.ds, 'webhooks_batch');

    const baseline = await measure(perEvent.ds, perEvent.statements, 'webhooks_per_event', 'perEvent', events, batchMax);
    const batched = await measure(batch.ds, batch.statements, 'webhooks_batch', 'batch', events, batchMax);
    const same = isDeepStrictEqual(await rowsOf(perEvent.ds, 'webhooks_per_event'), await rowsOf(batch.ds, 'webhooks_batch'));
    if (!same) throw new Error('the batch path left rows the per-event path did not: see apps/gateway/src/webhooks/follow/webhooks-batch.spec.ts');
    const ratio = round(batched.eventsPerSec / baseline.eventsPerSec, 2);
    console.log(`batch / per event: ${ratio}× the events/s; both schemas hold the same rows`);
    console.log(
      JSON.stringify({
        bench: 'webhooks',
        webhooks: webhooksOf(ORGS).filter((w) => w.deletedAt === null).length,
        jobs,
        events: events.length,
        batchMax,
        inFlight,
        seed,
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

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
