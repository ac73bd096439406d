import { DEFAULT_ENGINE_CONFIG, DemandMix, FragmentationTable, marketKey, MatchingEngine } from '../src';
import { job, node } from './fixtures';

const MAX = DEFAULT_ENGINE_CONFIG.maxGpusPerNode;
const table = (mix: DemandMix, key: string, share = 1): FragmentationTable => {
  const t = new FragmentationTable(MAX, { ...DEFAULT_ENGINE_CONFIG.fragmentation, share });
  t.rebuild(mix, key);
  return t;
};

describe('fragmentation-aware packFit (Weng et al., ATC 23, for whole GPUs)', () => {
  it('given a demand of 4-GPU jobs, when a 1-GPU job could take a node with 5 free or one with 4 free, then the 5 wins: it leaves a 4-GPU hole, best fit would not', () => {
    const mix = new DemandMix(MAX);
    for (let i = 0; i < 10; i++) mix.observe(4, 'all');
    const t = table(mix, marketKey('T4', 'eu'));
    expect(t.fit(1, 5)).toBeGreaterThan(t.fit(1, 4));
    const bestFitOnly = table(mix, marketKey('T4', 'eu'), 0);
    expect(bestFitOnly.fit(1, 4)).toBeGreaterThan(bestFitOnly.fit(1, 5));
  });

  it('given a market that many waiting jobs can only use, when a job that accepts any market is placed, then that market fits it worse than one few jobs need', () => {
    const mix = new DemandMix(MAX);
    for (let i = 0; i < 10; i++) mix.observe(1, 'all');
    for (let i = 0; i < 10; i++) mix.observe(1, [marketKey('T4', 'eu')]);
    const t4 = table(mix, marketKey('T4', 'eu'));
    const a10 = table(mix, marketKey('A10', 'eu'));
    expect(a10.fit(1, 1)).toBeGreaterThan(t4.fit(1, 1));
  });

  it('given an engine, when jobs are submitted, then the mix moves packFit only at the next reprice tick, and a snapshot keeps both', () => {
    const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    e.upsertNode(node({ nodeId: 'a', gpuCount: 8 }), 0);
    const before = e.fragmentationFit('T4', 'eu-west', 1, 5);
    for (let i = 0; i < 5; i++) e.submitJob(job({ jobId: `four-${i}`, requirements: { gpuCount: 4 } }));
    expect(e.fragmentationFit('T4', 'eu-west', 1, 5)).toBe(before);
    e.repriceTick(0);
    const after = e.fragmentationFit('T4', 'eu-west', 1, 5);
    expect(after).not.toBe(before);
    for (let i = 0; i < 5; i++) e.submitJob(job({ jobId: `one-${i}` }));
    const restored = MatchingEngine.restore(JSON.parse(JSON.stringify(e.snapshot())), DEFAULT_ENGINE_CONFIG);
    expect(restored.fragmentationFit('T4', 'eu-west', 1, 5)).toBe(after);
    e.repriceTick(DEFAULT_ENGINE_CONFIG.pricing.repriceIntervalMs);
    restored.repriceTick(DEFAULT_ENGINE_CONFIG.pricing.repriceIntervalMs);
    expect(restored.fragmentationFit('T4', 'eu-west', 1, 5)).toBe(e.fragmentationFit('T4', 'eu-west', 1, 5));
  });
});
