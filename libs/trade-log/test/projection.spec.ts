import type { TestDatabase, TestNats } from '@starminer/testing';
import type { DataSource, EntityManager } from 'typeorm';
import { PROJECTION_CHECKPOINT_FLUSH_MS, ProjectionRunner, ProjectionTimeoutError, TradeLogArgumentError, type StoredEvent, type TradeLog } from '../src';
import { closeLogAndDatabase, eventually, openLogAndDatabase, testEvent } from './helpers';

let nats: TestNats;
let db: TestDatabase;
let log: TradeLog;
let ds: DataSource;

const SCHEMA = 'proj';

beforeAll(async () => {
  ({ nats, db, log, ds } = await openLogAndDatabase('projection-spec', { schema: SCHEMA, poolSize: 6 }));
});

afterAll(() => closeLogAndDatabase({ nats, db, log, ds }));

/** A read model that shows a double apply: `applied` counts how often each event touched its row. */
async function createTable(table: string): Promise<void> {
  await ds.query(`CREATE TABLE ${SCHEMA}.${table} (event_id text PRIMARY KEY, seq bigint NOT NULL, type text NOT NULL, applied int NOT NULL)`);
}

function applyTo(table: string) {
  return async (em: EntityManager, { seq, event }: StoredEvent): Promise<void> => {
    await em.query(
      `INSERT INTO ${SCHEMA}.${table} (event_id, seq, type, applied) VALUES ($1, $2, $3, 1)
       ON CONFLICT (event_id) DO UPDATE SET applied = ${SCHEMA}.${table}.applied + 1`,
      [event.id, seq, event.type],
    );
  };
}

async function rows(table: string): Promise<{ event_id: string; seq: string; type: string; applied: number }[]> {
  return ds.query(`SELECT event_id, seq, type, applied FROM ${SCHEMA}.${table} ORDER BY seq`);
}

async function checkpointOf(name: string): Promise<number> {
  const r = (await ds.query(`SELECT last_seq FROM ${SCHEMA}.projection_checkpoint WHERE name = $1`, [name])) as { last_seq: string }[];
  return r.length ? Number(r[0].last_seq) : 0;
}

function runner(name: string, table: string, filter: string, extra: Partial<ConstructorParameters<typeof ProjectionRunner>[0]> = {}): ProjectionRunner {
  return new ProjectionRunner({
    tradeLog: log,
    dataSource: ds,
    schema: SCHEMA,
    name,
    filterSubjects: [filter],
    apply: applyTo(table),
    reset: (em) => em.query(`DELETE FROM ${SCHEMA}.${table}`),
    onError: () => undefined,
    ...extra,
  });
}

async function appendMany(kind: string, ids: number, perId: number): Promise<number> {
  let last = 0;
  for (let i = 0; i < ids; i += 1) {
    const acks = await log.append(`trade.${kind}.${i}`, Array.from({ length: perId }, (_, n) => testEvent(String(i), `E${n}`)), { expectedLastSubjectSeq: 'any' });
    last = acks[acks.length - 1].seq;
  }
  return last;
}

describe('ProjectionRunner', () => {
  it('applies the filtered events, keeps its checkpoint in Postgres, and resumes from it', async () => {
    await createTable('p1');
    const last = await appendMany('job', 5, 4);
    await appendMany('node', 3, 1); // outside the filter
    const p = runner('p1', 'p1', 'trade.job.>');
    await p.start();
    await p.waitUntil(last);
    expect(await rows('p1')).toHaveLength(20);
    expect(await checkpointOf('p1')).toBe(last);
    await p.stop();

    // while stopped, more events; a new instance starts at checkpoint + 1
    const [more] = await log.append('trade.job.late', [testEvent('late', 'Late')], { expectedLastSubjectSeq: 0 });
    const again = runner('p1', 'p1', 'trade.job.>');
    await again.start();
    expect(again.checkpoint).toBe(last);
    await again.waitUntil(more.seq);
    await again.stop();
    const all = await rows('p1');
    expect(all).toHaveLength(21);
    expect(all.every((r) => r.applied === 1)).toBe(true);
  });

  it('the same event delivered twice (two replicas of one projection) is applied once', async () => {
    await createTable('p2');
    // both replicas receive every event from their own consumer: each event arrives twice
    const a = runner('p2', 'p2', 'trade.contract.>', { batchMax: 7 });
    const b = runner('p2', 'p2', 'trade.contract.>', { batchMax: 3 });
    await Promise.all([a.start(), b.start()]);
    const last = await appendMany('contract', 20, 3);
    await Promise.all([a.waitUntil(last), b.waitUntil(last)].map((w) => w.catch(() => undefined)));
    await eventually(async () => (await checkpointOf('p2')) === last);
    // wait until each replica has seen every event once
    await eventually(() => [a, b].every((r) => r.stats.applied + r.stats.skipped === 60));
    await Promise.all([a.stop(), b.stop()]);
    const all = await rows('p2');
    expect(all).toHaveLength(60);
    expect(all.filter((r) => r.applied !== 1)).toEqual([]);
    expect(await checkpointOf('p2')).toBe(last);
    expect(a.stats.applied + b.stats.applied).toBe(60);
    expect(a.stats.skipped + b.stats.skipped).toBe(60);
  });

  it('a redelivery at or below the checkpoint changes nothing', async () => {
    await createTable('p3');
    const last = await appendMany('vault', 4, 2);
    // A replica that read the checkpoint before the events were applied, and only then got them:
    // its consumer hands over events the checkpoint in Postgres has already passed. Its first
    // batch transaction is held back until the other replica has applied everything.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let armed = false;
    const slowDs = new Proxy(ds, {
      get(target, key, receiver) {
        if (key !== 'transaction') return Reflect.get(target, key, receiver);
        return async (...args: Parameters<DataSource['transaction']>) => {
          if (armed) await gate;
          return (target.transaction as (...a: unknown[]) => Promise<unknown>)(...args);
        };
      },
    });
    const late = runner('p3', 'p3', 'trade.vault.>', { dataSource: slowDs });
    await late.start(); // checkpoint 0, its first batch waits on the gate
    armed = true;
    const p = runner('p3', 'p3', 'trade.vault.>');
    await p.start();
    await p.waitUntil(last);
    const before = await rows('p3');
    release();
    await late.waitUntil(last);
    await Promise.all([late.stop(), p.stop()]);
    expect(await rows('p3')).toEqual(before);
    expect(before.every((r) => r.applied === 1)).toBe(true);
    expect(late.stats.skipped + p.stats.skipped).toBeGreaterThanOrEqual(8);
    expect(late.stats.applied + p.stats.applied).toBe(8);
  });

  it('rebuild() drops the rows and replays the log to the same rows', async () => {
    await createTable('p4');
    const last = await appendMany('account', 10, 3);
    const p = runner('p4', 'p4', 'trade.account.>');
    await p.start();
    await p.waitUntil(last);
    const before = await rows('p4');
    await p.rebuild();
    await p.waitUntil(last);
    expect(await rows('p4')).toEqual(before);
    expect(await checkpointOf('p4')).toBe(last);
    await p.stop();
  });

  it('shapeVersion: a store of an older shape is rebuilt once at start; the same or a newer shape is kept', async () => {
    await createTable('p4v');
    const last = await appendMany('mint', 4, 2);
    const v1 = runner('p4v', 'p4v', 'trade.mint.>');
    await v1.start();
    await v1.waitUntil(last);
    await v1.stop();
    // rows the old code wrote wrongly: a new shape must not keep them
    await ds.query(`UPDATE ${SCHEMA}.p4v SET applied = 99`);
    const v2 = runner('p4v', 'p4v', 'trade.mint.>', { shapeVersion: 2 });
    await v2.start();
    await v2.waitUntil(last);
    await v2.stop();
    const rebuilt = await rows('p4v');
    expect(rebuilt).toHaveLength(8);
    expect(rebuilt.every((r) => r.applied === 1)).toBe(true);
    // started again at the same shape: nothing is replayed
    await ds.query(`UPDATE ${SCHEMA}.p4v SET applied = 5`);
    const again = runner('p4v', 'p4v', 'trade.mint.>', { shapeVersion: 2 });
    await again.start();
    await again.waitUntil(last);
    await again.stop();
    expect((await rows('p4v')).every((r) => r.applied === 5)).toBe(true);
    // older code (shape 1) on a store of shape 2: left alone, said
    const errors: unknown[] = [];
    const older = runner('p4v', 'p4v', 'trade.mint.>', { shapeVersion: 1, onError: (e) => errors.push(e) });
    await older.start();
    await older.waitUntil(last);
    await older.stop();
    expect((await rows('p4v')).every((r) => r.applied === 5)).toBe(true);
    expect(String(errors[0])).toMatch(/shape 2/);
  });

  it('rows and checkpoint commit together: a connection killed mid-batch leaves neither, and the batch is then applied once', async () => {
    await createTable('p5');
    const last = await appendMany('pool', 1, 50);
    const first = last - 49;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let backendPid: number | undefined;
    let blocked = false;
    const apply = applyTo('p5');
    const p = runner('p5', 'p5', 'trade.pool.>', {
      batchMax: 100,
      apply: async (em, e) => {
        await apply(em, e);
        if (e.seq === first + 29 && !blocked) {
          blocked = true;
          backendPid = ((await em.query('SELECT pg_backend_pid() AS pid')) as { pid: number }[])[0].pid;
          await gate;
        }
      },
    });
    await p.start();
    await eventually(() => backendPid !== undefined);
    // 30 rows are written inside the open transaction: none is visible, the checkpoint has not moved
    expect(await rows('p5')).toHaveLength(0);
    expect(await checkpointOf('p5')).toBe(0);
    // the crash: the connection holding the transaction dies
    await ds.query('SELECT pg_terminate_backend($1)', [backendPid]);
    expect(await rows('p5')).toHaveLength(0);
    expect(await checkpointOf('p5')).toBe(0);
    release();
    // the runner retries the batch on a fresh connection
    await p.waitUntil(last);
    await p.stop();
    const all = await rows('p5');
    expect(all).toHaveLength(50);
    expect(all.every((r) => r.applied === 1)).toBe(true);
    expect(await checkpointOf('p5')).toBe(last);
  });

  it('waitUntil times out with a named error when the checkpoint does not get there', async () => {
    await createTable('p6');
    const p = runner('p6', 'p6', 'trade.anchor.>');
    await p.start();
    await expect(p.waitUntil(1_000_000, 200)).rejects.toBeInstanceOf(ProjectionTimeoutError);
    await p.stop();
  });
});

describe('ProjectionRunner with applyBatch', () => {
  it('hands each committed batch to applyBatch once, in order, only above the checkpoint', async () => {
    await createTable('p7');
    const last = await appendMany('market', 6, 5);
    const batches: number[][] = [];
    const p = new ProjectionRunner({
      tradeLog: log,
      dataSource: ds,
      schema: SCHEMA,
      name: 'p7',
      filterSubjects: ['trade.market.>'],
      batchMax: 8,
      applyBatch: async (em, events) => {
        batches.push(events.map((e) => e.seq));
        await em.query(
          `INSERT INTO ${SCHEMA}.p7 (event_id, seq, type, applied) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::int[])`,
          [events.map((e) => e.event.id), events.map((e) => e.seq), events.map((e) => e.event.type), events.map(() => 1)],
        );
      },
    });
    await p.start();
    await p.waitUntil(last);
    await p.stop();
    const seqs = batches.flat();
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(30);
    expect(batches.every((b) => b.length <= 8)).toBe(true);
    expect(await rows('p7')).toHaveLength(30);
  });

  it('refuses both or neither of apply and applyBatch', () => {
    const base = { tradeLog: log, dataSource: ds, schema: SCHEMA, name: 'x', filterSubjects: ['trade.job.>'] };
    expect(() => new ProjectionRunner(base)).toThrow(/exactly one/);
    expect(() => new ProjectionRunner({ ...base, apply: async () => undefined, applyBatch: async () => undefined })).toThrow(/exactly one/);
  });
});

describe('ProjectionRunner when apply fails', () => {
  it('retries a failing batch, then applies it once', async () => {
    await createTable('f1');
    const last = await appendMany('anchor', 1, 5);
    let failuresLeft = 2;
    const apply = applyTo('f1');
    const p = runner('f1', 'f1', 'trade.anchor.>', {
      apply: async (em, e) => {
        await apply(em, e);
        if (e.seq === last && failuresLeft > 0) {
          failuresLeft -= 1;
          throw new Error('deadlock detected'); // a transient database error
        }
      },
    });
    await p.start();
    await p.waitUntil(last);
    await p.stop();
    const all = await rows('f1');
    expect(all).toHaveLength(5);
    expect(all.every((r) => r.applied === 1)).toBe(true);
  });

  it('parks an event that keeps failing on its own, parks the later events of its aggregate behind it, and applies every other', async () => {
    await createTable('f2');
    const a = await log.append('trade.node.f2', ['A', 'Bad', 'C'].map((t) => testEvent('f2', t)), { expectedLastSubjectSeq: 0 });
    const b = await log.append('trade.node.f2-other', ['D', 'E'].map((t) => testEvent('f2-other', t)), { expectedLastSubjectSeq: 0 });
    const apply = applyTo('f2');
    let badAttempts = 0;
    const errors: string[] = [];
    const p = runner('f2', 'f2', 'trade.node.f2', {
      filterSubjects: ['trade.node.f2', 'trade.node.f2-other'],
      apply: async (em, e) => {
        await apply(em, e);
        if (e.event.type === 'Bad') {
          badAttempts += 1;
          throw new Error('new row violates check constraint "positive"'); // a property of the event: it fails every time
        }
      },
      onError: (err) => errors.push((err as Error).message),
    });
    await p.start();
    await p.waitUntil(b[1].seq);
    // the bad event failed its batch once, was then tried eventMaxAttempts times in a savepoint, and parked; C waits behind it
    expect(badAttempts).toBe(1 + 3);
    expect((await rows('f2')).map((r) => r.type)).toEqual(['A', 'D', 'E']);
    expect(p.state).toBe('running');
    expect(p.stats.parked).toBe(2);
    expect(p.health()).toMatchObject({ reader: 'f2', kind: 'projection', state: 'running', position: b[1].seq, lag: 0 });
    const parked = await p.parking.list({ reader: 'f2' });
    expect(parked.map((x) => [x.seq, x.key, x.type, x.blockedBy])).toEqual([
      [a[1].seq, 'f2', 'Bad', null],
      [a[2].seq, 'f2', 'C', a[1].seq],
    ]);
    expect(parked[0].error).toMatch(/check constraint/);
    expect(errors.some((e) => e.includes(`parked #${a[1].seq}`))).toBe(true);

    // later events of the same aggregate wait behind it too; other aggregates go on
    const c = await log.append('trade.node.f2', [testEvent('f2', 'F')], { expectedLastSubjectSeq: a[2].seq });
    await p.waitUntil(c[0].seq);
    expect((await p.parking.list({ reader: 'f2' })).map((x) => x.type)).toEqual(['Bad', 'C', 'F']);

    // still broken: a retry records the new error and applies nothing
    const stillBroken = await p.retryParked('f2');
    expect(stillBroken.applied).toBe(0);
    expect(stillBroken.stillParked.map((x) => x.type)).toEqual(['Bad', 'C', 'F']);

    // the fix: the operator re-applies the key, in log order
    await p.stop();
    const fixed = runner('f2', 'f2', 'trade.node.f2', { filterSubjects: ['trade.node.f2', 'trade.node.f2-other'] });
    await fixed.start();
    const retried = await fixed.retryParked('f2');
    expect(retried).toEqual({ applied: 3, stillParked: [] });
    expect((await rows('f2')).map((r) => r.type)).toEqual(['A', 'Bad', 'C', 'D', 'E', 'F']);
    // the key is free again: its next event applies directly
    const d = await log.append('trade.node.f2', [testEvent('f2', 'G')], { expectedLastSubjectSeq: c[0].seq });
    await fixed.waitUntil(d[0].seq);
    expect((await rows('f2')).map((r) => r.type)).toContain('G');
    expect(await fixed.parking.list({ reader: 'f2' })).toEqual([]);
    await fixed.stop();
  });

  it('parks an event its decoder refuses at once, and goes on', async () => {
    await createTable('f4');
    const [good] = await log.append('trade.node.f4', [testEvent('f4', 'Good')], { expectedLastSubjectSeq: 0 });
    const bad = await log.js.publish('trade.node.f4-bad', new TextEncoder().encode('not json {'));
    const [after] = await log.append('trade.node.f4-after', [testEvent('f4-after', 'Good')], { expectedLastSubjectSeq: 0 });
    const p = runner('f4', 'f4', 'trade.node.f4', { filterSubjects: ['trade.node.f4', 'trade.node.f4-bad', 'trade.node.f4-after'] });
    await p.start();
    await p.waitUntil(after.seq);
    await p.stop();
    expect((await rows('f4')).map((r) => Number(r.seq))).toEqual([good.seq, after.seq]);
    expect((await p.parking.list({ reader: 'f4' })).map((x) => [x.seq, x.type, x.key])).toEqual([[bad.seq, null, 'f4-bad']]);
  });

  it('stops as failed when the database keeps failing (a transient error) for applyMaxAttempts, commits nothing, and rejects waiters', async () => {
    await createTable('f5');
    const acks = await log.append('trade.node.f5', ['A', 'B'].map((t) => testEvent('f5', t)), { expectedLastSubjectSeq: 0 });
    const p = runner('f5', 'f5', 'trade.node.f5', {
      applyMaxAttempts: 3,
      apply: async () => {
        throw Object.assign(new Error('connection failure'), { code: '08006' });
      },
    });
    await p.start();
    const err = await p.waitUntil(acks[1].seq).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ProjectionStoppedError', code: 'PROJECTION_STOPPED' });
    expect(p.state).toBe('failed');
    expect(p.health().state).toBe('failed');
    expect(p.failure).toBe(err);
    expect(await rows('f5')).toHaveLength(0);
    expect(await checkpointOf('f5')).toBe(0);
    expect(await p.parking.list({ reader: 'f5' })).toEqual([]);
  });

  it('stop() cuts a backoff short', async () => {
    await createTable('f3');
    await log.append('trade.node.f3', [testEvent('f3', 'Bad')], { expectedLastSubjectSeq: 0 });
    let attempts = 0;
    const p = runner('f3', 'f3', 'trade.node.f3', {
      apply: async () => {
        attempts += 1;
        throw Object.assign(new Error('the database is down'), { code: 'ECONNREFUSED' });
      },
    });
    await p.start();
    await eventually(() => attempts >= 6); // the next pause is 1.6-3.2 s
    const t = Date.now();
    await p.stop();
    expect(Date.now() - t).toBeLessThan(500);
    expect(p.state).toBe('idle');
  });
});

describe('ProjectionRunner with types: events of other types skipped without a transaction', () => {
  /** `ds` with its transactions and checkpoint UPDATEs (outside transactions: the lazy flush) counted. */
  function counted(): { ds: DataSource; transactions: number; flushes: number } {
    const c = { ds, transactions: 0, flushes: 0 };
    c.ds = new Proxy(ds, {
      get(target, key, receiver) {
        if (key === 'transaction') {
          return (...args: unknown[]) => {
            c.transactions += 1;
            return (target.transaction as (...a: unknown[]) => Promise<unknown>)(...args);
          };
        }
        if (key === 'query') {
          return (sql: string, params?: unknown[]) => {
            if (/^UPDATE .*projection_checkpoint/.test(sql)) c.flushes += 1;
            return target.query(sql, params);
          };
        }
        return Reflect.get(target, key, receiver);
      },
    });
    return c;
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('a batch of only other types opens no transaction; waitUntil resolves for it; the stored checkpoint follows at the flush and at stop', async () => {
    await createTable('t1');
    const c = counted();
    const p = runner('t1', 't1', 'trade.typed.t1.>', { dataSource: c.ds, types: ['Keep'] });
    await p.start();
    c.transactions = 0;
    const acks = await log.append('trade.typed.t1.a', ['Skip', 'Other', 'Skip'].map((t) => testEvent('t1', t)), { expectedLastSubjectSeq: 0 });
    const last = acks[2].seq;
    await p.waitUntil(last);
    expect(p.checkpoint).toBe(last);
    expect(c.transactions).toBe(0);
    expect(p.stats).toMatchObject({ batches: 0, applied: 0, ignored: 3 });
    expect(await rows('t1')).toEqual([]);
    // at most one flush a PROJECTION_CHECKPOINT_FLUSH_MS: once that has passed, the next skipped batch stores it, still without a transaction
    expect(c.flushes).toBeLessThanOrEqual(1);
    await sleep(PROJECTION_CHECKPOINT_FLUSH_MS + 100);
    const [next] = await log.append('trade.typed.t1.a', [testEvent('t1', 'Skip')], { expectedLastSubjectSeq: last });
    await p.waitUntil(next.seq);
    await eventually(async () => (await checkpointOf('t1')) === next.seq);
    expect(c.transactions).toBe(0);
    // stop() stores what moved since the last flush
    const [end] = await log.append('trade.typed.t1.a', [testEvent('t1', 'Skip')], { expectedLastSubjectSeq: next.seq });
    await p.waitUntil(end.seq);
    await p.stop();
    expect(await checkpointOf('t1')).toBe(end.seq);
    expect(c.transactions).toBe(0);
    expect(p.stats.ignored).toBe(5);
  });

  it('a mixed batch applies only its types; the stored checkpoint never moves back; a restart resumes from it and applies what it must', async () => {
    await createTable('t2');
    const acks = await log.append('trade.typed.t2.a', ['Skip', 'Keep', 'Skip', 'Keep'].map((t, i) => testEvent('t2', t, { i })), { expectedLastSubjectSeq: 0 });
    const c = counted();
    const p = runner('t2', 't2', 'trade.typed.t2.>', { dataSource: c.ds, types: ['Keep'] });
    await p.start();
    c.transactions = 0;
    await p.waitUntil(acks[3].seq);
    expect((await rows('t2')).map((r) => [Number(r.seq), r.type, r.applied])).toEqual([
      [acks[1].seq, 'Keep', 1],
      [acks[3].seq, 'Keep', 1],
    ]);
    expect(p.stats).toMatchObject({ applied: 2, ignored: 2 });
    expect(c.transactions).toBe(p.stats.batches);
    expect(await checkpointOf('t2')).toBe(acks[3].seq);

    // another replica moved the stored checkpoint further: skipped events flushed at stop do not bring it back
    const ahead = acks[3].seq + 1_000;
    await ds.query(`UPDATE ${SCHEMA}.projection_checkpoint SET last_seq = $2 WHERE name = $1`, ['t2', ahead]);
    const [skip] = await log.append('trade.typed.t2.a', [testEvent('t2', 'Skip')], { expectedLastSubjectSeq: acks[3].seq });
    await p.waitUntil(skip.seq);
    await p.stop();
    expect(await checkpointOf('t2')).toBe(ahead);

    // back to where this replica was (as if the other never ran): a restart starts there and applies only what is new
    await ds.query(`UPDATE ${SCHEMA}.projection_checkpoint SET last_seq = $2 WHERE name = $1`, ['t2', acks[3].seq]);
    const more = await log.append('trade.typed.t2.a', ['Keep', 'Skip'].map((t) => testEvent('t2', t)), { expectedLastSubjectSeq: skip.seq });
    const again = runner('t2', 't2', 'trade.typed.t2.>', { types: ['Keep'] });
    await again.start();
    expect(again.checkpoint).toBe(acks[3].seq);
    await again.waitUntil(more[1].seq);
    await again.stop();
    expect((await rows('t2')).map((r) => [Number(r.seq), r.applied])).toEqual([
      [acks[1].seq, 1],
      [acks[3].seq, 1],
      [more[0].seq, 1],
    ]);
    expect(again.stats).toMatchObject({ applied: 1, ignored: 2 });
    expect(await checkpointOf('t2')).toBe(more[1].seq);
  });

  it('applies a message without the type header as before (decoded, its type read from the body)', async () => {
    await createTable('t3');
    const body = new TextEncoder().encode(JSON.stringify(testEvent('t3', 'Skip')));
    const bare = await log.js.publish('trade.typed.t3.a', body);
    const p = runner('t3', 't3', 'trade.typed.t3.>', { types: ['Keep'] });
    await p.start();
    await p.waitUntil(bare.seq);
    await p.stop();
    expect((await rows('t3')).map((r) => [Number(r.seq), r.type])).toEqual([[bare.seq, 'Skip']]);
  });

  it('behind a parked event of its key, an event of another type is skipped, not parked; one of its types waits behind it', async () => {
    await createTable('t4');
    const acks = await log.append('trade.typed.t4.a', ['Keep', 'Bad', 'Skip', 'Keep'].map((t) => testEvent('t4', t)), { expectedLastSubjectSeq: 0 });
    const apply = applyTo('t4');
    const p = runner('t4', 't4', 'trade.typed.t4.>', {
      types: ['Keep', 'Bad'],
      eventMaxAttempts: 1,
      onParked: () => undefined,
      apply: async (em, e) => {
        if (e.event.type === 'Bad') throw new Error('cannot apply Bad');
        await apply(em, e);
      },
    });
    await p.start();
    await p.waitUntil(acks[3].seq);
    await p.stop();
    expect((await rows('t4')).map((r) => Number(r.seq))).toEqual([acks[0].seq]);
    expect((await p.parking.list({ reader: 't4' })).map((x) => [x.seq, x.type, x.blockedBy])).toEqual([
      [acks[1].seq, 'Bad', null],
      [acks[3].seq, 'Keep', acks[1].seq],
    ]);
    expect(p.stats).toMatchObject({ applied: 1, parked: 2, ignored: 1 });
  });

  it('refuses an empty list of types', () => {
    expect(() => runner('t5', 't5', 'trade.typed.t5.>', { types: [] })).toThrow(TradeLogArgumentError);
  });
});
