import { DEFAULT_ENGINE_CONFIG, MatchingEngine } from '../src';
import { job, node } from './fixtures';

/**
 * Re-match on failure (issue 16): a job queued again after its node failed it names the nodes that
 * may not run it (`requirements.excludedNodeIds`); the engine never places it there, and a job
 * without exclusions is placed as before.
 */
describe('excluded nodes', () => {
  const engine = () => {
    const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    // `a` is the better node (faster, better reputation): chosen first unless excluded
    e.upsertNode(node({ nodeId: 'a', benchmarkScore: 2_000, reputation: 0.9 }), 0);
    e.upsertNode(node({ nodeId: 'b', benchmarkScore: 1_000, reputation: 0.5 }), 0);
    return e;
  };

  it('places a job anywhere but its excluded nodes, and others as before', () => {
    const e = engine();
    e.submitJob(job({ jobId: 'free', submittedAtMs: 0 }));
    expect(e.matchPending(1_000, 10).map((m) => [m.jobId, m.nodeId])).toEqual([['free', 'a']]);
    e.release('free', 1_000);
    e.submitJob(job({ jobId: 'again', submittedAtMs: 0, requirements: { excludedNodeIds: ['a'] } }));
    expect(e.matchPending(2_000, 10).map((m) => [m.jobId, m.nodeId])).toEqual([['again', 'b']]);
  });

  it('waits when every node that fits is excluded, and never books an excluded node when it frees', () => {
    const e = engine();
    e.submitJob(job({ jobId: 'stuck', submittedAtMs: 0, requirements: { excludedNodeIds: ['a', 'b'] } }));
    expect(e.matchPending(1_000, 10)).toEqual([]);
    expect(e.waitingReason('stuck')).toMatch(/capacity/);
    // a job without exclusions still takes the free nodes meanwhile
    e.submitJob(job({ jobId: 'other', submittedAtMs: 500 }));
    expect(e.matchPending(2_000, 10).map((m) => m.jobId)).toEqual(['other']);
  });
});
