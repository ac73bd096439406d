import type { DomainError } from '@starminer/domain';
import { StreamHub, type ProjectionProgress } from './stream-hub';

/** The views projection as the hub sees it: a checkpoint a test moves, and waiters on it. */
class Progress implements ProjectionProgress {
  checkpoint = 0;
  running = true;
  waits = 0;
  private waiters: (() => void)[] = [];
  advancedPast(seq: number, timeoutMs: number): Promise<boolean> {
    this.waits += 1;
    if (!this.running) return Promise.resolve(false);
    if (this.checkpoint > seq) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
  moveTo(seq: number): void {
    this.checkpoint = seq;
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Updates by job and seq, and the queries the hub made of them. */
function updates(rows: [jobId: string, seq: number][]) {
  const queries: { jobIds: readonly string[]; from: number; to: number }[] = [];
  return {
    rows,
    queries,
    updatedAmong: async (jobIds: readonly string[], from: number, to: number) => {
      queries.push({ jobIds, from, to });
      return [...new Set(rows.filter(([j, s]) => jobIds.includes(j) && s > from && s <= to).map(([j]) => j))];
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 10));
let hubs: StreamHub[] = [];
function hubOf(progress: Progress, u: ReturnType<typeof updates>, over: { streamsMax?: number; wakeWaitMs?: number } = {}) {
  const hub = new StreamHub({ progress, updatedAmong: u.updatedAmong, streamsMax: over.streamsMax ?? 10, retryAfterSec: 5, wakeWaitMs: over.wakeWaitMs ?? 1_000, onError: () => undefined });
  hubs.push(hub);
  return hub;
}
afterEach(async () => {
  for (const h of hubs) await h.stop();
  hubs = [];
});

describe('the hub that wakes job event streams', () => {
  it('given streams of several jobs, when the projection moves over updates of one, then one query finds it and only its streams wake', async () => {
    const progress = new Progress();
    progress.checkpoint = 100;
    const u = updates([['job-a', 101], ['job-c', 102]]);
    const hub = hubOf(progress, u);
    const a1 = hub.open('job-a');
    const a2 = hub.open('job-a');
    const b = hub.open('job-b');
    const woken: string[] = [];
    void a1.wait(60_000).then(() => woken.push('a1'));
    void a2.wait(60_000).then(() => woken.push('a2'));
    void b.wait(60_000).then(() => woken.push('b'));
    await tick();
    progress.moveTo(102);
    await tick();
    expect(woken.sort()).toEqual(['a1', 'a2']);
    expect(u.queries).toEqual([{ jobIds: ['job-a', 'job-b'], from: 100, to: 102 }]);
  });

  it('given a wake while the stream was not waiting, then its next wait returns at once (the wake is kept, not lost)', async () => {
    const progress = new Progress();
    const u = updates([['job-a', 1]]);
    const hub = hubOf(progress, u);
    const a = hub.open('job-a');
    await tick();
    progress.moveTo(1);
    await tick();
    const started = Date.now();
    await a.wait(60_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    a.takeWake();
    await expect(Promise.race([a.wait(50).then(() => 'timeout-or-wake'), tick().then(() => 'pending')])).resolves.toBe('pending');
  });

  it('refuses a stream beyond its limit with TOO_MANY_STREAMS and a retry time, and a closed stream frees its place', () => {
    const hub = hubOf(new Progress(), updates([]), { streamsMax: 2 });
    const first = hub.open('job-a');
    hub.open('job-b');
    let refusal: DomainError | undefined;
    try {
      hub.open('job-c');
    } catch (err) {
      refusal = err as DomainError;
    }
    expect(refusal).toMatchObject({ code: 'TOO_MANY_STREAMS', details: { retryAfterSec: 5 } });
    first.close();
    first.close(); // twice: counted once
    expect(hub.size).toBe(1);
    expect(hub.open('job-c').jobId).toBe('job-c');
    expect(hub.size).toBe(2);
  });

  it('given the gateway stops, then every stream closes, a waiting one at once, and no new one opens', async () => {
    const hub = hubOf(new Progress(), updates([]));
    const a = hub.open('job-a');
    const closed: string[] = [];
    a.onClose(() => closed.push('a'));
    const waiting = a.wait(60_000);
    await hub.stop();
    await waiting;
    expect(a.closed).toBe(true);
    expect(closed).toEqual(['a']);
    expect(hub.size).toBe(0);
    expect(() => hub.open('job-b')).toThrow(expect.objectContaining({ code: 'TOO_MANY_STREAMS' }) as DomainError);
  });

  it('given a projection that is not running (it answers at once), then the loop waits its period instead of spinning', async () => {
    const progress = new Progress();
    progress.running = false;
    const hub = hubOf(progress, updates([]), { wakeWaitMs: 100 });
    hub.open('job-a');
    await new Promise((r) => setTimeout(r, 250));
    expect(progress.waits).toBeGreaterThanOrEqual(1);
    expect(progress.waits).toBeLessThanOrEqual(4);
  });

  it('given the last stream closes, then the loop stops; a stream opened later starts it again from the checkpoint then', async () => {
    const progress = new Progress();
    const u = updates([['job-a', 5], ['job-a', 9]]);
    const hub = hubOf(progress, u);
    hub.open('job-a').close();
    progress.moveTo(5);
    await tick();
    expect(u.queries).toEqual([]); // nobody watches: nothing asked
    const a = hub.open('job-a');
    await tick();
    progress.moveTo(9);
    await tick();
    expect(u.queries).toEqual([{ jobIds: ['job-a'], from: 5, to: 9 }]);
    await a.wait(60_000); // woken
  });
});
