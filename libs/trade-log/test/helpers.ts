import type { EventEnvelope } from '@starminer/events';
import { createTestDatabase, startNats, type TestDatabase, type TestNats } from '@starminer/testing';

export { eventually } from '@starminer/testing';
import { DataSource } from 'typeorm';
import { uuidv7 } from 'uuidv7';
import { connectTradeLog, jsonDecode, jsonEncode, type TradeLog } from '../src';

/**
 * These specs test the log's mechanics with made-up event types (`testEvent`), so they read and
 * write plain JSON; catalogue.spec.ts runs the log with the real catalogue codec, as services do.
 */
export const TEST_CODEC = { encode: jsonEncode, decode: jsonDecode } as const;

/** A spec file's own nats-server, trade log (stream ensured), database and a pool on it. */
export interface LogAndDatabase {
  nats: TestNats;
  db: TestDatabase;
  log: TradeLog;
  ds: DataSource;
}

/** Starts them, creates `schema` and runs `ddl` in it; close with closeLogAndDatabase. */
export async function openLogAndDatabase(name: string, opts: { schema: string; poolSize: number; ddl?: string[] }): Promise<LogAndDatabase> {
  const [nats, db] = await Promise.all([startNats(), createTestDatabase()]);
  const log = await connectTradeLog({ servers: nats.url, name, ...TEST_CODEC });
  await log.ensureStream();
  const ds = new DataSource({ type: 'postgres', url: db.url, poolSize: opts.poolSize });
  await ds.initialize();
  await ds.query(`CREATE SCHEMA ${opts.schema}`);
  for (const statement of opts.ddl ?? []) await ds.query(statement);
  return { nats, db, log, ds };
}

/** Closes what openLogAndDatabase opened (any part may be missing when it failed half way). */
export async function closeLogAndDatabase(x: Partial<LogAndDatabase>): Promise<void> {
  await x.ds?.destroy();
  await x.log?.close();
  await Promise.all([x.nats?.stop(), x.db?.drop()]);
}

/** A test event on aggregate `id`; `data` carries what a test needs to assert on. */
export function testEvent(aggregateId: string, type: string, data: Record<string, unknown> = {}): EventEnvelope {
  return {
    id: uuidv7(),
    type,
    schemaVersion: 1,
    aggregateId,
    occurredAt: new Date('2026-01-01T00:00:00.000Z').toISOString(),
    correlationId: aggregateId,
    causationId: aggregateId,
    actor: 'service:test',
    data,
  };
}

