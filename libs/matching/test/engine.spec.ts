import { DEFAULT_ENGINE_CONFIG, MatchingEngine, type EngineSnapshot } from '../src';
import { HOUR_SEC, job, node, WEI } from './fixtures';

const engineWith = (...nodes: ReturnType<typeof node>[]) => {
  const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
  for (const n of nodes) e.upsertNode(n, 0);
  return e;
};

describe('MatchingEngine: routing, capacity and waiting reasons', () => {
  it('given a free node meeting every constraint, when a job is matched, then its GPUs are reserved and freed on release', () => {
    const e = engineWith(node({ nodeId: 'n1', gpuModel: 'A100', gpuCount: 4, vramGiB: 80 }));
    e.submitJob(job({ jobId: 'j1', requirements: { gpuModels: ['A100'], gpuCount: 3 } }));
    const [m] = e.matchPending(1_000, 10);
    expect(m).toMatchObject({ jobId: 'j1', nodeId: 'n1', gpuCount: 3, matchedAtMs: 1_000 });
    expect(e.getNode('n1')!.freeGpus).toBe(1);
    expect(e.queueDepths().inference).toBe(0);
    e.release('j1', 2_000);
    expect(e.getNode('n1')!.freeGpus).toBe(4);
  });

  it('given 2 nodes of 2 free GPUs each, when a job asks 4 GPUs, then it waits (all GPUs on one node) with a reason', () => {
    const e = engineWith(node({ nodeId: 'a', gpuCount: 2 }), node({ nodeId: 'b', gpuCount: 2 }));
    e.submitJob(job({ jobId: 'j', requirements: { gpuCount: 4 } }));
    expect(e.matchPending(0, 10)).toEqual([]);
    expect(e.waitingReason('j')).toBe('no node satisfies gpuModel=any, count=4');
  });

  it('given no H200 anywhere, when a job asks 8 H200, then it waits with "no node satisfies gpuModel=H200, count=8"', () => {
    const e = engineWith(node({ nodeId: 'a' }));
    e.submitJob(job({ jobId: 'j', requirements: { gpuModels: ['H200'], gpuCount: 8 } }));
    e.matchPending(0, 10);
    expect(e.waitingReason('j')).toBe('no node satisfies gpuModel=H200, count=8');
  });

  it('given the only node busy, when a job waits, then its reason says capacity, and it matches after release', () => {
    const e = engineWith(node({ nodeId: 'a' }));
    e.submitJob(job({ jobId: 'j1' }));
    e.submitJob(job({ jobId: 'j2', submittedAtMs: 1 }));
    expect(e.matchPending(10, 10).map((m) => m.jobId)).toEqual(['j1']);
    expect(e.waitingReason('j2')).toMatch(/^waiting for capacity/);
    e.release('j1', 20);
    expect(e.matchPending(30, 10).map((m) => m.jobId)).toEqual(['j2']);
  });

  it('given a budget below every price, when routed, then it waits with a budget reason', () => {
    const e = engineWith(node({ nodeId: 'a', gpuModel: 'H100', vramGiB: 80 }));
    e.submitJob(job({ jobId: 'j', budgetWei: 1n, requirements: { gpuModels: ['H100'] } }));
    e.matchPending(0, 10);
    expect(e.waitingReason('j')).toMatch(/^budget 1 Wei below price: cheapest quote \d+ Wei/);
  });

  it.each([
    ['tee', { tee: true }, node({ nodeId: 'x', tee: false })],
    ['vram', { minVramGiB: 24 }, node({ nodeId: 'x', vramGiB: 16 })],
    ['region', { regions: ['us-east'] }, node({ nodeId: 'x', region: 'eu-west' })],
    ['latency', { maxLatencyMs: 20 }, node({ nodeId: 'x', latencyMs: 50 })],
    ['model', { gpuModels: ['A100'] }, node({ nodeId: 'x', gpuModel: 'T4' })],
  ])('given only a node failing %s, when routed, then nothing matches', (_name, requirements, n) => {
    const e = engineWith(n);
    e.submitJob(job({ jobId: 'j', requirements }));
    expect(e.matchPending(0, 10)).toEqual([]);
    expect(e.waitingReason('j')).toBeDefined();
  });

  it('given an offline node, when routed, then it is not used until it comes back online', () => {
    const e = engineWith(node({ nodeId: 'a', online: false }));
    e.submitJob(job({ jobId: 'j' }));
    expect(e.matchPending(0, 10)).toEqual([]);
    expect(e.waitingReason('j')).toBe('no online node satisfies gpuModel=any, count=1');
    e.setNodeOnline('a', true, 5);
    expect(e.matchPending(10, 10)).toHaveLength(1);
  });

  it('given a cancelled job, when matching, then it is not matched and the queue depth drops', () => {
    const e = engineWith(node({ nodeId: 'a' }));
    e.submitJob(job({ jobId: 'j' }));
    expect(e.cancelJob('j')).toBe(true);
    expect(e.cancelJob('j')).toBe(false);
    expect(e.queueDepths().inference).toBe(0);
    expect(e.matchPending(0, 10)).toEqual([]);
  });

  it('given a match, then its quote is fixed at match time and its receipt is JSON with the price terms', () => {
    const e = engineWith(node({ nodeId: 'a', gpuModel: 'H100', gpuCount: 2, vramGiB: 80 }), node({ nodeId: 'b', gpuModel: 'H100', gpuCount: 2, vramGiB: 80, reputation: 0.1 }));
    e.submitJob(job({ jobId: 'j', urgency: 'critical', requirements: { gpuModels: ['H100'], gpuCount: 2 }, expectedRuntimeSec: 2 * HOUR_SEC }));
    const [m] = e.matchPending(0, 1);
    const base = DEFAULT_ENGINE_CONFIG.pricing.basePricesWeiPerGpuHour.H100!;
    expect(m!.quote).toEqual({
      gpuClass: 'H100',
      region: 'eu-west',
      tier: 'priority',
      basePriceWeiPerGpuHour: base,
      tierMultiplierBps: 13_000,
      utilizationMultiplierBps: 10_000,
      priceWeiPerHour: ((base * 13_000n) / 10_000n) * 2n,
      runtimeSec: 7_200,
      costWei: ((base * 13_000n) / 10_000n) * 4n,
    });
    const receipt = JSON.parse(JSON.stringify(m!.receipt));
    expect(receipt).toMatchObject({ engineVersion: DEFAULT_ENGINE_CONFIG.engineVersion, winner: { nodeId: 'a' }, runnerUp: { nodeId: 'b' } });
    expect(receipt.price.costWei).toBe(m!.quote.costWei.toString());
    expect(receipt.winner.score.total).toBeGreaterThan(receipt.runnerUp.score.total);
  });

  it('given a recorded match from the log, then the job leaves its queue and the GPUs are reserved', () => {
    const e = engineWith(node({ nodeId: 'a', gpuCount: 2 }));
    e.submitJob(job({ jobId: 'j' }));
    e.recordMatch({ jobId: 'j', nodeId: 'a', gpuCount: 2, atMs: 5 });
    expect(e.isQueued('j')).toBe(false);
    expect(e.getNode('a')!.freeGpus).toBe(0);
    expect(e.queuedJobIds(10)).toEqual([]);
  });
});

describe('MatchingEngine: snapshot and restore', () => {
  it('given an engine mid-flight, when snapshotted through JSON and restored, then it makes the same next matches', () => {
    const build = () => {
      const e = engineWith(
        node({ nodeId: 'a', gpuCount: 4, gpuModel: 'A100', vramGiB: 80, poolId: 'p1', stakeWei: 5n * WEI }),
        node({ nodeId: 'b', gpuCount: 2, region: 'us-east' }),
        node({ nodeId: 'c', gpuCount: 1, tee: true }),
      );
      e.submitJob(job({ jobId: 'j1', requirements: { gpuCount: 2 } }));
      e.submitJob(job({ jobId: 'j2', category: 'rendering', urgency: 'high', submittedAtMs: 5 }));
      e.matchPending(10, 1);
      e.repriceTick(60_000);
      for (let i = 3; i < 12; i++) e.submitJob(job({ jobId: `j${i}`, submittedAtMs: i, requirements: { gpuCount: 1 + (i % 3), tee: i % 5 === 0 } }));
      return e;
    };
    const original = build();
    const snap: EngineSnapshot = JSON.parse(JSON.stringify(original.snapshot()));
    const restored = MatchingEngine.restore(snap, DEFAULT_ENGINE_CONFIG);
    expect(restored.snapshot()).toEqual(original.snapshot());
    const a = original.matchPending(100, 100);
    const b = restored.matchPending(100, 100);
    expect(JSON.stringify(b, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))).toBe(
      JSON.stringify(a, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
    );
    expect(a.length).toBeGreaterThan(0);
  });
});
