import fc from 'fast-check';
import {
  AGGREGATE_OF, decodeEvent, encodeEvent, EVENT_TYPES, EventSchemaError, LIMITS, makeEvent, subjectFor, toJson, truncateText, type EventType, type TradeEvent,
} from './index';
import { EXAMPLE_EVENT_DATA, pathsOf, withValueAt } from './examples';

const meta = (aggregateId: string, over: Record<string, unknown> = {}) => ({
  id: '0190f3c0-0000-7000-8000-000000000001',
  aggregateId,
  occurredAt: '2026-11-24T12:00:00.000Z',
  correlationId: aggregateId,
  causationId: 'cmd-1',
  actor: 'service:test',
  ...over,
});

/** The aggregate id an example belongs under (the subject token of its aggregate). */
function aggregateIdOf(type: EventType, data: Record<string, unknown>): string {
  switch (AGGREGATE_OF[type]) {
    case 'account':
      return String(data.orgId);
    case 'node':
      return String(data.nodeId);
    case 'nodekey':
      return String(data.nodeAddress).toLowerCase();
    case 'job':
    case 'contract':
      return String(data.jobId);
    case 'vault':
      return String(data.vaultId);
    case 'market':
      return String(data.gpuClass);
    case 'pool':
      return String(data.poolId);
    case 'anchor':
      return String(data.index);
  }
}

const example = (type: EventType, data: Record<string, unknown> = EXAMPLE_EVENT_DATA[type] as Record<string, unknown>, over: Record<string, unknown> = {}) => {
  const aggregateId = aggregateIdOf(type, EXAMPLE_EVENT_DATA[type] as Record<string, unknown>);
  return { event: { ...makeEvent(type, data as never, meta(aggregateId)), ...over } as TradeEvent, subject: subjectFor(AGGREGATE_OF[type], aggregateId) };
};

/** Values that break one rule or another: wrong types, NUL, lone surrogates, limits and one past them. */
const hostile = fc.oneof(
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.constant(''),
  fc.constant('a\u0000b'),
  fc.constant('\uD800'),
  fc.constant('ok \uD83D\uDE00'),
  fc.integer({ min: -2, max: 3 }),
  fc.constantFrom(16, 17, 64, 65, 127, 128, 129, 1000, 1001, 10_000, 10_001, 50_000_001, 1.5, -1, Number.MAX_SAFE_INTEGER),
  fc.constantFrom('0', '-1', '007', '1.5', '9'.repeat(79), '1'.repeat(78)),
  fc.constantFrom(...[63, 64, 65, 128, 129, 200, 201, 257, 1000, 1001].map((n) => 'x'.repeat(n))),
  fc.string({ maxLength: 40, unit: 'binary' }),
  fc.array(fc.string({ maxLength: 70 }), { maxLength: 70 }),
  fc.boolean(),
);


describe('the event catalogue', () => {
  it('files every event type under one aggregate and has an example of each', () => {
    expect(Object.keys(EXAMPLE_EVENT_DATA).sort()).toEqual([...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) expect(AGGREGATE_OF[type]).toEqual(expect.any(String));
  });

  it.each(EVENT_TYPES)('encodes a %s on its subject and reads it back as it was', (type) => {
    const { event, subject } = example(type);
    const back = decodeEvent(encodeEvent(event, subject));
    expect(back).toEqual(event);
  });

  it('given a value that breaks a rule anywhere in any event, then the encoder refuses it naming the field, or the decoder reads back what it wrote', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EVENT_TYPES), fc.nat(), hostile, (type, pick, value) => {
        const wire = JSON.parse(toJson(EXAMPLE_EVENT_DATA[type])) as Record<string, unknown>;
        const paths = pathsOf(wire).filter((p) => p.length > 0);
        const path = paths[pick % paths.length];
        const mutated = withValueAt(wire, path, value) as Record<string, unknown>;
        const { event, subject } = example(type, mutated);
        let bytes: Uint8Array;
        try {
          bytes = encodeEvent(event, subject);
        } catch (err) {
          expect(err).toBeInstanceOf(EventSchemaError);
          expect((err as EventSchemaError).violations.length).toBeGreaterThan(0);
          expect((err as EventSchemaError).violations[0].field).toMatch(/^data/);
          return;
        }
        const back = decodeEvent(bytes);
        expect(JSON.parse(toJson(back.data))).toEqual(JSON.parse(toJson(mutated)));
      }),
      { numRuns: 3_000 },
    );
  });

  it('given an envelope field past its limit or unstorable, then the encoder refuses what the decoder would refuse', () => {
    const text = fc.oneof(fc.string({ maxLength: 260 }), fc.constant('x'.repeat(LIMITS.causationIdLengthMax)), fc.constant('x'.repeat(LIMITS.causationIdLengthMax + 1)), fc.constant('a\u0000'), fc.constant('\uDC00'));
    fc.assert(
      fc.property(fc.constantFrom('causationId', 'correlationId', 'actor', 'id'), text, (field, value) => {
        const { event, subject } = example('JobCancelled', undefined, { [field]: value });
        const raw = { ...JSON.parse(toJson(event)), schemaVersion: 1 };
        const decodes = (() => {
          try {
            decodeEvent(raw);
            return true;
          } catch {
            return false;
          }
        })();
        if (decodes) expect(decodeEvent(encodeEvent(event, subject))).toEqual(event);
        else expect(() => encodeEvent(event, subject)).toThrow(EventSchemaError);
      }),
      { numRuns: 1_000 },
    );
  });

  it('refuses an event on a subject it does not belong to', () => {
    const { event } = example('JobCancelled');
    expect(() => encodeEvent(event, subjectFor('contract', 'job-1'))).toThrow(/does not belong/);
    expect(() => encodeEvent(event, subjectFor('job', 'job-2'))).toThrow(/does not belong/);
  });

  it('round-trips bigints as decimal strings on the wire', () => {
    const { event, subject } = example('ContractReleased', { ...EXAMPLE_EVENT_DATA.ContractReleased, amountWei: 10n ** 30n + 7n });
    const bytes = encodeEvent(event, subject);
    expect(Buffer.from(bytes).toString()).toContain('"amountWei":"1000000000000000000000000000007"');
    expect((decodeEvent(bytes) as TradeEvent<'ContractReleased'>).data.amountWei).toBe(10n ** 30n + 7n);
  });

  it('refuses unknown types, newer versions, negative amounts and bytes that are not UTF-8 JSON when reading', () => {
    const m = meta('job-1');
    expect(() => decodeEvent({ ...m, type: 'Nope', schemaVersion: 1, data: {} })).toThrow(/unknown event type/);
    expect(() => decodeEvent({ ...m, type: 'JobCancelled', schemaVersion: 9, data: { jobId: 'a', reason: 'r' } })).toThrow(/newer/);
    expect(() => decodeEvent({ ...meta('o'), type: 'AccountFunded', schemaVersion: 1, data: { orgId: 'o', accountAddress: `0x${'00'.repeat(20)}`, amountWei: '-1', txHash: '0x' } })).toThrow(
      EventSchemaError,
    );
    expect(() => decodeEvent('not json')).toThrow(/not UTF-8 JSON/);
    expect(() => decodeEvent(new Uint8Array([0x7b, 0xff, 0x7d]))).toThrow(/not UTF-8 JSON/);
  });

  it('cuts service-written text to a limit without splitting a surrogate pair', () => {
    expect(truncateText('abc', 5)).toBe('abc');
    expect(truncateText('abcdef', 5)).toBe('abcd…');
    const cut = truncateText(`abc${'\uD83D\uDE00'}xyz`, 5);
    expect(cut).toBe('abc…');
    expect(cut.length).toBeLessThanOrEqual(5);
  });
});
