/**
 * Projection throughput: how many events per second a ProjectionRunner applies to Postgres, with
 * one transaction per event (batchMax 1), with batches of 100 written one INSERT per event
 * (`apply`), and with batches of 100 written as one multi-row INSERT (`applyBatch`). Each event
 * writes one row.
 *
 *   npx tsx libs/trade-log/bench/projection-throughput.ts [events=20000]
 *
 * Starts its own nats-server and a fresh database (DATABASE_URL, else 127.0.0.1:5432, else embedded
 * Postgres), appends the events once, then replays them through one runner per batch size. The
 * last line is JSON.
 */
import { cpus, loadavg } from 'node:os';
import { createTestDatabase, startNats } from '@starminer/testing';
import { DataSource, type EntityManager } from 'typeorm';
import { uuidv7 } from 'uuidv7';
import { connectTradeLog, jsonDecode, jsonEncode, ProjectionRunner, type StoredEvent } from '../src';

/** The bench measures Postgres with made-up event types: plain JSON, no catalogue. */
const TEST_CODEC = { encode: jsonEncode, decode: jsonDecode } as const;

const EVENTS_DEFAULT = 20_000;
const PUBLISH_CONCURRENCY = 500;
/** Transaction size and how rows are written: one INSERT per event, or one multi-row INSERT per batch. */
const RUNS = [
  { batchMax: 1, mode: 'apply' },
  { batchMax: 100, mode: 'apply' },
  { batchMax: 100, mode: 'applyBatch' },
] as const;
const RUN_TIMEOUT_MS = 10 * 60_000;

async function main(): Promise<void> {
  const events = Number(process.argv[2] ?? EVENTS_DEFAULT);
  const [nats, db] = await Promise.all([startNats(), createTestDatabase()]);
  const log = await connectTradeLog({ servers: nats.url, name: 'bench-projection', ...TEST_CODEC });
  const ds = new DataSource({ type: 'postgres', url: db.url, poolSize: 4 });
  try {
    await log.ensureStream();
    await ds.initialize();
    await ds.query('CREATE SCHEMA bench');

    const t0 = performance.now();
    let last = 0;
    for (let i = 0; i < events; i += PUBLISH_CONCURRENCY) {
      const chunk = Array.from({ length: Math.min(PUBLISH_CONCURRENCY, events - i) }, (_, k) => i + k);
      const acks = await Promise.all(
        chunk.map((n) =>
          log.append(
            `trade.job.j${n % 1000}`,
            [{ id: uuidv7(), type: 'JobQueued', schemaVersion: 1, aggregateId: `j${n % 1000}`, occurredAt: new Date(0).toISOString(), correlationId: `j${n}`, causationId: `j${n}`, actor: 'service:bench', data: { n, priceWeiPerHour: 10n ** 18n } }],
            { expectedLastSubjectSeq: 'any' },
          ),
        ),
      );
      last = Math.max(last, ...acks.map((a) => a[0].seq));
    }
    const appendSeconds = (performance.now() - t0) / 1000;
    console.log(`appended ${events} events in ${appendSeconds.toFixed(2)} s (${Math.round(events / appendSeconds)} events/s, ${PUBLISH_CONCURRENCY} in flight)`);

    const results: Record<string, number> = {};
    for (const { batchMax, mode } of RUNS) {
      const name = `rows_${mode}_b${batchMax}`;
      const table = `bench.${name}`;
      await ds.query(`CREATE TABLE ${table} (event_id uuid PRIMARY KEY, seq bigint NOT NULL, aggregate_id text NOT NULL, price_wei numeric(78,0) NOT NULL)`);
      const row = ({ seq, event }: StoredEvent): unknown[] => [event.id, seq, event.aggregateId, (event.data as { priceWeiPerHour: string }).priceWeiPerHour];
      const runner = new ProjectionRunner({
        tradeLog: log,
        dataSource: ds,
        schema: 'bench',
        name,
        filterSubjects: ['trade.job.>'],
        batchMax,
        ...(mode === 'apply'
          ? { apply: async (em: EntityManager, e: StoredEvent) => void (await em.query(`INSERT INTO ${table} VALUES ($1, $2, $3, $4)`, row(e))) }
          : {
              applyBatch: async (em: EntityManager, batch: StoredEvent[]) => {
                // one statement for the batch: unnest() of four parallel arrays
                const cols = [0, 1, 2, 3].map((i) => batch.map((e) => row(e)[i]));
                await em.query(`INSERT INTO ${table} SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::numeric[])`, cols);
              },
            }),
      });
      const start = performance.now();
      await runner.start();
      await runner.waitUntil(last, RUN_TIMEOUT_MS);
      const seconds = (performance.now() - start) / 1000;
      await runner.stop();
      const [{ n }] = (await ds.query(`SELECT count(*)::int AS n FROM ${table}`)) as { n: number }[];
      if (n !== events) throw new Error(`expected ${events} rows, found ${n}`);
      const rate = Math.round(events / seconds);
      results[`${mode === 'apply' ? 'perEventInsert' : 'multiRowInsert'}Batch${batchMax}EventsPerSec`] = rate;
      console.log(`${mode.padEnd(10)} batchMax ${String(batchMax).padStart(3)}: ${events} events in ${seconds.toFixed(2)} s = ${rate} events/s (${runner.stats.batches} transactions)`);
    }
    const load = loadavg()[0].toFixed(1);
    console.log(JSON.stringify({ bench: 'projection-throughput', events, cpus: cpus().length, loadAvg1m: Number(load), node: process.version, ...results }));
  } finally {
    await ds.destroy().catch(() => undefined);
    await log.close().catch(() => undefined);
    await Promise.all([nats.stop(), db.drop()]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
