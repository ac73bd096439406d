import { startNats, type TestNats } from '@starminer/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  AggregateTooLargeError,
  ConcurrencyConflictError,
  ConcurrencyRetriesExhaustedError,
  connectTradeLog,
  EventDecodeError,
  TradeLogArgumentError,
  type TradeLog,
} from '../src';
import type { EventEnvelope } from '@starminer/events';
import { testEvent, TEST_CODEC } from './helpers';

let nats: TestNats;
let log: TradeLog;

beforeAll(async () => {
  nats = await startNats();
  log = await connectTradeLog({ servers: nats.url, name: 'trade-log-spec', ...TEST_CODEC });
  await log.ensureStream();
});

afterAll(async () => {
  await log?.close();
  await nats?.stop();
});

describe('ensureStream', () => {
  it('creates TRADE with file storage, trade.>, no limits and a 2 min duplicate window, and is idempotent', async () => {
    await log.ensureStream();
    await log.ensureStream();
    const jsm = await jetstreamManager(log.nc);
    const { config } = await jsm.streams.info('TRADE');
    expect(config.storage).toBe('file');
    expect(config.subjects).toEqual(['trade.>']);
    expect(config.max_age).toBe(0);
    expect(config.max_msgs).toBe(-1);
    expect(config.duplicate_window).toBe(120_000_000_000);
  });
});

describe('append and readSubject', () => {
  it('appends the events of one decision in order and reads them back with their sequences', async () => {
    const subject = 'trade.job.read-1';
    const events = [testEvent('read-1', 'JobSubmitted', { budgetWei: 10n ** 18n }), testEvent('read-1', 'JobQueued')];
    const acks = await log.append(subject, events, { expectedLastSubjectSeq: 0 });
    expect(acks).toHaveLength(2);
    expect(acks[1].seq).toBeGreaterThan(acks[0].seq);
    expect(acks.every((a) => !a.duplicate)).toBe(true);

    const read = await log.readSubject(subject);
    expect(read.lastSubjectSeq).toBe(acks[1].seq);
    expect(read.events.map((e) => e.seq)).toEqual(acks.map((a) => a.seq));
    expect(read.events.map((e) => e.event.type)).toEqual(['JobSubmitted', 'JobQueued']);
    // bigints travel as decimal strings
    expect((read.events[0].event.data as { budgetWei: string }).budgetWei).toBe('1000000000000000000');
  });

  it("lastSeqOf: a subject's last sequence without reading it, 0 for one never written", async () => {
    const acks = await log.append('trade.job.last-1', [testEvent('last-1', 'A'), testEvent('last-1', 'B')], { expectedLastSubjectSeq: 0 });
    await log.append('trade.job.last-2', [testEvent('last-2', 'C')], { expectedLastSubjectSeq: 0 });
    expect(await log.lastSeqOf('trade.job.last-1')).toBe(acks[1].seq);
    expect(await log.lastSeqOf('trade.job.never-written-2')).toBe(0);
  });

  it('reads an empty subject as version 0', async () => {
    expect(await log.readSubject('trade.job.never-written')).toEqual({ events: [], lastSubjectSeq: 0, lastId: '' });
  });

  it('reads only its own subject, not a sibling sharing the prefix', async () => {
    await log.append('trade.job.sib', [testEvent('sib', 'A')], { expectedLastSubjectSeq: 0 });
    await log.append('trade.job.sib2', [testEvent('sib2', 'B')], { expectedLastSubjectSeq: 0 });
    const read = await log.readSubject('trade.job.sib');
    expect(read.events.map((e) => e.event.type)).toEqual(['A']);
  });

  it('decodes through the codec it is given, and names the event it cannot decode', async () => {
    await log.append('trade.job.codec', [testEvent('codec', 'Bad')], { expectedLastSubjectSeq: 0 });
    const decode = (bytes: Uint8Array): EventEnvelope => {
      const e = JSON.parse(Buffer.from(bytes).toString('utf8')) as EventEnvelope;
      if (e.type === 'Bad') throw new Error('refused by schema');
      return e;
    };
    const err = await log.readSubject('trade.job.codec', { decode }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventDecodeError);
    expect((err as EventDecodeError).code).toBe('EVENT_DECODE_FAILED');
    expect(((err as EventDecodeError).cause as Error).message).toBe('refused by schema');
  });

  it('refuses an aggregate past its event limit', async () => {
    await log.append('trade.job.big', [1, 2, 3].map((n) => testEvent('big', `E${n}`)), { expectedLastSubjectSeq: 0 });
    await expect(log.readSubject('trade.job.big', { limit: 2 })).rejects.toBeInstanceOf(AggregateTooLargeError);
  });

  it('refuses subjects outside the log and wildcards', async () => {
    await expect(log.append('other.job.x', [testEvent('x', 'A')], { expectedLastSubjectSeq: 0 })).rejects.toBeInstanceOf(TradeLogArgumentError);
    await expect(log.readSubject('trade.job.*')).rejects.toBeInstanceOf(TradeLogArgumentError);
  });
});

describe('optimistic concurrency', () => {
  it('refuses an append on a subject that moved (10071) with ConcurrencyConflictError', async () => {
    const subject = 'trade.account.occ';
    const [first] = await log.append(subject, [testEvent('occ', 'Opened')], { expectedLastSubjectSeq: 0 });
    // a second writer that also saw the empty subject loses
    const err = await log.append(subject, [testEvent('occ', 'Opened')], { expectedLastSubjectSeq: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConcurrencyConflictError);
    expect((err as ConcurrencyConflictError).code).toBe('CONCURRENCY_CONFLICT');
    expect((err as ConcurrencyConflictError).cause).toBeDefined();
    // the writer that read the right version wins
    const [second] = await log.append(subject, [testEvent('occ', 'Credited')], { expectedLastSubjectSeq: first.seq });
    expect(second.seq).toBeGreaterThan(first.seq);
    const read = await log.readSubject(subject);
    expect(read.events.map((e) => e.event.type)).toEqual(['Opened', 'Credited']);
  });

  it("'any' appends without a check", async () => {
    await log.append('trade.market.any', [testEvent('any', 'A')], { expectedLastSubjectSeq: 'any' });
    await log.append('trade.market.any', [testEvent('any', 'B')], { expectedLastSubjectSeq: 'any' });
    expect((await log.readSubject('trade.market.any')).events).toHaveLength(2);
  });

  it('drops a duplicate msgID and returns the original sequence', async () => {
    const subject = 'trade.node.dup';
    const event = testEvent('dup', 'NodeRegistered');
    const [a] = await log.append(subject, [event], { expectedLastSubjectSeq: 0 });
    const before = await log.lastSeq();
    // the same event again (a client retry after a lost ack), even with a stale expectation
    const [b] = await log.append(subject, [event], { expectedLastSubjectSeq: 0 });
    expect(b).toEqual({ seq: a.seq, duplicate: true });
    expect(await log.lastSeq()).toBe(before);
    expect((await log.readSubject(subject)).events).toHaveLength(1);
  });
});

describe('handleCommand', () => {
  type Counter = { value: number };
  const evolve = (s: Counter, e: EventEnvelope): Counter => (e.type === 'Incremented' ? { value: s.value + (e.data as { by: number }).by } : s);

  class LimitReached extends Error {
    readonly code = 'LIMIT_REACHED';
  }

  const increment = (subject: string, id: string, by: number, maxAttempts?: number) =>
    log.handleCommand<{ by: number }, Counter>({
      subject,
      initialState: { value: 0 },
      evolve,
      decide: (c, s) => {
        if (s.value + c.by > 1_000) throw new LimitReached('over the limit');
        return [testEvent(id, 'Incremented', { by: c.by })];
      },
      command: { by },
      maxAttempts,
    });

  it('loads, decides, appends and returns the events, sequences and new state', async () => {
    const r1 = await increment('trade.pool.cmd', 'cmd', 2);
    const r2 = await increment('trade.pool.cmd', 'cmd', 3);
    expect(r2.state).toEqual({ value: 5 });
    expect(r2.seqs[0]).toBeGreaterThan(r1.seqs[0]);
    expect(r2.events[0].type).toBe('Incremented');
  });

  it('lets a domain refusal through untouched and appends nothing', async () => {
    await increment('trade.pool.refuse', 'refuse', 1_000);
    const err = await increment('trade.pool.refuse', 'refuse', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitReached);
    expect((await log.readSubject('trade.pool.refuse')).events).toHaveLength(1);
  });

  it('two concurrent writers: every command lands exactly once, conflicts retried', async () => {
    const subject = 'trade.pool.race';
    const writers = 2;
    const perWriter = 15;
    let conflicts = 0;
    const run = async (): Promise<void> => {
      for (let i = 0; i < perWriter; i += 1) {
        // count how often the loop had to decide again
        let attempts = 0;
        await log.handleCommand<{ by: number }, Counter>({
          subject,
          initialState: { value: 0 },
          evolve,
          decide: (c) => {
            attempts += 1;
            return [testEvent('race', 'Incremented', { by: c.by })];
          },
          command: { by: 1 },
          maxAttempts: 20,
        });
        conflicts += attempts - 1;
      }
    };
    await Promise.all(Array.from({ length: writers }, run));
    const read = await log.readSubject(subject);
    expect(read.events).toHaveLength(writers * perWriter);
    expect(read.events.reduce((s, e) => evolve(s, e.event), { value: 0 })).toEqual({ value: writers * perWriter });
    expect(conflicts).toBeGreaterThan(0);
  });

  it('gives up after maxAttempts when the subject keeps moving', async () => {
    const subject = 'trade.pool.busy';
    await log.append(subject, [testEvent('busy', 'Incremented', { by: 1 })], { expectedLastSubjectSeq: 0 });
    // a competitor that always appends between our read and our append
    const err = await log
      .handleCommand<{ by: number }, Counter>({
        subject,
        initialState: { value: 0 },
        evolve,
        decide: (c) => {
          void log.append(subject, [testEvent('busy', 'Incremented', { by: 1 })], { expectedLastSubjectSeq: 'any' });
          return [testEvent('busy', 'Incremented', { by: c.by })];
        },
        command: { by: 1 },
        maxAttempts: 3,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConcurrencyRetriesExhaustedError);
    expect((err as ConcurrencyRetriesExhaustedError).attempts).toBe(3);
    expect((err as ConcurrencyRetriesExhaustedError).cause).toBeInstanceOf(ConcurrencyConflictError);
  });
});

describe('readSubject cache', () => {
  it('serves a hot aggregate from memory and still sees what another writer appended', async () => {
    const other = await connectTradeLog({ servers: nats.url, name: 'other-writer', ...TEST_CODEC });
    try {
      const subject = 'trade.contract.cache';
      const [a] = await log.append(subject, [testEvent('cache', 'A')], { expectedLastSubjectSeq: 0 });
      const first = await log.readSubject(subject);
      const again = await log.readSubject(subject);
      expect(again).toEqual(first);
      expect(again.events[0].event).toBe(first.events[0].event); // the same decoded object: from the cache
      const [b] = await other.append(subject, [testEvent('cache', 'B')], { expectedLastSubjectSeq: a.seq });
      const after = await log.readSubject(subject);
      expect(after.events.map((e) => [e.seq, e.event.type])).toEqual([
        [a.seq, 'A'],
        [b.seq, 'B'],
      ]);
      expect(after.lastSubjectSeq).toBe(b.seq);
    } finally {
      await other.close();
    }
  });

  it('keeps one cache per decoder', async () => {
    const subject = 'trade.contract.codecs';
    await log.append(subject, [testEvent('codecs', 'A')], { expectedLastSubjectSeq: 0 });
    await log.readSubject(subject);
    const tagged = await log.readSubject(subject, { decode: (b) => ({ ...JSON.parse(Buffer.from(b).toString()), type: 'Tagged' }) });
    expect(tagged.events[0].event.type).toBe('Tagged');
  });

  it('forgets everything when the stream is deleted and created again', async () => {
    const nats2 = await startNats();
    const l2 = await connectTradeLog({ servers: nats2.url, name: 'recreate', ...TEST_CODEC });
    try {
      await l2.ensureStream();
      const subject = 'trade.job.recreated';
      await l2.append(subject, [testEvent('recreated', 'Old1'), testEvent('recreated', 'Old2')], { expectedLastSubjectSeq: 0 });
      expect((await l2.readSubject(subject)).events.map((e) => e.event.type)).toEqual(['Old1', 'Old2']);
      const jsm = await jetstreamManager(l2.nc);
      await jsm.streams.delete('TRADE');
      await l2.ensureStream();
      await l2.append(subject, ['New1', 'New2', 'New3'].map((t) => testEvent('recreated', t)), { expectedLastSubjectSeq: 0 });
      // the advisory arrives asynchronously; the cache must not serve Old1, Old2 as a prefix
      await new Promise((r) => setTimeout(r, 100));
      expect((await l2.readSubject(subject)).events.map((e) => e.event.type)).toEqual(['New1', 'New2', 'New3']);
    } finally {
      await l2.close();
      await nats2.stop();
    }
  });

  it('reads a long aggregate past the direct-read threshold through an ordered consumer', async () => {
    const subject = 'trade.market.long';
    const n = 80;
    for (let i = 0; i < n; i += 20) {
      await log.append(subject, Array.from({ length: 20 }, (_, k) => testEvent('long', `E${i + k}`)), { expectedLastSubjectSeq: 'any' });
    }
    const fresh = await connectTradeLog({ servers: nats.url, name: 'fresh-reader', ...TEST_CODEC, aggregateCacheSize: 0 });
    try {
      const read = await fresh.readSubject(subject);
      expect(read.events.map((e) => e.event.type)).toEqual(Array.from({ length: n }, (_, i) => `E${i}`));
    } finally {
      await fresh.close();
    }
  });
});

describe('decodeAt', () => {
  it('decodes an event once for the readers of one process: the same sequence and bytes answer the same event; other bytes, another decoder or a refusal decode anew', async () => {
    const subject = 'trade.job.decode-once-1';
    const [ack] = await log.append(subject, [testEvent('decode-once-1', 'JobSubmitted')], { expectedLastSubjectSeq: 0 });
    const jsm = await jetstreamManager(log.nc);
    const stored = await jsm.streams.getMessage('TRADE', { seq: ack.seq });
    const calls: number[] = [];
    const counting = (data: Uint8Array): EventEnvelope => {
      calls.push(data.length);
      return log.decode(data);
    };
    const first = log.decodeAt(ack.seq, stored!.data, counting);
    const again = log.decodeAt(ack.seq, Uint8Array.from(stored!.data), counting); // equal bytes, another buffer (another reader's delivery)
    expect(again).toBe(first);
    expect(calls).toHaveLength(1);
    expect(first).toMatchObject({ type: 'JobSubmitted', aggregateId: 'decode-once-1' });

    // the same sequence with other bytes (a stream made again under its name) is decoded anew
    const other = new TextEncoder().encode(new TextDecoder().decode(stored!.data).replace('decode-once-1', 'decode-once-X'));
    expect(log.decodeAt(ack.seq, other, counting)).toMatchObject({ aggregateId: 'decode-once-X' });
    expect(calls).toHaveLength(2);
    // another decoder keeps its own
    expect(log.decodeAt(ack.seq, stored!.data)).not.toBe(first);

    // a refusal is thrown to each reader and cached for none
    let refusals = 0;
    const refusing = (): EventEnvelope => {
      refusals += 1;
      throw new Error('refused');
    };
    expect(() => log.decodeAt(ack.seq, stored!.data, refusing)).toThrow('refused');
    expect(() => log.decodeAt(ack.seq, stored!.data, refusing)).toThrow('refused');
    expect(refusals).toBe(2);
  });
});
