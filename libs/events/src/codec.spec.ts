import { decodeEvent, encodeEvent, EventSchemaError, makeEvent } from './index';

const meta = {
  id: '0190f3c0-0000-7000-8000-000000000001',
  aggregateId: 'job-1',
  occurredAt: '2026-11-24T12:00:00.000Z',
  correlationId: 'job-1',
  causationId: 'cmd-1',
  actor: 'service:settlement',
};

describe('event codec', () => {
  it('round-trips bigints as decimal strings on the wire', () => {
    const event = makeEvent(
      'ContractReleased',
      { jobId: 'job-1', nodeAddress: `0x${'ab'.repeat(20)}`, amountWei: 10n ** 30n + 7n, txHash: '0x01' },
      meta,
    );
    const bytes = encodeEvent(event);
    expect(Buffer.from(bytes).toString()).toContain('"amountWei":"1000000000000000000000000000007"');
    const back = decodeEvent(bytes);
    expect(back.type).toBe('ContractReleased');
    expect(back.data).toEqual(event.data);
  });

  it('refuses to encode data that does not fit the schema', () => {
    const bad = makeEvent('JobFailed', { jobId: 'job 1', code: 'X', reason: 'r' }, meta);
    expect(() => encodeEvent(bad)).toThrow(EventSchemaError);
  });

  it('refuses unknown types, newer versions and negative amounts when reading', () => {
    expect(() => decodeEvent({ ...meta, type: 'Nope', schemaVersion: 1, data: {} })).toThrow(/unknown event type/);
    expect(() => decodeEvent({ ...meta, type: 'JobCancelled', schemaVersion: 9, data: { jobId: 'a', reason: 'r' } })).toThrow(/newer/);
    expect(() =>
      decodeEvent({ ...meta, type: 'AccountFunded', schemaVersion: 1, data: { orgId: 'o', accountAddress: `0x${'00'.repeat(20)}`, amountWei: '-1', txHash: '0x' } }),
    ).toThrow(EventSchemaError);
    expect(() => decodeEvent('not json')).toThrow(/not JSON/);
  });
});
