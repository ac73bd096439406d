import { DEFAULT_ENGINE_CONFIG, MatchingEngine } from '../src';
import { job, node } from './fixtures';

/**
 * Redundancy (issue 17): a requester's job asked on k nodes is k sibling jobs of one group
 * (`redundancyGroup`). Their results are compared, so they must run on distinct nodes: a copy's
 * node joins its siblings' exclusions as soon as it is reserved, in the same pass or from the log.
 */
describe('redundant copies', () => {
  const engine = (nodes = ['a', 'b', 'c']) => {
    const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    // `a` is the best node: every copy would take it if nothing kept them apart
    nodes.forEach((nodeId, i) => e.upsertNode(node({ nodeId, gpuCount: 8, benchmarkScore: 3_000 - i * 1_000, reputation: 0.9 - i * 0.1 }), 0));
    return e;
  };
  const copy = (jobId: string, group = 'g1') => job({ jobId, submittedAtMs: 0, redundancyGroup: group });

  it('given three copies and three nodes with room for all, when one pass matches them, then each copy runs on its own node', () => {
    const e = engine();
    for (const id of ['g1', 'g1-c1', 'g1-c2']) e.submitJob(copy(id));
    const matches = e.matchPending(1_000, 10);
    expect(matches).toHaveLength(3);
    expect(new Set(matches.map((m) => m.nodeId)).size).toBe(3);
  });

  it('given two nodes for three copies, then the third waits, and a job of another group still takes the best node', () => {
    const e = engine(['a', 'b']);
    for (const id of ['g1', 'g1-c1', 'g1-c2']) e.submitJob(copy(id));
    expect(e.matchPending(1_000, 10)).toHaveLength(2);
    expect(e.waitingReason('g1-c2')).toMatch(/capacity/);
    e.submitJob(copy('g2', 'g2'));
    expect(e.matchPending(2_000, 10).map((m) => [m.jobId, m.nodeId])).toEqual([['g2', 'a']]);
    // the copy still waits: both nodes ran one of its siblings
    expect(e.matchPending(3_000, 10)).toEqual([]);
  });

  it('given a copy matched by another instance (recorded from the log), then its siblings are never placed on that node', () => {
    const e = engine(['a', 'b']);
    for (const id of ['g1', 'g1-c1']) e.submitJob(copy(id));
    e.recordMatch({ jobId: 'g1', nodeId: 'a', gpuCount: 1, atMs: 500 });
    expect(e.matchPending(1_000, 10).map((m) => [m.jobId, m.nodeId])).toEqual([['g1-c1', 'b']]);
  });

  it('given a copy queued again after its node failed (re-match), then the nodes its siblings hold stay excluded', () => {
    const e = engine();
    for (const id of ['g1', 'g1-c1']) e.submitJob(copy(id));
    const first = new Map(e.matchPending(1_000, 10).map((m) => [m.jobId, m.nodeId]));
    e.release('g1', 2_000);
    e.submitJob(job({ jobId: 'g1', submittedAtMs: 0, redundancyGroup: 'g1', requirements: { excludedNodeIds: [first.get('g1')!] } }));
    const again = e.matchPending(3_000, 10);
    expect(again).toHaveLength(1);
    expect([first.get('g1'), first.get('g1-c1')]).not.toContain(again[0].nodeId);
  });

  it('given jobs without a group, then they are placed as before (on the best node, one after the other)', () => {
    const e = engine();
    e.submitJob(job({ jobId: 'x', submittedAtMs: 0 }));
    e.submitJob(job({ jobId: 'y', submittedAtMs: 0 }));
    expect(e.matchPending(1_000, 10).map((m) => m.nodeId)).toEqual(['a', 'a']);
  });
});
