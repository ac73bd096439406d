import { DEFAULT_ENGINE_CONFIG, MatchingEngine, TEE_SPARE_FACTOR, type EngineConfig, type Match, type NodeSpec } from '../src';
import { job, node, WEI } from './fixtures';

/** Given these nodes, when this job is routed, then it lands on `expected`; returns the match. */
function given(nodes: NodeSpec[], cfg: EngineConfig = DEFAULT_ENGINE_CONFIG) {
  const e = new MatchingEngine(cfg);
  for (const n of nodes) e.upsertNode(n, 0);
  return {
    engine: e,
    when: (j: Parameters<typeof job>[0]) => {
      e.submitJob(job(j));
      const [m] = e.matchPending(0, 1);
      return { then: (expected: string): Match => (expect(m?.nodeId).toBe(expected), m!) };
    },
  };
}

const w = DEFAULT_ENGINE_CONFIG.weights;

describe('score-fit, term by term', () => {
  it('priceFit: given a free T4 and a free H100, when a 1-GPU job that a T4 serves arrives, then it gets the T4', () => {
    const m = given([node({ nodeId: 'h100', gpuModel: 'H100', vramGiB: 80, reputation: 1 }), node({ nodeId: 't4', gpuModel: 'T4', reputation: 0.9 })])
      .when({ jobId: 'j' })
      .then('t4');
    expect(m.receipt.winner.score.priceFit).toBe(w.priceFit);
    const h100 = m.receipt.runnerUp!;
    expect(h100.nodeId).toBe('h100');
    // cheapest eligible cost / this cost: T4 0.15 vs H100 1.8 per GPU-hour
    expect(h100.score.priceFit).toBeCloseTo(w.priceFit * (0.15 / 1.8), 12);
  });

  it('priceFit: given the job needs 80 GiB, when routed, then the T4 is not eligible and the H100 scores full price fit', () => {
    const m = given([node({ nodeId: 'h100', gpuModel: 'H100', vramGiB: 80 }), node({ nodeId: 't4' })])
      .when({ jobId: 'j', requirements: { minVramGiB: 80 } })
      .then('h100');
    expect(m.receipt.winner.score.priceFit).toBe(w.priceFit);
  });

  it('packFit: given a node with 1 free GPU and one with 8, when a 1-GPU job arrives, then it takes the exact fit', () => {
    const g = given([node({ nodeId: 'big', gpuCount: 8 }), node({ nodeId: 'small', gpuCount: 1 })]);
    const m = g.when({ jobId: 'j' }).then('small');
    const fit = (gpus: number, free: number) => g.engine.fragmentationFit('T4', 'eu-west', gpus, free)!;
    expect(m.receipt.winner.score.packFit).toBe(w.packFit * fit(1, 1));
    expect(m.receipt.runnerUp!.score.packFit).toBe(w.packFit * fit(1, 8));
    expect(fit(1, 1)).toBeGreaterThan(fit(1, 8));
  });

  it('reputation: given two identical nodes but reputation, when routed, then the better reputation wins by the weighted difference', () => {
    const m = given([node({ nodeId: 'a', reputation: 0.5 }), node({ nodeId: 'b', reputation: 0.9 })])
      .when({ jobId: 'j' })
      .then('b');
    expect(m.receipt.winner.score.reputation - m.receipt.runnerUp!.score.reputation).toBeCloseTo(w.reputation * 0.4, 12);
  });

  it('performance: given two identical nodes but benchmark, when routed, then the faster one wins', () => {
    const m = given([node({ nodeId: 'a', benchmarkScore: 50 }), node({ nodeId: 'b', benchmarkScore: 300 })])
      .when({ jobId: 'j' })
      .then('b');
    expect(m.receipt.winner.score.performance).toBeCloseTo(w.performance * (300 / 400), 12);
  });

  it('performance by kind: each figure reads on its own kind\'s scale; a hash rate is never set against TFLOPS', () => {
    const byKind = DEFAULT_ENGINE_CONFIG.benchmarkHalfScoreByKind;
    // an H200's measured bf16 TFLOPS (791.2, ../shared/data/gpu/h200-torch-bench.json) against a CPU's million hashes a second
    const m = given([
      node({ nodeId: 'cpu', benchmarkKind: 'hash-chain-sha256', benchmarkScore: 1_000_000 }),
      node({ nodeId: 'gpu', benchmarkKind: 'gpu-matmul-tflops-bf16', benchmarkScore: 791.2 }),
    ])
      .when({ jobId: 'j' })
      .then('gpu');
    expect(m.receipt.winner.score.performance).toBeCloseTo(w.performance * (791.2 / (791.2 + byKind['gpu-matmul-tflops-bf16']!)), 12);
    expect(m.receipt.runnerUp!.score.performance).toBeCloseTo(w.performance * 0.5, 12);
  });

  it('performance by kind: a kind the engine has no scale for earns no performance term, whatever its figure', () => {
    const m = given([node({ nodeId: 'a', benchmarkKind: 'my-own-benchmark', benchmarkScore: 1e12 }), node({ nodeId: 'b', benchmarkKind: 'gpu-matmul-tflops-bf16', benchmarkScore: 1 })])
      .when({ jobId: 'j' })
      .then('b');
    expect(m.receipt.runnerUp!.score.performance).toBe(0);
  });

  it('proximity: given a near node with lower reputation, when the job prefers low latency, then the near node wins', () => {
    given([node({ nodeId: 'far', latencyMs: 250, reputation: 0.9 }), node({ nodeId: 'near', latencyMs: 10, reputation: 0.8 })])
      .when({ jobId: 'j', latencyPreference: 'low' })
      .then('near');
  });

  it('proximity: given the same nodes, when the job is relaxed about latency, then reputation wins', () => {
    const m = given([node({ nodeId: 'far', latencyMs: 250, reputation: 0.9 }), node({ nodeId: 'near', latencyMs: 10, reputation: 0.8 })])
      .when({ jobId: 'j', latencyPreference: 'relaxed' })
      .then('far');
    expect(m.receipt.winner.score.proximity).toBeCloseTo(w.proximity.relaxed * (1 - 250 / 300), 12);
  });

  it('energy: given a dirty node with better reputation and a green one, when the job asks for green compute, then the green node wins', () => {
    const m = given([node({ nodeId: 'coal', carbonGPerKwh: 800, renewableShare: 0, reputation: 0.9 }), node({ nodeId: 'hydro', carbonGPerKwh: 20, renewableShare: 1, reputation: 0.8 })])
      .when({ jobId: 'j', green: true })
      .then('hydro');
    expect(m.receipt.winner.score.energy).toBeCloseTo(w.energy * ((1 + (1 - 20 / 800)) / 2), 12);
    expect(m.receipt.runnerUp!.score.energy).toBe(0);
  });

  it('energy: given the same nodes, when the job does not ask for green compute, then energy scores 0 and reputation wins', () => {
    const m = given([node({ nodeId: 'coal', carbonGPerKwh: 800, renewableShare: 0, reputation: 0.9 }), node({ nodeId: 'hydro', carbonGPerKwh: 20, renewableShare: 1, reputation: 0.8 })])
      .when({ jobId: 'j' })
      .then('coal');
    expect(m.receipt.winner.score.energy).toBe(0);
  });

  it('reservedLiquidity: given a market past the surge start threshold, when routed, then a staked pool node wins over a better-reputation free node; a pool node without stake does not', () => {
    const nodes = [
      node({ nodeId: 'busy', gpuCount: 8 }),
      node({ nodeId: 'solo', reputation: 0.95 }),
      node({ nodeId: 'pooled', reputation: 0.7, poolId: 'pool-1', stakeWei: WEI }),
      node({ nodeId: 'withdrawn', reputation: 0.9, poolId: 'pool-1', stakeWei: 0n }),
    ];
    const g = given(nodes, { ...DEFAULT_ENGINE_CONFIG, pricing: { ...DEFAULT_ENGINE_CONFIG.pricing, smoothingBps: 10_000 } });
    g.engine.recordMatch({ jobId: 'fill', nodeId: 'busy', gpuCount: 8, atMs: 0 });
    g.engine.repriceTick(0); // utilization 8/11 → smoothed 7273 < 8500: no surge yet
    let m = g.when({ jobId: 'calm' }).then('solo');
    expect(m.receipt.surge).toBe(false);
    expect(m.receipt.surgePreference).toBeUndefined();
    g.engine.release('calm', 1);
    g.engine.recordMatch({ jobId: 'more', nodeId: 'solo', gpuCount: 1, atMs: 1 });
    g.engine.recordMatch({ jobId: 'more2', nodeId: 'withdrawn', gpuCount: 1, atMs: 1 });
    g.engine.repriceTick(60_000); // 10/11 → smoothed 9091: SurgeStarted
    g.engine.release('more', 60_001);
    g.engine.release('more2', 60_001);
    m = g.when({ jobId: 'surge' }).then('pooled');
    expect(m.receipt.surge).toBe(true);
    expect(m.receipt.surgePreference).toEqual({ sinceMs: 60_000, winnerStaked: true });
    expect(m.receipt.winner.score.reservedLiquidity).toBe(w.reservedLiquidity);
    expect(m.receipt.runnerUp!.score.reservedLiquidity).toBe(0);
  });

  it('headroom: given two markets of equal price, when one is mostly busy, then the job goes to the market with more free GPUs', () => {
    const g = given([
      node({ nodeId: 'busy-eu', region: 'eu', gpuCount: 8, reputation: 0.9 }),
      node({ nodeId: 'idle-us', region: 'us', gpuCount: 8, reputation: 0.8 }),
    ]);
    g.engine.recordMatch({ jobId: 'fill', nodeId: 'busy-eu', gpuCount: 6, atMs: 0 });
    const m = g.when({ jobId: 'j', requirements: { gpuCount: 2 } }).then('idle-us');
    expect(m.receipt.winner.score.headroom).toBe(w.headroom);
    expect(m.receipt.runnerUp!.score.headroom).toBe(w.headroom * (2 / 8));
  });

  it('packFit: given a TEE node and a plain node, when a job that needs no TEE arrives, then the plain node wins (TEE kept for jobs that need it)', () => {
    const g = given([node({ nodeId: 'tee', tee: true, reputation: 0.9 }), node({ nodeId: 'plain', reputation: 0.85 })]);
    const m = g.when({ jobId: 'j' }).then('plain');
    expect(m.receipt.runnerUp!.score.packFit).toBe(w.packFit * g.engine.fragmentationFit('T4', 'eu-west', 1, 1)! * TEE_SPARE_FACTOR);
  });

  it('weights are configuration: given priceFit weighted 0 and reputation dominant, when routed, then the H100 with better reputation wins', () => {
    const cfg = { ...DEFAULT_ENGINE_CONFIG, weights: { ...w, priceFit: 0, reputation: 1, reservedLiquidity: 0 } };
    given([node({ nodeId: 'h100', gpuModel: 'H100', vramGiB: 80, reputation: 1 }), node({ nodeId: 't4', reputation: 0.5 })], cfg)
      .when({ jobId: 'j' })
      .then('h100');
  });

  it('receipt: the winner terms add up (in the documented order) to exactly the compared total', () => {
    const m = given([node({ nodeId: 'a', poolId: 'p' }), node({ nodeId: 'b', gpuCount: 2 })])
      .when({ jobId: 'j', green: true, latencyPreference: 'low' })
      .then('a');
    const s = m.receipt.winner.score;
    expect(s.priceFit + s.headroom + s.packFit + s.reservedLiquidity + (s.reputation + s.performance + s.proximity + s.energy)).toBe(s.total);
  });

  it('ties: given two identical nodes, when routed, then the smaller nodeId wins (stable tie-break)', () => {
    given([node({ nodeId: 'n-2' }), node({ nodeId: 'n-1' })]).when({ jobId: 'j' }).then('n-1');
  });
});
