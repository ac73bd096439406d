import fc from 'fast-check';
import { DEFAULT_ENGINE_CONFIG, MatchingEngine, type EngineConfig, type JobSpec } from '../src';
import { job, node } from './fixtures';

/**
 * Holds as reservations (EASY backfilling): a held node keeps serving jobs that end before its
 * holder is expected to start, and long jobs in the GPUs the holder will not need.
 */
const SEC = 1_000;
const GRACE_MS = DEFAULT_ENGINE_CONFIG.queue.overrunGraceMs;
const cfg = (queue: Partial<EngineConfig['queue']> = {}): EngineConfig => ({
  ...DEFAULT_ENGINE_CONFIG,
  queue: { ...DEFAULT_ENGINE_CONFIG.queue, holdAfterMs: 0, ...queue },
});

const oneGpu = (jobId: string, atMs: number, runtimeSec: number): JobSpec =>
  job({ jobId, submittedAtMs: atMs, urgency: 'critical', expectedRuntimeSec: runtimeSec });
const wide = (jobId: string, gpuCount: number, atMs = 0): JobSpec => job({ jobId, submittedAtMs: atMs, urgency: 'low', requirements: { gpuCount } });

/** one node `a` of `gpus` GPUs running 1-GPU jobs that end at the given seconds */
function busyNode(gpus: number, endsSec: number[], config = cfg()): MatchingEngine {
  const e = new MatchingEngine(config);
  e.upsertNode(node({ nodeId: 'a', gpuCount: gpus }), 0);
  endsSec.forEach((end, i) => e.recordMatch({ jobId: `r${i}`, nodeId: 'a', gpuCount: 1, atMs: 0, runtimeSec: end }));
  return e;
}

describe('reservations: a held node is backfilled by jobs that do not delay its holder', () => {
  it('given a node held for an 8-GPU job until its running jobs end at 100 s, when a job ending before then arrives, then it runs there; one ending after waits', () => {
    const e = busyNode(8, [100, 100, 100]);
    e.submitJob(wide('big', 8));
    expect(e.matchPending(1 * SEC, 10)).toEqual([]);
    expect(e.holdOf('big')?.nodeId).toBe('a');
    expect(e.holdStartOf('big')).toBe(100 * SEC);

    e.submitJob(oneGpu('short', 2 * SEC, 60)); // ends at 62 s
    e.submitJob(oneGpu('long', 2 * SEC, 3_600));
    const placed = e.matchPending(2 * SEC, 10);
    expect(placed.map((m) => [m.jobId, m.nodeId])).toEqual([['short', 'a']]);
    expect(e.waitingReason('long')).toMatch(/^waiting for capacity/);
    expect(e.holdStartOf('big')).toBe(100 * SEC); // the backfilled job ends first: the holder is not delayed

    e.release('short', 62 * SEC);
    for (const r of ['r0', 'r1', 'r2']) e.release(r, 100 * SEC);
    const [m] = e.matchPending(100 * SEC, 10);
    expect(m).toMatchObject({ jobId: 'big', nodeId: 'a', gpuCount: 8 });
    expect(m!.receipt.hold).toEqual({ nodeId: 'a', sinceMs: 1 * SEC });
  });

  it('given a node held for a 4-GPU job that will find 5 GPUs free at its start, when long jobs arrive, then one uses the spare GPU and the next waits', () => {
    // 8 GPUs, 6 running: three end at 100 s, three at 200 s; at 100 s 2 + 3 = 5 are free, the holder needs 4
    const e = busyNode(8, [100, 100, 100, 200, 200, 200]);
    e.submitJob(wide('big', 4));
    e.matchPending(1 * SEC, 10);
    expect(e.holdStartOf('big')).toBe(100 * SEC);
    e.submitJob(oneGpu('long1', 2 * SEC, 3_600));
    e.submitJob(oneGpu('long2', 2 * SEC, 3_600));
    expect(e.matchPending(2 * SEC, 10).map((m) => m.jobId)).toEqual(['long1']);
    expect(e.getNode('a')!.freeGpus).toBe(1);
    for (const r of ['r0', 'r1', 'r2']) e.release(r, 100 * SEC);
    expect(e.matchPending(100 * SEC, 10).map((m) => m.jobId)).toEqual(['big']);
  });

  it('given a backfilled job that overruns, when the holder is due, then its start moves to the grace after now and only jobs ending within it are backfilled', () => {
    const e = busyNode(2, [100]);
    e.submitJob(wide('big', 2));
    e.matchPending(1 * SEC, 10);
    e.submitJob(oneGpu('s1', 20 * SEC, 50)); // expected to end at 70 s
    expect(e.matchPending(20 * SEC, 10).map((m) => m.jobId)).toEqual(['s1']);
    e.release('r0', 100 * SEC); // s1 is still running at 100 s: it overruns
    e.submitJob(oneGpu('long', 101 * SEC, (GRACE_MS + 60 * SEC) / SEC));
    e.submitJob(oneGpu('within', 101 * SEC, 60));
    const placed = e.matchPending(101 * SEC, 10);
    expect(e.holdStartOf('big')).toBe(101 * SEC + GRACE_MS);
    expect(placed.map((m) => m.jobId)).toEqual(['within']);
    expect(e.waitingReason('long')).toMatch(/^waiting for capacity/);
  });

  it('given two nodes, when a large job holds one, then it holds the one where it can start earliest, not the one with the most free GPUs', () => {
    const e = new MatchingEngine(cfg());
    e.upsertNode(node({ nodeId: 'a', gpuCount: 8 }), 0);
    e.upsertNode(node({ nodeId: 'b', gpuCount: 8 }), 0);
    for (let i = 0; i < 3; i++) e.recordMatch({ jobId: `a${i}`, nodeId: 'a', gpuCount: 1, atMs: 0, runtimeSec: 500 });
    for (let i = 0; i < 5; i++) e.recordMatch({ jobId: `b${i}`, nodeId: 'b', gpuCount: 1, atMs: 0, runtimeSec: 100 });
    e.submitJob(wide('big', 8));
    e.matchPending(1 * SEC, 10);
    expect(e.holdOf('big')?.nodeId).toBe('b');
    expect(e.holdStartOf('big')).toBe(100 * SEC);
  });

  it('property: with runtimes as expected, no backfilled job delays the holder past the start estimated when it took the hold', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }),
        fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.record({ gapSec: fc.integer({ min: 0, max: 40 }), gpus: fc.integer({ min: 1, max: 3 }), runtimeSec: fc.integer({ min: 1, max: 800 }) }), { maxLength: 40 }),
        (gpus, runningEnds, arrivals) => {
          const ends = runningEnds.slice(0, gpus);
          const e = busyNode(gpus, ends);
          const endsAt = new Map(ends.map((end, i) => [`r${i}`, end * SEC]));
          e.submitJob(wide('big', gpus, 0));
          e.matchPending(0, 100);
          const promised = e.holdStartOf('big');
          if (promised === undefined) return e.matchPending(0, 100).length === 0 && !e.isQueued('big'); // started at once
          let now = 0;
          let bigAt: number | null = null;
          const step = (to: number) => {
            for (;;) {
              let next: [string, number] | null = null;
              for (const entry of endsAt) if (!next || entry[1] < next[1] || (entry[1] === next[1] && entry[0] < next[0])) next = entry;
              if (!next || next[1] > to) break;
              const [id, end] = next;
              now = end;
              endsAt.delete(id);
              e.release(id, end);
              for (const m of e.matchPending(end, 100)) {
                if (m.jobId === 'big') bigAt ??= end;
                else endsAt.set(m.jobId, end + m.quote.runtimeSec * SEC);
              }
            }
            now = Math.max(now, to);
          };
          arrivals.forEach((a, i) => {
            step(now + a.gapSec * SEC);
            e.submitJob(job({ jobId: `j${i}`, submittedAtMs: now, expectedRuntimeSec: a.runtimeSec, requirements: { gpuCount: Math.min(a.gpus, gpus) } }));
            for (const m of e.matchPending(now, 100)) {
              if (m.jobId === 'big') bigAt ??= now;
              else endsAt.set(m.jobId, now + m.quote.runtimeSec * SEC);
            }
          });
          step(Number.MAX_SAFE_INTEGER);
          return bigAt !== null && bigAt <= promised;
        },
      ),
      { numRuns: 200, seed: 12 },
    );
  });
});
