import { DEFAULT_ENGINE_CONFIG, engineConfigFromDelta, engineConfigHash, engineConfigRecord, MatchingEngine, type EngineConfig } from '../src';
import { job, node } from './fixtures';

const withChanges = (): EngineConfig => {
  const c = structuredClone(DEFAULT_ENGINE_CONFIG);
  c.queue.maxHolds = 0;
  c.pricing.basePricesWeiPerGpuHour.H100 = 3n * 10n ** 18n;
  c.pricing.basePricesWeiPerGpuHour.B200 = 5n * 10n ** 18n; // a model the defaults lack
  delete (c.gpuSpeed as Record<string, number>).T4; // a field the defaults have
  c.weights.proximity.low = 0.3;
  return c;
};

describe('the configuration a receipt records: its hash and its delta over the version defaults', () => {
  it('given the defaults, then the delta is empty and rebuilds the same configuration', () => {
    const r = engineConfigRecord(DEFAULT_ENGINE_CONFIG);
    expect(r.delta).toEqual({});
    expect(engineConfigHash(engineConfigFromDelta(r.delta))).toBe(r.hash);
  });

  it('given changed, added and removed fields, then the delta names exactly them (JSON) and rebuilds the configuration, bigints included', () => {
    const c = withChanges();
    const r = engineConfigRecord(c);
    expect(r.delta).toEqual({
      queue: { maxHolds: 0 },
      pricing: { basePricesWeiPerGpuHour: { H100: '3000000000000000000', B200: '5000000000000000000' } },
      gpuSpeed: { T4: null },
      weights: { proximity: { low: 0.3 } },
    });
    expect(JSON.parse(JSON.stringify(r.delta))).toEqual(r.delta);
    const rebuilt = engineConfigFromDelta(r.delta);
    expect(rebuilt).toEqual(c);
    expect(engineConfigHash(rebuilt)).toBe(r.hash);
    expect(r.hash).not.toBe(engineConfigHash(DEFAULT_ENGINE_CONFIG));
  });

  it('given a key order that differs, then the hash is the same (canonical JSON)', () => {
    const c = withChanges();
    const reordered = Object.fromEntries(Object.entries(c).reverse()) as unknown as EngineConfig;
    expect(engineConfigHash(reordered)).toBe(engineConfigHash(c));
  });

  it("given a match, then its receipt records the engine's configuration and the demand mix it scored with", () => {
    const c = withChanges();
    const e = new MatchingEngine(c);
    e.upsertNode(node({ nodeId: 'a' }), 0);
    e.submitJob(job({ jobId: 'j' }));
    const [m] = e.matchPending(1_000, 10);
    expect(m!.receipt.config).toEqual(engineConfigRecord(c));
    expect(m!.receipt.mix).toEqual(e.demandMixApplied());
  });

  it('given a demand mix a receipt carried, then a fresh engine scores with it (packFit) as the engine that decided', () => {
    const decided = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    const fresh = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    for (const e of [decided, fresh]) e.upsertNode(node({ nodeId: 'a', gpuCount: 8 }), 0);
    for (let i = 0; i < 5; i++) decided.submitJob(job({ jobId: `big-${i}`, requirements: { gpuCount: 4 } }));
    decided.repriceTick(60_000);
    const mix = decided.demandMixApplied();
    expect(fresh.demandMixApplied().digest).not.toBe(mix.digest);
    fresh.replayDemandMix(mix.applied, mix.appliedAtMs);
    expect(fresh.demandMixApplied()).toEqual(mix);
    expect(fresh.fragmentationFit('T4', 'eu-west', 1, 8)).toBe(decided.fragmentationFit('T4', 'eu-west', 1, 8));
  });
});
