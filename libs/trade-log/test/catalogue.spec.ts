import { EventSchemaError, makeEvent, subjectFor, type TradeEvent } from '@starminer/events';
import { startNats, type TestNats } from '@starminer/testing';
import { uuidv7 } from 'uuidv7';
import { connectTradeLog, EventDecodeError, type TradeLog } from '../src';

// The trade log with the real catalogue codec: bigints go out as decimal strings and come back as
// bigints; an event the catalogue refuses is named on read.
let nats: TestNats;
let log: TradeLog;

beforeAll(async () => {
  nats = await startNats();
  log = await connectTradeLog({ servers: nats.url, name: 'catalogue-spec' });
  await log.ensureStream();
});

afterAll(async () => {
  await log?.close();
  await nats?.stop();
});

const meta = (aggregateId: string) => ({
  id: uuidv7(),
  aggregateId,
  occurredAt: '2026-11-24T12:00:00.000Z',
  correlationId: aggregateId,
  causationId: aggregateId,
  actor: 'service:settlement',
});

describe('trade log with the event catalogue', () => {
  it('round-trips a bigint amount through append and readSubject with decodeEvent', async () => {
    const amountWei = 123_456_789_012_345_678_901_234_567n;
    const event = makeEvent(
      'ContractReleased',
      { jobId: 'job-1', nodeAddress: '0x00000000000000000000000000000000000000aa', amountWei, txHash: null },
      meta('job-1'),
    );
    const subject = subjectFor('contract', 'job-1');
    await log.append(subject, [event], { expectedLastSubjectSeq: 0 });
    const { events } = await log.readSubject<TradeEvent>(subject);
    const read = events[0].event as TradeEvent<'ContractReleased'>;
    expect(read.data.amountWei).toBe(amountWei);
    expect(read).toEqual(event);
  });

  it('refuses to append an event the catalogue refuses: nothing of the decision is stored', async () => {
    const subject = subjectFor('job', 'job-3');
    const good = makeEvent('JobCancelled', { jobId: 'job-3', reason: 'ok' }, meta('job-3'));
    const bad = makeEvent('JobCancelled', { jobId: 'job-3', reason: 'x'.repeat(1001) }, meta('job-3'));
    const err = await log.append(subject, [good, bad], { expectedLastSubjectSeq: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventSchemaError);
    expect((err as EventSchemaError).violations).toEqual([{ field: 'data.reason', message: expect.any(String), limit: 1000 }]);
    expect((await log.readSubject(subject)).events).toEqual([]);
    // nor one filed under another aggregate
    const misfiled = makeEvent('JobCancelled', { jobId: 'job-3', reason: 'ok' }, meta('job-3'));
    await expect(log.append(subjectFor('contract', 'job-3'), [misfiled], { expectedLastSubjectSeq: 0 })).rejects.toThrow(/does not belong/);
  });

  it('names an event on the stream that the catalogue refuses (written by another writer), with the schema error as its cause', async () => {
    const subject = subjectFor('contract', 'job-2');
    const bad = { ...meta('job-2'), type: 'ContractReleased', schemaVersion: 1, data: { jobId: 'job-2', amountWei: '-5' } };
    await log.js.publish(subject, new TextEncoder().encode(JSON.stringify(bad)));
    const err = await log.readSubject(subject).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventDecodeError);
    expect((err as EventDecodeError).cause).toBeInstanceOf(EventSchemaError);
  });
});
