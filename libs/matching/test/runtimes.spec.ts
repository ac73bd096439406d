import { DEFAULT_ENGINE_CONFIG, MatchingEngine } from '../src';
import { job, node } from './fixtures';

/**
 * Container workloads (issue 17): a workload with an image needs the `container` runtime, which a
 * node registers only when its agent found a container engine. Such a job never goes to a node
 * without it; a job that needs no runtime goes anywhere as before.
 */
describe('required runtime', () => {
  const engine = () => {
    const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    // `host` is the better node (faster, better reputation) but has no container engine
    e.upsertNode(node({ nodeId: 'host', benchmarkScore: 2_000, reputation: 0.9, runtimes: ['hash-chain', 'matmul', 'command'] }), 0);
    e.upsertNode(node({ nodeId: 'boxed', benchmarkScore: 1_000, reputation: 0.5, runtimes: ['hash-chain', 'matmul', 'command', 'container'] }), 0);
    return e;
  };

  it('places a container job only on a node that registered the container runtime', () => {
    const e = engine();
    e.submitJob(job({ jobId: 'plain', submittedAtMs: 0 }));
    expect(e.matchPending(1_000, 10).map((m) => [m.jobId, m.nodeId])).toEqual([['plain', 'host']]);
    e.release('plain', 1_000);
    e.submitJob(job({ jobId: 'image', submittedAtMs: 0, requirements: { runtime: 'container' } }));
    expect(e.matchPending(2_000, 10).map((m) => [m.jobId, m.nodeId])).toEqual([['image', 'boxed']]);
  });

  it('waits when no node has the runtime (nodes registered without runtimes count as built-ins only), while other jobs still run', () => {
    const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    e.upsertNode(node({ nodeId: 'host', runtimes: ['hash-chain', 'matmul', 'command'] }), 0);
    e.upsertNode(node({ nodeId: 'old' }), 0);
    e.submitJob(job({ jobId: 'image', submittedAtMs: 0, requirements: { runtime: 'container' } }));
    expect(e.matchPending(1_000, 10)).toEqual([]);
    expect(e.waitingReason('image')).toMatch(/capacity/);
    e.submitJob(job({ jobId: 'plain', submittedAtMs: 500 }));
    expect(e.matchPending(2_000, 10).map((m) => m.jobId)).toEqual(['plain']);
  });
});
