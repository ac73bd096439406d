import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TestDatabase, TestNats } from '@starminer/testing';
import type { DataSource } from 'typeorm';
import { ProjectionRunner, type TradeLog } from '../src';
import { closeLogAndDatabase, eventually, openLogAndDatabase, testEvent } from './helpers';

let nats: TestNats;
let db: TestDatabase;
let log: TradeLog;
let ds: DataSource;

beforeAll(async () => {
  ({ nats, db, log, ds } = await openLogAndDatabase('crash-spec', { schema: 'crash', poolSize: 2, ddl: ['CREATE TABLE crash.rows (event_id text PRIMARY KEY, seq bigint NOT NULL)'] }));
});

afterAll(() => closeLogAndDatabase({ nats, db, log, ds }));

const count = async (): Promise<number> => ((await ds.query('SELECT count(*)::int AS n FROM crash.rows')) as { n: number }[])[0].n;
const checkpoint = async (): Promise<number> => {
  const r = (await ds.query(`SELECT last_seq FROM crash.projection_checkpoint WHERE name = 'rows'`)) as { last_seq: string }[];
  return r.length ? Number(r[0].last_seq) : 0;
};

describe('a projection process killed (SIGKILL) mid-batch', () => {
  it('leaves no partial batch, and a new process applies every event exactly once', async () => {
    const acks = await log.append('trade.pool.crash', Array.from({ length: 60 }, (_, i) => testEvent('crash', 'E', { i })), { expectedLastSubjectSeq: 0 });
    const blockAt = acks[39].seq;
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures/projection-child.ts'), nats.url, db.url, String(blockAt)], {
      cwd: join(__dirname, '../../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const blocked = await new Promise<boolean>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (l) => l === 'BLOCKED' && resolve(true));
      child.once('exit', () => resolve(false));
    });
    expect({ blocked, stderr }).toEqual({ blocked: true, stderr: '' });
    // 40 rows sit in the child's open transaction
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    // Postgres rolls the dead connection's transaction back: no row, no checkpoint
    await eventually(async () => ((await ds.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'`)) as { n: number }[])[0].n === 0);
    expect(await count()).toBe(0);
    expect(await checkpoint()).toBe(0);

    const runner = new ProjectionRunner({
      tradeLog: log,
      dataSource: ds,
      schema: 'crash',
      name: 'rows',
      filterSubjects: ['trade.pool.>'],
      apply: async (em, e) => void (await em.query('INSERT INTO crash.rows (event_id, seq) VALUES ($1, $2)', [e.event.id, e.seq])),
    });
    await runner.start();
    await runner.waitUntil(acks[59].seq);
    await runner.stop();
    expect(await count()).toBe(60);
    expect(await checkpoint()).toBe(acks[59].seq);
  }, 60_000);
});
