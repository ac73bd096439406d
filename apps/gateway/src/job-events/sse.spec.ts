import { DomainError } from '@starminer/domain';
import type { JobStatus, JobUpdate, JobUpdateType } from '@starminer/events';
import { streamPositionOf } from './job-events.controller';
import { pumpJobUpdates, sseMessage, type SseSink } from './sse';
import { StreamSlot } from './stream-hub';

const update = (seq: number, type: JobUpdateType, status: JobStatus): JobUpdate => ({
  seq: String(seq),
  eventId: `e-${seq}`,
  type,
  jobId: 'job-1',
  status,
  at: '2026-01-01T00:00:00.000Z',
});

/** The job's updates as the store holds them: `after` reads them as the store's query does. */
function store(initial: JobUpdate[]) {
  const rows = [...initial];
  const reads: { after: bigint; limit: number }[] = [];
  return {
    rows,
    reads,
    read: async (after: bigint, limit: number) => {
      reads.push({ after, limit });
      return rows.filter((u) => BigInt(u.seq) > after).slice(0, limit);
    },
  };
}

function sink(opts: { full?: boolean; drains?: boolean } = {}): SseSink & { written: string[] } {
  const written: string[] = [];
  return { written, write: (chunk) => (written.push(chunk), !opts.full), drained: async () => opts.drains ?? true };
}

const slot = () => new StreamSlot('job-1', () => undefined);
const ids = (written: string[]) => written.map((w) => /^id: (\d+)/.exec(w)?.[1]);
const pump = (o: Partial<Parameters<typeof pumpJobUpdates>[0]> & Pick<Parameters<typeof pumpJobUpdates>[0], 'slot' | 'sink' | 'read'>) =>
  pumpJobUpdates({ after: 0n, pageSize: 2, pollMs: 60_000, drainTimeoutMs: 1_000, ...o });

describe('an SSE message of a job update', () => {
  it('is its seq as id, its type as event, and the update as one line of JSON', () => {
    const u = { ...update(7, 'job.waiting', 'queued'), waitingReason: 'no node\nwith an H100' };
    const text = sseMessage(u);
    expect(text).toBe(`id: 7\nevent: job.waiting\ndata: ${JSON.stringify(u)}\n\n`);
    expect(text.split('\n')).toHaveLength(5); // the line break in the reason is escaped inside the JSON
    expect(JSON.parse(text.split('\n')[2].slice('data: '.length))).toEqual(u);
  });
});

describe('pumping a job’s updates into a stream', () => {
  it('given updates after the position, then it sends them page by page in seq order and ends after the final one', async () => {
    const s = store([update(3, 'job.queued', 'queued'), update(5, 'job.matched', 'matched'), update(9, 'job.contracted', 'contracted'), update(12, 'job.settled', 'settled'), update(14, 'job.chain-effect-restored', 'settled')]);
    const out = sink();
    const end = await pump({ slot: slot(), sink: out, read: s.read, after: 3n });
    expect(end).toBe('final');
    expect(ids(out.written)).toEqual(['5', '9', '12']);
    expect(s.reads.map((r) => r.after)).toEqual([3n, 9n]);
  });

  it('given nothing new, when the job gets an update and the slot is woken, then it sends it without waiting for the poll', async () => {
    const s = store([update(1, 'job.queued', 'queued')]);
    const out = sink();
    const sl = slot();
    const running = pump({ slot: sl, sink: out, read: s.read });
    await new Promise((r) => setTimeout(r, 20));
    expect(ids(out.written)).toEqual(['1']);
    s.rows.push(update(4, 'job.cancelled', 'cancelled'));
    sl.wake();
    await expect(running).resolves.toBe('final');
    expect(ids(out.written)).toEqual(['1', '4']);
  });

  it('given a wake during a read, then the next wait returns at once and the update is not left for the poll', async () => {
    const s = store([update(1, 'job.queued', 'queued')]);
    const sl = slot();
    const out = sink();
    let first = true;
    const read = async (after: bigint, limit: number) => {
      const page = await s.read(after, limit);
      if (first) {
        first = false;
        s.rows.push(update(2, 'job.failed', 'failed'));
        sl.wake(); // committed and signalled while the first read was answering
      }
      return page;
    };
    await expect(pump({ slot: sl, sink: out, read })).resolves.toBe('final');
    expect(ids(out.written)).toEqual(['1', '2']);
  });

  it('given nothing new and no wake, then it reads again after the poll interval (another replica may have projected)', async () => {
    const s = store([]);
    const out = sink();
    const running = pump({ slot: slot(), sink: out, read: s.read, pollMs: 30 });
    s.rows.push(update(1, 'job.refunded', 'refunded'));
    await expect(running).resolves.toBe('final');
    expect(ids(out.written)).toEqual(['1']);
  });

  it('given the slot closes while waiting (client gone, age, shutdown), then it stops at once', async () => {
    const sl = slot();
    const running = pump({ slot: sl, sink: sink(), read: store([update(1, 'job.queued', 'queued')]).read });
    await new Promise((r) => setTimeout(r, 20));
    sl.close();
    await expect(running).resolves.toBe('closed');
  });

  it('given a client that does not read (the buffer stays full), then it gives up as slow without moving on', async () => {
    const out = sink({ full: true, drains: false });
    await expect(pump({ slot: slot(), sink: out, read: store([update(1, 'job.queued', 'queued'), update(2, 'job.matched', 'matched')]).read })).resolves.toBe('slow');
    expect(ids(out.written)).toEqual(['1']);
  });
});

describe('where a stream starts', () => {
  it('is after Last-Event-ID, which wins over ?after=; else after ?after=; else the start', () => {
    expect(streamPositionOf('42', '7')).toBe(42n);
    expect(streamPositionOf(undefined, '7')).toBe(7n);
    expect(streamPositionOf('', '7')).toBe(7n); // an EventSource that has no id sends none
    expect(streamPositionOf(undefined, undefined)).toBe(0n);
    expect(streamPositionOf('9223372036854775807', undefined)).toBe(9223372036854775807n);
  });

  it.each([['abc'], ['-1'], ['1.5'], ['0x10'], ['007'], [' 5'], ['9223372036854775808'], ['12345678901234567890']])('refuses Last-Event-ID %p with BAD_LAST_EVENT_ID', (id) => {
    expect(() => streamPositionOf(id, undefined)).toThrow(expect.objectContaining({ code: 'BAD_LAST_EVENT_ID' }) as DomainError);
  });

  it('refuses an ?after= that is not one decimal (a repeated parameter, a word) with BAD_LAST_EVENT_ID', () => {
    expect(() => streamPositionOf(undefined, ['1', '2'])).toThrow(expect.objectContaining({ code: 'BAD_LAST_EVENT_ID' }) as DomainError);
    expect(() => streamPositionOf(undefined, 'latest')).toThrow(expect.objectContaining({ code: 'BAD_LAST_EVENT_ID' }) as DomainError);
  });
});
