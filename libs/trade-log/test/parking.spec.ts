import type { TestDatabase, TestNats } from '@starminer/testing';
import type { DataSource } from 'typeorm';
import { ParkingLot, PoisonEventError, type StoredEvent, type TradeLog } from '../src';
import { closeLogAndDatabase, eventually, openLogAndDatabase, testEvent } from './helpers';

let nats: TestNats;
let db: TestDatabase;
let log: TradeLog;
let ds: DataSource;
let parking: ParkingLot;

beforeAll(async () => {
  ({ nats, db, log, ds } = await openLogAndDatabase('parking-spec', { schema: 'parking', poolSize: 4 }));
  parking = new ParkingLot(ds, 'parking');
  await parking.ensureTable();
});

afterAll(() => closeLogAndDatabase({ nats, db, log, ds }));

describe('a durable consumer with a parking lot', () => {
  it('parks a poison event and the later events of its aggregate, handles every other, and re-applies them in order after a fix', async () => {
    let fixed = false;
    const handled: string[] = [];
    const handle = await log.consume({
      durable: 'park-c1',
      filterSubjects: ['trade.job.>'],
      parking,
      critical: true,
      maxDeliver: 2,
      onError: () => undefined,
      handler: async (batch: StoredEvent[]) => {
        for (const e of batch) {
          if (e.event.type === 'Poison' && !fixed) throw new PoisonEventError('breaks a rule this handler cannot get past');
          if (e.event.type === 'Flaky' && !fixed) throw new Error('the chain is down');
        }
        handled.push(...batch.map((e) => `${e.event.aggregateId}:${e.event.type}`));
      },
    });
    const j1 = await log.append('trade.job.j1', ['A', 'Poison', 'B'].map((t) => testEvent('j1', t)), { expectedLastSubjectSeq: 0 });
    const j2 = await log.append('trade.job.j2', ['C', 'Flaky'].map((t) => testEvent('j2', t)), { expectedLastSubjectSeq: 0 });
    const j3 = await log.append('trade.job.j3', ['E'].map((t) => testEvent('j3', t)), { expectedLastSubjectSeq: 0 });
    // the poison event is parked at once, B behind it; the flaky one after its second delivery
    await eventually(async () => (await parking.list({ reader: 'park-c1' })).length === 3, 20_000);
    const [d] = await log.append('trade.job.j2', [testEvent('j2', 'D')], { expectedLastSubjectSeq: j2[1].seq });
    await eventually(async () => (await parking.list({ reader: 'park-c1' })).length === 4, 20_000);
    await eventually(() => handled.includes('j3:E'));
    expect(handled.sort()).toEqual(['j1:A', 'j2:C', 'j3:E']);
    const parked = await parking.list({ reader: 'park-c1' });
    expect(parked.map((p) => [p.seq, p.key, p.blockedBy])).toEqual([
      [j1[1].seq, 'j1', null],
      [j1[2].seq, 'j1', j1[1].seq],
      [j2[1].seq, 'j2', null],
      [d.seq, 'j2', j2[1].seq],
    ]);
    expect(parked[0].error).toMatch(/non-retryable/);
    expect(parked[2].error).toMatch(/failed 2 deliveries: the chain is down/);
    expect(handle.health()).toMatchObject({ reader: 'park-c1', kind: 'consumer', critical: true, position: d.seq });
    expect(j3[0].seq).toBeGreaterThan(j2[1].seq);

    // the fix lands; the operator re-applies one key, then the other
    fixed = true;
    expect(await handle.retryParked('j1')).toEqual({ applied: 2, stillParked: [] });
    expect(await handle.retryParked('j2')).toEqual({ applied: 2, stillParked: [] });
    expect(handled.slice(3)).toEqual(['j1:Poison', 'j1:B', 'j2:Flaky', 'j2:D']);
    expect(await parking.list({ reader: 'park-c1' })).toEqual([]);
    // free again: its next event is handled directly
    await log.append('trade.job.j1', [testEvent('j1', 'F')], { expectedLastSubjectSeq: j1[2].seq });
    await eventually(() => handled.includes('j1:F'));
    await handle.stop();
  }, 60_000);

  it('counts parked events per reader and pages them in log order', async () => {
    const counts = await parking.counts();
    expect(counts.get('park-c1') ?? 0).toBe(0);
    const em = ds.manager;
    for (const seq of [901, 902, 903]) await parking.park(em, { reader: 'r-list', seq, subject: `trade.node.n${seq}`, type: 'T', key: `n${seq}`, error: 'e', blockedBy: null, attempts: 1 });
    await parking.park(em, { reader: 'r-list', seq: 901, subject: 'trade.node.n901', type: 'T', key: 'n901', error: 'parked again', blockedBy: null, attempts: 2 });
    expect((await parking.counts()).get('r-list')).toBe(3);
    const first = await parking.list({ reader: 'r-list', limit: 2 });
    expect(first.map((p) => p.seq)).toEqual([901, 902]);
    expect(first[0].error).toBe('e'); // parking the same seq twice keeps the first record
    expect((await parking.list({ reader: 'r-list', afterSeq: 902 })).map((p) => p.seq)).toEqual([903]);
    // one event parked by two readers is paged whole: a page ends on (seq, reader)
    for (const reader of ['r-page-a', 'r-page-b']) await parking.park(em, { reader, seq: 990_001, subject: 'trade.contract.x', type: 'T', key: 'x', error: 'e', blockedBy: null, attempts: 1 });
    const page1 = await parking.list({ afterSeq: 990_000, limit: 1 });
    expect(page1.map((p) => [p.seq, p.reader])).toEqual([[990_001, 'r-page-a']]);
    const page2 = await parking.list({ afterSeq: 990_001, afterReader: 'r-page-a', limit: 1 });
    expect(page2.map((p) => [p.seq, p.reader])).toEqual([[990_001, 'r-page-b']]);
  });

  it('hands back the later events of an aggregate while an earlier one is retried, so they are handled in order', async () => {
    let failuresLeft = 2;
    const handled: string[] = [];
    const handle = await log.consume({
      durable: 'park-c2',
      filterSubjects: ['trade.job.order-1'],
      parking,
      onError: () => undefined,
      handler: async (batch: StoredEvent[]) => {
        for (const e of batch) {
          if (e.event.type === 'Opened' && failuresLeft > 0) {
            failuresLeft -= 1;
            throw new Error('the chain is slow'); // passes on the third delivery
          }
        }
        handled.push(...batch.map((e) => e.event.type));
      },
    });
    await log.append('trade.job.order-1', ['Opened', 'Closed'].map((t) => testEvent('order-1', t)), { expectedLastSubjectSeq: 0 });
    await eventually(() => handled.length === 2, 20_000);
    expect(handled).toEqual(['Opened', 'Closed']);
    expect(await parking.list({ reader: 'park-c2' })).toEqual([]);
    expect(handle.health().state).toBe('running');
    await handle.stop();
  }, 30_000);

  it('says it is running again once its poison event is parked (not retrying for ever on a quiet log)', async () => {
    const handle = await log.consume({
      durable: 'park-c3',
      filterSubjects: ['trade.job.quiet-1'],
      parking,
      maxDeliver: 2,
      onError: () => undefined,
      handler: async () => {
        throw new Error('never passes');
      },
    });
    await log.append('trade.job.quiet-1', [testEvent('quiet-1', 'Bad')], { expectedLastSubjectSeq: 0 });
    await eventually(async () => (await parking.list({ reader: 'park-c3' })).length === 1, 20_000);
    await eventually(() => handle.health().state === 'running', 5_000);
    await handle.stop();
  }, 30_000);

  it("loses nothing while the parking lot's database is away: the message comes back until it can be handled or parked", async () => {
    let down = true;
    const flakyDs = new Proxy(ds, {
      get(target, key, receiver) {
        if (key === 'query' && down) return async () => Promise.reject(Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' }));
        return Reflect.get(target, key, receiver);
      },
    });
    const flakyLot = new ParkingLot(flakyDs as DataSource, 'parking');
    const handled: string[] = [];
    const handle = await log.consume({
      durable: 'park-c4',
      filterSubjects: ['trade.job.down-1'],
      parking: flakyLot,
      maxDeliver: 2,
      onError: () => undefined,
      handler: async (batch: StoredEvent[]) => void handled.push(...batch.map((e) => e.event.type)),
    });
    const [ack] = await log.append('trade.job.down-1', [testEvent('down-1', 'Kept')], { expectedLastSubjectSeq: 0 });
    // delivered more than maxDeliver times while the database is away: never handled, never dropped
    await eventually(async () => {
      const info = await (await log.jsm()).consumers.info(log.streamName, 'park-c4');
      return info.num_redelivered >= 1 && info.delivered.consumer_seq >= 3;
    }, 20_000);
    expect(handled).toEqual([]);
    expect(handle.health().state).toBe('retrying');
    down = false;
    await eventually(() => handled.length === 1, 20_000);
    expect(handled).toEqual(['Kept']);
    expect(handle.health()).toMatchObject({ state: 'running', position: ack.seq });
    await handle.stop();
  }, 40_000);
});
