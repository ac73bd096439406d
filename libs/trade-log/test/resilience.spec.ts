import type { TestDatabase, TestNats } from '@starminer/testing';
import type { DataSource } from 'typeorm';
import { connectTradeLog, ProjectionRunner, type StoredEvent, type TradeLog } from '../src';
import { closeLogAndDatabase, eventually, openLogAndDatabase, TEST_CODEC, testEvent } from './helpers';

// NATS is killed under a running client here, so this file has its own server and database.
let nats: TestNats;
let db: TestDatabase;
let log: TradeLog;
let ds: DataSource;

beforeAll(async () => {
  ({ nats, db, log, ds } = await openLogAndDatabase('resilience-spec', { schema: 'res', poolSize: 4, ddl: ['CREATE TABLE res.seen (event_id text PRIMARY KEY, seq bigint NOT NULL)'] }));
});

afterAll(() => closeLogAndDatabase({ nats, db, log, ds }));

describe('a nats-server crash under a running client', () => {
  it('append retries across the restart, stores each event once, and consumers and projections carry on', async () => {
    const seenByConsumer: number[] = [];
    const handle = await log.consume({
      durable: 'res-consumer',
      filterSubjects: ['trade.job.>'],
      handler: async (batch: StoredEvent[]) => void seenByConsumer.push(...batch.map((e) => e.seq)),
      onError: () => undefined,
    });
    const projection = new ProjectionRunner({
      tradeLog: log,
      dataSource: ds,
      schema: 'res',
      name: 'seen',
      filterSubjects: ['trade.job.>'],
      apply: async (em, e) => void (await em.query('INSERT INTO res.seen (event_id, seq) VALUES ($1, $2)', [e.event.id, e.seq])),
      onError: () => undefined,
    });
    await projection.start();

    const [before] = await log.append('trade.job.r1', [testEvent('r1', 'Before')], { expectedLastSubjectSeq: 0 });
    await projection.waitUntil(before.seq);

    // crash, 500 ms down, back up with the same store; the append is made while it is down
    const restarting = nats.restart({ signal: 'SIGKILL', downMs: 500 });
    await new Promise((r) => setTimeout(r, 50));
    const event = testEvent('r1', 'During');
    const [during] = await log.append('trade.job.r1', [event], { expectedLastSubjectSeq: before.seq });
    await restarting;
    const [after] = await log.append('trade.job.r1', [testEvent('r1', 'After')], { expectedLastSubjectSeq: during.seq });

    const read = await log.readSubject('trade.job.r1');
    expect(read.events.map((e) => e.event.type)).toEqual(['Before', 'During', 'After']);
    await projection.waitUntil(after.seq, 30_000);
    await eventually(() => seenByConsumer.includes(after.seq), 30_000);
    await Promise.all([handle.stop(), projection.stop()]);

    const rows = (await ds.query('SELECT seq FROM res.seen ORDER BY seq')) as { seq: string }[];
    expect(rows.map((r) => Number(r.seq))).toEqual([before.seq, during.seq, after.seq]);
    expect(new Set(seenByConsumer)).toEqual(new Set([before.seq, during.seq, after.seq]));
  }, 60_000);

  it('a JetStream manager that could not be had while the server was down is asked for again, not kept failed', async () => {
    const fresh = await connectTradeLog({ servers: nats.url, name: 'resilience-jsm', ...TEST_CODEC });
    try {
      // down longer than a request's timeout: the first ask fails
      const restarting = nats.restart({ signal: 'SIGKILL', downMs: 8_000 });
      await new Promise((r) => setTimeout(r, 200));
      await expect(fresh.jsm()).rejects.toThrow();
      await restarting;
      // the server is back: a later ask succeeds, and so does what needs it
      await eventually(async () => (await fresh.jsm().then(() => true, () => false)), 30_000, 250);
      await fresh.ensureStream();
      expect((await (await fresh.jsm()).streams.info(fresh.streamName)).config.name).toBe(fresh.streamName);
    } finally {
      await fresh.close();
    }
  }, 60_000);
});
