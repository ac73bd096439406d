import { DEFAULT_ENGINE_CONFIG, marketKey, MatchingEngine } from '../src';
import { job, node } from './fixtures';

const engineWith = (...nodes: ReturnType<typeof node>[]) => {
  const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
  for (const n of nodes) e.upsertNode(n, 0);
  return e;
};
const onlyMarket = (gpuModel: string, region: string) => (key: string) => key === marketKey(gpuModel, region);

describe('MatchingEngine: one pass of a partitioned replica (routable markets) and unmatch', () => {
  it('given free nodes in two markets, when a pass may book one market only, then jobs go there and the other market is untouched', () => {
    const e = engineWith(node({ nodeId: 'h', gpuModel: 'H100', vramGiB: 80, region: 'eu-west', gpuCount: 8 }), node({ nodeId: 'a', gpuModel: 'A100', vramGiB: 80, region: 'us-east', gpuCount: 8 }));
    for (let i = 0; i < 3; i++) e.submitJob(job({ jobId: `j${i}`, submittedAtMs: i, requirements: { gpuCount: 2 } }));
    const matches = e.matchPending(10, 10, onlyMarket('A100', 'us-east'));
    expect(matches.map((m) => m.nodeId)).toEqual(['a', 'a', 'a']);
    expect(e.getNode('h')!.freeGpus).toBe(8);
    expect(e.getNode('a')!.freeGpus).toBe(2);
  });

  it('given a job that names a market this replica does not hold, when routed, then it waits with the whole market\'s reason, and the next unfiltered pass matches it', () => {
    const e = engineWith(node({ nodeId: 'h', gpuModel: 'H100', vramGiB: 80, region: 'eu-west' }), node({ nodeId: 'a', gpuModel: 'A100', vramGiB: 80, region: 'us-east' }));
    e.submitJob(job({ jobId: 'j', requirements: { gpuModels: ['H100'] } }));
    expect(e.matchPending(10, 10, onlyMarket('A100', 'us-east'))).toEqual([]);
    // not "no node satisfies": an H100 node exists, in another replica's partition
    expect(e.waitingReason('j')).not.toMatch(/^no node satisfies/);
    expect(e.matchPending(20, 10).map((m) => m.nodeId)).toEqual(['h']);
  });

  it('given a filter that admits nothing, when a pass runs, then nothing is booked, and the filter is gone after the pass', () => {
    const e = engineWith(node({ nodeId: 'a', gpuCount: 4 }));
    e.submitJob(job({ jobId: 'j' }));
    expect(e.matchPending(10, 10, () => false)).toEqual([]);
    expect(e.getNode('a')!.freeGpus).toBe(4);
    expect(e.matchPending(20, 10).map((m) => m.jobId)).toEqual(['j']);
  });

  it('given a match its caller could not append, when unmatched, then the GPUs are free and the job is queued again, first in line', () => {
    const e = engineWith(node({ nodeId: 'a', gpuCount: 1 }));
    e.submitJob(job({ jobId: 'old', submittedAtMs: 0 }));
    expect(e.matchPending(10, 10).map((m) => m.jobId)).toEqual(['old']);
    e.submitJob(job({ jobId: 'young', submittedAtMs: 5 }));
    expect(e.unmatch('old', 11)).toBe(true);
    expect(e.getNode('a')!.freeGpus).toBe(1);
    expect(e.queueDepths().inference).toBe(2);
    expect(e.matchPending(20, 10).map((m) => m.jobId)).toEqual(['old']);
  });

  it('given an unmatched job whose JobMatched did land after all, when the match is recorded, then it leaves the queue and holds its GPUs once', () => {
    const e = engineWith(node({ nodeId: 'a', gpuCount: 2 }));
    e.submitJob(job({ jobId: 'j' }));
    const [m] = e.matchPending(10, 10);
    e.unmatch('j', 11);
    e.recordMatch({ jobId: 'j', nodeId: m!.nodeId, gpuCount: m!.gpuCount, atMs: 12 });
    expect(e.queueDepths().inference).toBe(0);
    expect(e.getNode('a')!.freeGpus).toBe(1);
    expect(e.matchPending(20, 10)).toEqual([]);
  });

  it('given a job not matched by the last pass, when unmatched, then nothing changes', () => {
    const e = engineWith(node({ nodeId: 'a' }));
    e.submitJob(job({ jobId: 'j' }));
    e.matchPending(10, 10);
    e.matchPending(20, 10);
    expect(e.unmatch('j', 21)).toBe(false);
    expect(e.unmatch('nobody', 21)).toBe(false);
  });
});
