import { DEFAULT_ENGINE_CONFIG, MatchingEngine } from '../src';
import { job, node } from './fixtures';

/** How a matchPending pass keeps waiting jobs, holds and reports straight (review findings, 2026-11-28). */
describe('pass bookkeeping', () => {
  it('given old jobs of a signature that wait on their budget, when capacity frees, then a younger job of the same signature still matches', () => {
    const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    e.upsertNode(node({ nodeId: 'a' }), 0);
    e.recordMatch({ jobId: 'busy', nodeId: 'a', gpuCount: 1, atMs: 0, runtimeSec: 100 });
    for (let i = 0; i < DEFAULT_ENGINE_CONFIG.queue.maxFailuresPerSignature + 1; i++) e.submitJob(job({ jobId: `poor${i}`, submittedAtMs: i, budgetWei: 1n }));
    e.submitJob(job({ jobId: 'J', submittedAtMs: 10 }));
    expect(e.matchPending(11, 100)).toEqual([]);
    e.release('busy', 100_000);
    expect(e.matchPending(200_000, 100).map((m) => m.jobId)).toEqual(['J']);
    expect(e.waitingReason('poor0')).toMatch(/^budget 1 Wei below price/);
  });

  it('given a holder whose deadline can no longer be met, when the next pass runs, then it gives the node up and others use it', () => {
    const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    e.upsertNode(node({ nodeId: 'a', gpuCount: 8 }), 0);
    for (let i = 0; i < 6; i++) e.recordMatch({ jobId: `r${i}`, nodeId: 'a', gpuCount: 1, atMs: 0, runtimeSec: 10_000 });
    e.submitJob(job({ jobId: 'Y', deadlineAtMs: 4_000_000, requirements: { gpuCount: 8 } }));
    e.matchPending(1_000, 10);
    expect(e.holdOf('Y')?.nodeId).toBe('a');
    e.submitJob(job({ jobId: 'long', submittedAtMs: 5_000_000, expectedRuntimeSec: 20_000 }));
    expect(e.matchPending(5_000_000, 10).map((m) => m.jobId)).toEqual(['long']);
    expect(e.holdOf('Y')).toBeUndefined();
    expect(e.waitingReason('Y')).toMatch(/^deadline 4000000 cannot be met/);
  });

  it('given a hold that passes from one job to another in one round, when a replica applies the round’s reports in order, then it holds what the leader holds', () => {
    const leader = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    const replica = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    const both = (f: (e: MatchingEngine) => void) => [leader, replica].forEach(f);
    both((e) => e.upsertNode(node({ nodeId: 'a', gpuCount: 8, vramGiB: 80 }), 0));
    both((e) => e.upsertNode(node({ nodeId: 'b', gpuCount: 8, vramGiB: 16 }), 0));
    for (let i = 0; i < 8; i++) both((e) => e.recordMatch({ jobId: `r${i}`, nodeId: 'a', gpuCount: 1, atMs: 0, runtimeSec: 10_000 }));
    const round = (at: number) => {
      for (const m of leader.matchPending(at, 256)) replica.recordMatch({ jobId: m.jobId, nodeId: m.nodeId, gpuCount: m.gpuCount, atMs: at, runtimeSec: m.quote.runtimeSec });
      for (const id of leader.takeChangedWaiting(64)) {
        const h = leader.holdOf(id);
        replica.recordWaiting({ jobId: id, reason: leader.waitingReason(id)!, hold: h && { nodeId: h.nodeId, gpuCount: h.gpuCount, sinceMs: h.sinceMs } });
      }
    };
    both((e) => e.submitJob(job({ jobId: 'Y', submittedAtMs: 0, deadlineAtMs: 4_000_000, requirements: { gpuCount: 4, minVramGiB: 80 } })));
    round(1_000);
    expect(replica.holdOf('Y')?.nodeId).toBe('a');
    both((e) => e.submitJob(job({ jobId: 'X', submittedAtMs: 500_000, requirements: { gpuCount: 4, minVramGiB: 80 } })));
    round(500_000);
    expect(leader.holdOf('X')?.nodeId).toBe('a');
    expect(JSON.stringify(replica.snapshot().holds)).toBe(JSON.stringify(leader.snapshot().holds));
  });

  it('given many jobs cancelled behind one that waits, when passes go on, then the heaps are compacted to about the jobs queued', () => {
    const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    e.upsertNode(node({ nodeId: 'a' }), 0);
    e.recordMatch({ jobId: 'busy', nodeId: 'a', gpuCount: 1, atMs: 0 }); // never ends
    let t = 1;
    for (let wave = 0; wave < 3; wave++) {
      for (let i = 0; i < 2_000; i++) e.submitJob(job({ jobId: `w${wave}-${i}`, submittedAtMs: t++ }));
      e.matchPending(t, 256);
      for (let i = 1; i < 2_000; i++) e.cancelJob(`w${wave}-${i}`);
    }
    expect(e.demandHeapEntries()).toBeGreaterThan(5_000);
    for (let k = 0; k < 256; k++) e.matchPending(t + k, 256);
    expect(e.demandHeapEntries()).toBeLessThanOrEqual(3);
  });

  it('given waiting reports replayed from the log, then those jobs wait by signature as after a restore, and the same next pass matches the same', () => {
    const make = () => {
      const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
      e.upsertNode(node({ nodeId: 'a' }), 0);
      e.recordMatch({ jobId: 'busy', nodeId: 'a', gpuCount: 1, atMs: 0, runtimeSec: 100 });
      for (let i = 0; i < 3; i++) e.submitJob(job({ jobId: `j${i}`, submittedAtMs: i }));
      return e;
    };
    const leader = make();
    leader.matchPending(10, 10);
    const replica = make();
    for (const id of leader.takeChangedWaiting(10)) replica.recordWaiting({ jobId: id, reason: leader.waitingReason(id)! });
    const restored = MatchingEngine.restore(JSON.parse(JSON.stringify(leader.snapshot())), DEFAULT_ENGINE_CONFIG);
    for (const e of [leader, replica, restored]) e.release('busy', 100_000);
    const next = (e: MatchingEngine) => e.matchPending(100_000, 10).map((m) => [m.jobId, m.nodeId]);
    const want = next(leader);
    expect(want).toEqual([['j0', 'a']]);
    expect(next(replica)).toEqual(want);
    expect(next(restored)).toEqual(want);
  });
});
