import type { EventEnvelope } from '@starminer/events';
import {
  AggregateTooLargeError,
  ConcurrencyConflictError,
  ConcurrencyRetriesExhaustedError,
  connectTradeLog,
  DIRECT_READ_MAX_EVENTS,
  SnapshotStore,
  StalePositionError,
  type TradeLog,
} from '../src';
import { closeLogAndDatabase, openLogAndDatabase, testEvent, TEST_CODEC, type LogAndDatabase } from './helpers';

/**
 * Reading an aggregate from a snapshot's position: only the events after it are read and counted,
 * the version stays the subject's real last sequence, and a position the subject no longer has is
 * refused, so a snapshot never changes an answer. The snapshot table itself (Postgres).
 */

let env: LogAndDatabase;
let log: TradeLog;
let uncached: TradeLog;

beforeAll(async () => {
  env = await openLogAndDatabase('snapshots-spec', { schema: 'snap', poolSize: 2 });
  log = env.log;
  uncached = await connectTradeLog({ servers: env.nats.url, name: 'uncached', ...TEST_CODEC, aggregateCacheSize: 0 });
}, 60_000);

afterAll(async () => {
  await uncached?.close();
  await closeLogAndDatabase(env ?? {});
});

/** Appends `n` events E<from>..E<from+n-1> to `subject` in batches; their sequences. */
async function fill(subject: string, n: number, from = 0): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, (_, k) => testEvent(subject, `E${from + i + k}`));
    seqs.push(...(await log.append(subject, batch, { expectedLastSubjectSeq: 'any' })).map((a) => a.seq));
  }
  return seqs;
}

const types = (r: { events: { event: EventEnvelope }[] }): string[] => r.events.map((e) => e.event.type);
const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `E${from + i}`);

describe('readSubject after a position', () => {
  it('reads only the events after afterSeq, with the real version and the id of the last event', async () => {
    const subject = 'trade.account.suffix';
    const seqs = await fill(subject, 6);
    // another subject's events in between do not count
    await fill('trade.account.suffix-other', 3);
    const [late] = await log.append(subject, [testEvent('suffix', 'Late')], { expectedLastSubjectSeq: seqs[5] });
    for (const reader of [log, uncached]) {
      const read = await reader.readSubject(subject, { afterSeq: seqs[3] });
      expect(types(read)).toEqual(['E4', 'E5', 'Late']);
      expect(read.lastSubjectSeq).toBe(late.seq);
      const all = await reader.readSubject(subject);
      expect(read.lastId).toBe(all.events.at(-1)!.event.id);
      // at the last event: nothing to read, the same version
      expect(await reader.readSubject(subject, { afterSeq: late.seq })).toEqual({ events: [], lastSubjectSeq: late.seq, lastId: read.lastId });
    }
  });

  it('reads a long suffix past the direct-read threshold through the ordered consumer', async () => {
    const subject = 'trade.account.long-suffix';
    const seqs = await fill(subject, DIRECT_READ_MAX_EVENTS * 3);
    const read = await uncached.readSubject(subject, { afterSeq: seqs[9] });
    expect(types(read)).toEqual(range(10, DIRECT_READ_MAX_EVENTS * 3));
  });

  it('counts only the events after afterSeq against the limit', async () => {
    const subject = 'trade.account.limit';
    const seqs = await fill(subject, 8);
    for (const reader of [log, uncached]) {
      await expect(reader.readSubject(subject, { limit: 3 })).rejects.toBeInstanceOf(AggregateTooLargeError);
      expect(types(await reader.readSubject(subject, { limit: 3, afterSeq: seqs[4] }))).toEqual(['E5', 'E6', 'E7']);
      await expect(reader.readSubject(subject, { limit: 3, afterSeq: seqs[3] })).rejects.toBeInstanceOf(AggregateTooLargeError);
    }
    // the same through the consumer path
    const longSubject = 'trade.account.limit-long';
    const long = await fill(longSubject, 100);
    await expect(uncached.readSubject(longSubject, { limit: 60 })).rejects.toBeInstanceOf(AggregateTooLargeError);
    expect(types(await uncached.readSubject(longSubject, { limit: 60, afterSeq: long[39] }))).toEqual(range(40, 100));
    await expect(uncached.readSubject(longSubject, { limit: 60, afterSeq: long[38] })).rejects.toBeInstanceOf(AggregateTooLargeError);
  });

  it('refuses a position the subject no longer has (StalePositionError): past its end, another event there, another subject, an empty subject', async () => {
    const subject = 'trade.account.stale';
    const seqs = await fill(subject, 3);
    const read = await log.readSubject(subject);
    const idAt = (i: number): string => read.events[i].event.id;
    await expect(log.readSubject(subject, { afterSeq: seqs[2] + 1000 })).rejects.toBeInstanceOf(StalePositionError);
    await expect(log.readSubject(subject, { afterSeq: seqs[1], afterId: 'another-event' })).rejects.toBeInstanceOf(StalePositionError);
    await expect(uncached.readSubject(subject, { afterSeq: seqs[1], afterId: 'another-event' })).rejects.toBeInstanceOf(StalePositionError);
    await expect(log.readSubject(subject, { afterSeq: seqs[2], afterId: 'another-event' })).rejects.toBeInstanceOf(StalePositionError);
    const [otherSeq] = await fill('trade.account.stale-other', 1);
    await log.append(subject, [testEvent('stale', 'After')], { expectedLastSubjectSeq: seqs[2] });
    await expect(uncached.readSubject(subject, { afterSeq: otherSeq, afterId: idAt(0) })).rejects.toBeInstanceOf(StalePositionError);
    await expect(log.readSubject('trade.account.stale-never', { afterSeq: 1 })).rejects.toMatchObject({ code: 'STALE_POSITION' });
    // the right id at the right place reads on
    expect(types(await uncached.readSubject(subject, { afterSeq: seqs[1], afterId: idAt(1) }))).toEqual(['E2', 'After']);
    expect(types(await log.readSubject(subject, { afterSeq: seqs[1], afterId: idAt(1) }))).toEqual(['E2', 'After']);
  });

  it('keeps the cache correct: a suffix read never stands in for a whole read, and a whole read serves later suffix reads', async () => {
    const cached = await connectTradeLog({ servers: env.nats.url, name: 'cached', ...TEST_CODEC });
    try {
      const subject = 'trade.account.cache';
      const seqs = await fill(subject, 10);
      // a suffix read first: a whole read after it still gets every event
      expect(types(await cached.readSubject(subject, { afterSeq: seqs[6] }))).toEqual(['E7', 'E8', 'E9']);
      expect(types(await cached.readSubject(subject))).toEqual(range(0, 10));
      // the whole read now serves a suffix read from memory (the same decoded objects)
      const whole = await cached.readSubject(subject);
      const suffix = await cached.readSubject(subject, { afterSeq: seqs[4] });
      expect(types(suffix)).toEqual(range(5, 10));
      expect(suffix.events[0].event).toBe(whole.events[5].event);
      // a suffix read from a later position, then an earlier one: both right
      const [more] = await fill(subject, 1, 10);
      expect(types(await cached.readSubject(subject, { afterSeq: seqs[8] }))).toEqual(['E9', 'E10']);
      expect(types(await cached.readSubject(subject, { afterSeq: seqs[2] }))).toEqual(range(3, 11));
      expect((await cached.readSubject(subject, { afterSeq: seqs[2] })).lastSubjectSeq).toBe(more);
      expect(types(await cached.readSubject(subject))).toEqual(range(0, 11));
    } finally {
      await cached.close();
    }
  });
});

describe('readSubjectPage', () => {
  it('reads a subject page by page, saying when more follow', async () => {
    const subject = 'trade.account.pages';
    await fill(subject, 130);
    for (const reader of [log, uncached]) {
      const seen: string[] = [];
      let afterSeq = 0;
      let pages = 0;
      for (;;) {
        const page = await reader.readSubjectPage(subject, { afterSeq, limit: 50 });
        pages += 1;
        seen.push(...types(page));
        expect(page.events.length).toBeLessThanOrEqual(50);
        if (page.complete) break;
        afterSeq = page.events.at(-1)!.seq;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual(range(0, 130));
    }
    const exact = await uncached.readSubjectPage(subject, { limit: 130 });
    expect(exact.complete).toBe(true);
  });
});

describe('handleCommand from a snapshot', () => {
  type Total = { value: number; folded: number };
  const evolve = (s: Total, e: EventEnvelope): Total => (e.type === 'Added' ? { value: s.value + (e.data as { by: number }).by, folded: s.folded + 1 } : s);

  async function snapshotAt(subject: string, upTo: number): Promise<{ state: Total; afterSeq: number; afterId: string }> {
    const { events } = await uncached.readSubject(subject);
    const head = events.slice(0, upTo);
    return { state: head.reduce((s, e) => evolve(s, e.event), { value: 0, folded: 0 }), afterSeq: head.at(-1)!.seq, afterId: head.at(-1)!.event.id };
  }

  const add = (reader: TradeLog, subject: string, by: number, from?: { state: Total; afterSeq: number; afterId?: string }, onDecide?: () => Promise<void> | void, maxAttempts?: number) =>
    reader.handleCommand<{ by: number }, Total>({
      subject,
      initialState: { value: 0, folded: 0 },
      evolve,
      decide: (c, s) => {
        void onDecide?.();
        if (s.value + c.by > 100) throw Object.assign(new Error('over'), { code: 'OVER' });
        return [testEvent(subject, 'Added', { by: c.by })];
      },
      command: { by },
      from,
      maxAttempts,
    });

  it('folds only the events after the snapshot on top of its state, and decides the same as a whole fold', async () => {
    const subject = 'trade.account.cmd-snap';
    for (let i = 0; i < 10; i += 1) await add(log, subject, 5);
    const from = await snapshotAt(subject, 7);
    const r = await add(uncached, subject, 10, from);
    expect(r.state.value).toBe(60);
    expect(r.folded).toBe(3 + 1); // three after the snapshot, and the one appended
    expect(r.lastSubjectSeq).toBe(r.seqs[0]);
    expect(r.lastId).toBe(r.events[0].id);
    // the answer is the whole fold's: over the limit either way
    await expect(add(uncached, subject, 41, from)).rejects.toMatchObject({ code: 'OVER' });
    await expect(add(uncached, subject, 41)).rejects.toMatchObject({ code: 'OVER' });
    const whole = (await uncached.readSubject(subject)).events.reduce((s, e) => evolve(s, e.event), { value: 0, folded: 0 });
    expect(whole.value).toBe(60);
  });

  it('still detects a concurrent writer: the append expects the subject real last sequence, and the retry folds its event', async () => {
    const subject = 'trade.account.cmd-race';
    for (let i = 0; i < 5; i += 1) await add(log, subject, 1);
    const from = await snapshotAt(subject, 3);
    let competed = false;
    let decisions = 0;
    // the competitor writes on the command's own connection, so its event is on the wire before the command's append
    const r = await add(log, subject, 10, from, async () => {
      decisions += 1;
      if (competed) return;
      competed = true;
      await log.append(subject, [testEvent(subject, 'Added', { by: 7 })], { expectedLastSubjectSeq: 'any' });
    });
    // the first decision raced the competitor: it was decided again on a state with its event
    expect(decisions).toBe(2);
    expect(r.state.value).toBe(5 + 7 + 10);
    expect(r.folded).toBe(2 + 1 + 1);
    expect((await uncached.readSubject(subject)).events).toHaveLength(7);
  });

  it('gives up after maxAttempts from a snapshot as from the start', async () => {
    const subject = 'trade.account.cmd-busy';
    for (let i = 0; i < 3; i += 1) await add(log, subject, 1);
    const from = await snapshotAt(subject, 2);
    const err = await add(log, subject, 1, from, () => log.append(subject, [testEvent(subject, 'Added', { by: 0 })], { expectedLastSubjectSeq: 'any' }).then(() => undefined), 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConcurrencyRetriesExhaustedError);
    expect((err as ConcurrencyRetriesExhaustedError).cause).toBeInstanceOf(ConcurrencyConflictError);
  });

  it('refuses a snapshot the subject no longer has and appends nothing', async () => {
    const subject = 'trade.account.cmd-stale';
    for (let i = 0; i < 3; i += 1) await add(log, subject, 1);
    const from = await snapshotAt(subject, 3);
    await expect(add(uncached, subject, 1, { ...from, afterSeq: from.afterSeq + 10_000 })).rejects.toBeInstanceOf(StalePositionError);
    await expect(add(uncached, subject, 1, { ...from, afterId: 'not-this-one' })).rejects.toBeInstanceOf(StalePositionError);
    expect((await uncached.readSubject(subject)).events).toHaveLength(3);
  });
});

describe('SnapshotStore', () => {
  it('keeps one snapshot per subject and decider, moves it only forward (or to another version), and drops a stale one', async () => {
    const store = new SnapshotStore(env.ds, 'snap');
    await store.ensureTable();
    await store.ensureTable();
    const base = { subject: 'trade.account.s1', decider: 'account', version: 1 };
    expect(await store.get(base.subject, 'account')).toBeUndefined();
    expect(await store.put({ ...base, subjectSeq: 10, eventId: 'e10', state: { n: 10, big: '123456789012345678901234567890' } })).toBe(true);
    expect(await store.put({ ...base, decider: 'mint', subjectSeq: 4, eventId: 'e4', state: { m: 1 } })).toBe(true);
    // an older position does not overwrite a newer one (replicas racing)
    expect(await store.put({ ...base, subjectSeq: 8, eventId: 'e8', state: { n: 8 } })).toBe(false);
    expect(await store.get(base.subject, 'account')).toMatchObject({ subjectSeq: 10, eventId: 'e10', version: 1, state: { n: 10, big: '123456789012345678901234567890' } });
    expect(await store.get(base.subject, 'mint')).toMatchObject({ subjectSeq: 4, state: { m: 1 } });
    expect(await store.put({ ...base, subjectSeq: 12, eventId: 'e12', state: { n: 12 } })).toBe(true);
    // another codec version replaces it wherever it stands
    expect(await store.put({ ...base, version: 2, subjectSeq: 3, eventId: 'e3', state: { v2: true } })).toBe(true);
    expect(await store.get(base.subject, 'account')).toMatchObject({ subjectSeq: 3, version: 2 });
    // drop removes only the snapshot at that position
    await store.drop(base.subject, 'account', 99);
    expect(await store.get(base.subject, 'account')).toBeDefined();
    await store.drop(base.subject, 'account', 3);
    expect(await store.get(base.subject, 'account')).toBeUndefined();
    await expect(store.put({ ...base, subjectSeq: 1, eventId: 'e1', state: 'x'.repeat(9 * 1024 * 1024) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
