import { jetstreamManager } from '@nats-io/jetstream';
import { startNats, type TestNats } from '@starminer/testing';
import { connectTradeLog, EventDecodeError, PoisonEventError, type StoredEvent, type TradeLog } from '../src';
import { eventually, testEvent, TEST_CODEC } from './helpers';

let nats: TestNats;
let log: TradeLog;

beforeAll(async () => {
  nats = await startNats();
  log = await connectTradeLog({ servers: nats.url, name: 'consumer-spec', ...TEST_CODEC });
  await log.ensureStream();
});

afterAll(async () => {
  await log?.close();
  await nats?.stop();
});

async function consumerState(durable: string): Promise<{ ackPending: number; pending: number; ackFloor: number }> {
  const jsm = await jetstreamManager(log.nc);
  const info = await jsm.consumers.info('TRADE', durable);
  return { ackPending: info.num_ack_pending, pending: info.num_pending, ackFloor: info.ack_floor.stream_seq };
}

describe('consume', () => {
  it('hands over bounded batches in order and acks them after the handler resolves', async () => {
    const acks = await log.append('trade.job.c1', Array.from({ length: 30 }, (_, i) => testEvent('c1', 'E', { i })), { expectedLastSubjectSeq: 0 });
    const batches: StoredEvent[][] = [];
    const handle = await log.consume({
      durable: 'c1',
      filterSubjects: ['trade.job.c1'],
      batchMax: 8,
      handler: async (batch) => {
        batches.push(batch);
      },
    });
    await eventually(() => batches.flat().length === 30);
    await handle.stop();
    expect(batches.every((b) => b.length <= 8)).toBe(true);
    expect(batches.some((b) => b.length > 1)).toBe(true);
    expect(batches.flat().map((e) => e.seq)).toEqual(acks.map((a) => a.seq));
    expect(batches.flat().every((e) => !e.redelivered)).toBe(true);
    expect(await consumerState('c1')).toEqual({ ackPending: 0, pending: 0, ackFloor: acks[29].seq });

    // A restart of the durable picks up after what was acked: only the new event arrives.
    const [late] = await log.append('trade.job.c1', [testEvent('c1', 'Late')], { expectedLastSubjectSeq: acks[29].seq });
    const seen: number[] = [];
    const again = await log.consume({ durable: 'c1', filterSubjects: ['trade.job.c1'], handler: async (b) => void seen.push(...b.map((e) => e.seq)) });
    await eventually(() => seen.length === 1);
    await again.stop();
    expect(seen).toEqual([late.seq]);
  });

  it('naks a batch whose handler throws, and the redelivery is marked', async () => {
    const [ack] = await log.append('trade.job.c2', [testEvent('c2', 'E')], { expectedLastSubjectSeq: 0 });
    const deliveries: StoredEvent[] = [];
    const handle = await log.consume({
      durable: 'c2',
      filterSubjects: ['trade.job.c2'],
      onError: () => undefined,
      handler: async (batch) => {
        deliveries.push(...batch);
        if (deliveries.length === 1) throw new Error('database briefly unavailable');
      },
    });
    await eventually(() => deliveries.length === 2);
    await handle.stop();
    expect(deliveries.map((e) => [e.seq, e.redelivered])).toEqual([
      [ack.seq, false],
      [ack.seq, true],
    ]);
    await eventually(async () => (await consumerState('c2')).ackFloor === ack.seq);
  });

  it('terms an event the codec refuses, and goes on with the rest', async () => {
    const good1 = await log.append('trade.job.c3', [testEvent('c3', 'Good')], { expectedLastSubjectSeq: 0 });
    await log.js.publish('trade.job.c3', new TextEncoder().encode('not json {'));
    const good2 = await log.append('trade.job.c3', [testEvent('c3', 'Good')], { expectedLastSubjectSeq: 'any' });
    const seen: number[] = [];
    const errors: unknown[] = [];
    const handle = await log.consume({
      durable: 'c3',
      filterSubjects: ['trade.job.c3'],
      onError: (e) => errors.push(e),
      handler: async (batch) => void seen.push(...batch.map((e) => e.seq)),
    });
    await eventually(() => seen.length === 2);
    await eventually(async () => (await consumerState('c3')).ackFloor === good2[0].seq);
    await handle.stop();
    expect(seen).toEqual([good1[0].seq, good2[0].seq]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(EventDecodeError);
    expect(await consumerState('c3')).toMatchObject({ ackPending: 0, pending: 0 });
  });

  it('terms a poison event at once, and isolates it from the rest of its batch', async () => {
    const acks = await log.append('trade.job.c4', ['A', 'Poison', 'B'].map((t) => testEvent('c4', t)), { expectedLastSubjectSeq: 0 });
    const handled: string[] = [];
    const errors: unknown[] = [];
    let calls = 0;
    const handle = await log.consume({
      durable: 'c4',
      filterSubjects: ['trade.job.c4'],
      onError: (e) => errors.push(e),
      handler: async (batch) => {
        calls += 1;
        if (batch.some((e) => e.event.type === 'Poison')) throw new PoisonEventError('this can never apply');
        handled.push(...batch.map((e) => e.event.type));
      },
    });
    await eventually(async () => (await consumerState('c4')).ackFloor === acks[2].seq);
    await handle.stop();
    expect(handled.sort()).toEqual(['A', 'B']);
    expect(errors.filter((e) => e instanceof PoisonEventError)).toHaveLength(1 + 1); // the batch, then the single event
    expect(calls).toBeLessThanOrEqual(4);
  });

  it('terms after maxDeliver deliveries of an event that keeps failing', async () => {
    const [ack] = await log.append('trade.job.c5', [testEvent('c5', 'Flaky')], { expectedLastSubjectSeq: 0 });
    let deliveries = 0;
    const errors: unknown[] = [];
    const handle = await log.consume({
      durable: 'c5',
      filterSubjects: ['trade.job.c5'],
      maxDeliver: 3,
      onError: (e) => errors.push(e),
      handler: async () => {
        deliveries += 1;
        throw new Error('still down');
      },
    });
    await eventually(async () => (await consumerState('c5')).ackFloor === ack.seq, 15_000);
    await handle.stop();
    expect(deliveries).toBe(3);
    expect(errors).toHaveLength(1);
  });

  it('stop() waits for the batch in hand and acks it', async () => {
    const [ack] = await log.append('trade.job.c6', [testEvent('c6', 'Slow')], { expectedLastSubjectSeq: 0 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = false;
    let finished = false;
    const handle = await log.consume({
      durable: 'c6',
      filterSubjects: ['trade.job.c6'],
      handler: async () => {
        started = true;
        await gate;
        finished = true;
      },
    });
    await eventually(() => started);
    const stopping = handle.stop();
    setTimeout(release, 100);
    await stopping;
    expect(finished).toBe(true);
    await eventually(async () => (await consumerState('c6')).ackFloor === ack.seq);
  });
});

describe('consume: a durable moved from one filter subject to several', () => {
  it('keeps its position and from then on receives only the subjects it names (a reader of the whole log narrowed to its kinds)', async () => {
    if (!log.serverAtLeast(2, 10, 0)) return; // several subjects need 2.10 (the spec above covers the refusal)
    const [j1] = await log.append('trade.job.f1', [testEvent('f1', 'E')], { expectedLastSubjectSeq: 0 });
    const seen: string[] = [];
    const wide = await log.consume({ durable: 'f-narrow', filterSubjects: ['trade.job.f1'], handler: async (b) => void seen.push(...b.map((e) => e.subject)) });
    await eventually(() => seen.includes('trade.job.f1'));
    await wide.stop();
    expect((await (await jetstreamManager(log.nc)).consumers.info('TRADE', 'f-narrow')).config.filter_subject).toBe('trade.job.f1');

    await log.append('trade.market.f1', [testEvent('f1', 'E')], { expectedLastSubjectSeq: 0 });
    const [c1] = await log.append('trade.contract.f1', [testEvent('f1', 'E')], { expectedLastSubjectSeq: 0 });
    const [j2] = await log.append('trade.job.f1', [testEvent('f1', 'E2')], { expectedLastSubjectSeq: j1.seq });
    const after: StoredEvent[] = [];
    const narrow = await log.consume({ durable: 'f-narrow', filterSubjects: ['trade.job.>', 'trade.contract.>'], handler: async (b) => void after.push(...b) });
    await eventually(() => after.some((e) => e.seq === j2.seq));
    await narrow.stop();
    expect(after.map((e) => e.seq)).toEqual([c1.seq, j2.seq]); // the market event is not delivered; nothing before the move again
    const info = await (await jetstreamManager(log.nc)).consumers.info('TRADE', 'f-narrow');
    expect(info.config.filter_subjects).toEqual(['trade.job.>', 'trade.contract.>']);
    expect(info.config.filter_subject ?? '').toBe('');
  });
});

describe('consume: stopping and starting', () => {
  it('stop() hands back what was delivered but not handled, so the next start gets it at once (not after ack_wait)', async () => {
    const acks = await log.append('trade.job.c7', Array.from({ length: 20 }, (_, i) => testEvent('c7', 'E', { i })), { expectedLastSubjectSeq: 0 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const firstRun: number[] = [];
    const handle = await log.consume({
      durable: 'c7',
      filterSubjects: ['trade.job.c7'],
      batchMax: 5,
      handler: async (batch) => {
        firstRun.push(...batch.map((e) => e.seq));
        await gate;
      },
    });
    await eventually(() => firstRun.length > 0);
    // more than the first batch has been delivered into the client's buffer by now
    await new Promise((r) => setTimeout(r, 200));
    const stopping = handle.stop();
    release();
    await stopping;
    const handledFirst = [...firstRun];
    expect(handledFirst.length).toBeLessThan(20);

    const secondRun: number[] = [];
    const started = Date.now();
    const again = await log.consume({ durable: 'c7', filterSubjects: ['trade.job.c7'], handler: async (b) => void secondRun.push(...b.map((e) => e.seq)) });
    await eventually(() => handledFirst.length + secondRun.length >= 20, 10_000);
    const tookMs = Date.now() - started;
    await again.stop();
    expect(tookMs).toBeLessThan(5_000); // ack_wait is 30 s
    expect([...handledFirst, ...secondRun].sort((a, b) => a - b)).toEqual(acks.map((a) => a.seq));
  });

  it("startAt: 'new' skips what was appended before the durable existed", async () => {
    await log.append('trade.job.c8', [testEvent('c8', 'Old')], { expectedLastSubjectSeq: 0 });
    const seen: string[] = [];
    const handle = await log.consume({ durable: 'c8', filterSubjects: ['trade.job.c8'], startAt: 'new', handler: async (b) => void seen.push(...b.map((e) => e.event.type)) });
    await log.append('trade.job.c8', [testEvent('c8', 'New')], { expectedLastSubjectSeq: 'any' });
    await eventually(() => seen.length === 1);
    await handle.stop();
    expect(seen).toEqual(['New']);
  });

  it('refuses a bad durable name and an empty filter with named errors', async () => {
    const handler = async (): Promise<void> => undefined;
    await expect(log.consume({ durable: 'has.dot', filterSubjects: ['trade.job.>'], handler })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(log.consume({ durable: 'ok', filterSubjects: [], handler })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('several filter subjects on one consumer', () => {
  it('work from nats-server 2.10, and are refused with UnsupportedServerError before', async () => {
    const a = await log.append('trade.node.fs', [testEvent('fs', 'Node')], { expectedLastSubjectSeq: 0 });
    const b = await log.append('trade.vault.fs', [testEvent('fs', 'Vault')], { expectedLastSubjectSeq: 0 });
    await log.append('trade.pool.fs', [testEvent('fs', 'Pool')], { expectedLastSubjectSeq: 0 });
    const filterSubjects = ['trade.node.>', 'trade.vault.>'];
    const seen: number[] = [];
    const start = () => log.consume({ durable: 'fs', filterSubjects, handler: async (batch) => void seen.push(...batch.map((e) => e.seq)) });
    if (!log.serverAtLeast(2, 10, 0)) {
      await expect(start()).rejects.toMatchObject({ name: 'UnsupportedServerError', code: 'UNSUPPORTED_SERVER' });
      return;
    }
    const handle = await start();
    await eventually(() => seen.length >= 2);
    await handle.stop();
    expect([...seen].sort((x, y) => x - y)).toEqual([a[0].seq, b[0].seq]); // not the pool event
  });
});
