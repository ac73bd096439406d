import fc from 'fast-check';
import { DEFAULT_ENGINE_CONFIG, MatchingEngine, quoteJob, type JobQuote, type JobSpec, type NodeSpec } from '../src';
import { HOUR_SEC, job, node, WEI } from './fixtures';

const NEXT_ROUND_SEC = 1;
const engineWith = (...nodes: NodeSpec[]) => {
  const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
  for (const n of nodes) e.upsertNode(n, 0);
  return e;
};
const quote = (e: MatchingEngine, j: JobSpec, atMs = 1_000, limits?: Parameters<typeof quoteJob>[3]['limits']): JobQuote => quoteJob(e, j, atMs, { nextRoundSec: NEXT_ROUND_SEC, limits });
const json = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
const base = (model: string) => DEFAULT_ENGINE_CONFIG.pricing.basePricesWeiPerGpuHour[model]!;
/** cost of one GPU of `model` for `runtimeSec` at the standard tier and multiplier 1.0, rounded up as the engine rounds */
const standardCost = (model: string, runtimeSec: number, gpus = 1) => (base(model) * BigInt(gpus) * BigInt(runtimeSec) + 3_599n) / 3_600n;

describe('quoteJob: a dry run of routing and pricing on the engine as it is', () => {
  it('given a free node, when quoted, then the price and node are exactly what the next match gives, and the engine is unchanged', () => {
    const e = engineWith(
      node({ nodeId: 'a', gpuModel: 'A100', gpuCount: 4, vramGiB: 80 }),
      node({ nodeId: 'b', gpuModel: 'A100', gpuCount: 4, vramGiB: 80, reputation: 0.2 }),
      node({ nodeId: 'c', gpuModel: 'T4', gpuCount: 1 }),
    );
    const j = job({ jobId: 'j', urgency: 'high', requirements: { gpuModels: ['A100'], gpuCount: 2 }, submittedAtMs: 1_000 });
    const before = json(e.snapshot());

    const q = quote(e, j);

    expect(json(e.snapshot())).toBe(before);
    expect(q).toMatchObject({ feasible: true, waitBasis: 'free-capacity-now', expectedWaitSec: NEXT_ROUND_SEC, reasons: [], nearest: [], queuedAhead: 0 });
    e.submitJob(j);
    const [m] = e.matchPending(1_000, 10);
    expect(q.match!.nodeId).toBe(m!.nodeId);
    expect(json(q.match!.quote)).toBe(json(m!.quote));
    expect(q.match!.quote).toMatchObject({ gpuClass: 'A100', tier: 'priority', runtimeSec: HOUR_SEC });
  });

  it('given markets at different prices, when quoted, then every market that could run it is listed cheapest first with its nodes', () => {
    const e = engineWith(
      node({ nodeId: 'h1', gpuModel: 'H100', gpuCount: 8, vramGiB: 80, region: 'us-east' }),
      node({ nodeId: 'a1', gpuModel: 'A100', gpuCount: 4, vramGiB: 80 }),
      node({ nodeId: 'a2', gpuModel: 'A100', gpuCount: 2, vramGiB: 80 }),
      node({ nodeId: 'a3', gpuModel: 'A100', gpuCount: 2, vramGiB: 80, online: false }),
      node({ nodeId: 't1', gpuModel: 'T4', gpuCount: 1, vramGiB: 16 }),
    );
    e.submitJob(job({ jobId: 'busy', requirements: { gpuModels: ['A100'], gpuCount: 2 } }));
    expect(e.matchPending(0, 10)).toHaveLength(1);

    const q = quote(e, job({ jobId: 'j', requirements: { gpuCount: 2, minVramGiB: 40 } }));

    // the running job took a2 (the best fit): a1 is free, a3 offline
    expect(q.markets.map((m) => [m.quote.gpuClass, m.quote.region, m.nodesEligible, m.nodesFree, m.freeGpus])).toEqual([
      ['A100', 'eu-west', 2, 1, 4],
      ['H100', 'us-east', 1, 1, 8],
    ]);
    expect(q.markets[0]!.quote.costWei).toBe(standardCost('A100', HOUR_SEC, 2));
    expect(q.marketsTotal).toBe(2);
    expect(q.markets.every((m) => m.countsComplete)).toBe(true);
  });

  it('given every node that could run it busy, when quoted, then it is feasible with no price, says capacity, and names a free GPU model nearby', () => {
    const e = engineWith(node({ nodeId: 'a', gpuModel: 'A100', gpuCount: 1, vramGiB: 80 }), node({ nodeId: 'l', gpuModel: 'L40S', gpuCount: 1, vramGiB: 48 }));
    e.submitJob(job({ jobId: 'running', requirements: { gpuModels: ['A100'] } }));
    e.matchPending(0, 10);
    e.submitJob(job({ jobId: 'ahead', requirements: { gpuModels: ['A100'] }, submittedAtMs: 10 }));
    e.submitJob(job({ jobId: 'other-category', category: 'rendering', requirements: { gpuModels: ['A100'] }, submittedAtMs: 10 }));
    e.matchPending(20, 10);
    const j = job({ jobId: 'j', requirements: { gpuModels: ['A100'], minVramGiB: 40 }, submittedAtMs: 1_000 });

    const q = quote(e, j);

    expect(q).toMatchObject({ feasible: true, match: null, waitBasis: 'capacity-busy', expectedWaitSec: null, queuedAhead: 1 });
    expect(q.reasons.map((r) => r.code)).toEqual(['capacity-busy']);
    expect(q.markets).toEqual([expect.objectContaining({ nodesEligible: 1, nodesFree: 0, freeGpus: 0 })]);
    expect(q.nearest.map((n) => [n.change, n.value, n.match.nodeId])).toEqual([['gpuModel', 'L40S', 'l']]);
  });

  it('given a budget below every price, when quoted, then the nearest budget is exactly the cheapest cost: a Wei less still waits', () => {
    const runtimeSec = 1_000;
    const e = engineWith(node({ nodeId: 't', gpuModel: 'T4' }), node({ nodeId: 'h', gpuModel: 'H100', vramGiB: 80 }));
    const j = job({ jobId: 'j', budgetWei: 1_000n, expectedRuntimeSec: runtimeSec });

    const q = quote(e, j);

    const cheapest = standardCost('T4', runtimeSec);
    expect(q).toMatchObject({ feasible: false, match: null, waitBasis: 'not-feasible', markets: [], marketsTotal: 0 });
    expect(q.reasons).toEqual([{ code: 'budget-below-price', message: `budget 1000 Wei is below the cheapest price ${cheapest} Wei (T4 in eu-west, 1 GPU for 1000 s)` }]);
    expect(q.nearest.map((n) => [n.change, n.value, n.match.nodeId, n.match.quote.costWei])).toEqual([['budget', cheapest.toString(), 't', cheapest]]);
    expect('match' in e.route({ ...j, budgetWei: cheapest }, 1_000)).toBe(true);
    expect('waiting' in e.route({ ...j, budgetWei: cheapest - 1n }, 1_000)).toBe(true);
  });

  it('given no node of the GPU model asked, when quoted, then it says so and names the other model that would match now, at its price', () => {
    const e = engineWith(node({ nodeId: 'a', gpuModel: 'A100', vramGiB: 80 }), node({ nodeId: 't', gpuModel: 'T4' }));
    const j = job({ jobId: 'j', requirements: { gpuModels: ['H200'], minVramGiB: 24 } });

    const q = quote(e, j);

    expect(q).toMatchObject({ feasible: false, waitBasis: 'not-feasible', reasons: [{ code: 'no-supply-for-gpu-model', message: 'no node of GPU model H200 is registered' }] });
    // T4 is cheaper but has 16 GiB: the A100 is the nearest that matches
    expect(q.nearest).toHaveLength(1);
    const [alt] = q.nearest;
    expect([alt!.change, alt!.value, alt!.match.nodeId]).toEqual(['gpuModel', 'A100', 'a']);
    expect(json(alt!.match.quote)).toBe(json((e.route({ ...j, requirements: { ...j.requirements, gpuModels: ['A100'] } }, 1_000) as { match: { quote: unknown } }).match.quote));
  });

  it('given the model only in other regions, when quoted, then it names where it is and the cheapest region that would match now', () => {
    const e = engineWith(
      node({ nodeId: 'x', gpuModel: 'A100', vramGiB: 80, region: 'ap-south' }),
      node({ nodeId: 'y', gpuModel: 'A100', vramGiB: 80, region: 'eu-west' }),
    );
    e.applyPriceChange({ gpuClass: 'A100', region: 'ap-south', atMs: 0, previousMultiplierBps: 10_000, multiplierBps: 9_000, utilizationBps: 0, smoothedUtilizationBps: 0 });

    const q = quote(e, job({ jobId: 'j', requirements: { gpuModels: ['A100'], regions: ['us-east'] } }));

    expect(q.reasons).toEqual([{ code: 'no-supply-in-region', message: 'no node of GPU model A100 is registered in us-east; there are nodes in ap-south, eu-west' }]);
    expect(q.nearest.map((n) => [n.change, n.value, n.match.nodeId, n.match.quote.utilizationMultiplierBps])).toEqual([['region', 'ap-south', 'x', 9_000]]);
  });

  it.each([
    ['gpu-count-unavailable', { gpuCount: 4 }, node({ nodeId: 'x', gpuCount: 2 }), 'no node of any GPU model has 4 GPUs (the most on one node is 2)'],
    ['vram-unavailable', { minVramGiB: 24 }, node({ nodeId: 'x', vramGiB: 16 }), 'no node of any GPU model with 1 GPU has 24 GiB of VRAM per GPU (the most is 16 GiB)'],
    ['tee-unavailable', { tee: true }, node({ nodeId: 'x', tee: false }), 'no node of any GPU model with 1 GPU and 0 GiB of VRAM per GPU runs in a TEE'],
    ['latency-unavailable', { maxLatencyMs: 20 }, node({ nodeId: 'x', latencyMs: 50 }), 'no node of any GPU model that meets the rest is within 20 ms (the nearest is 50 ms)'],
    ['no-node-online', {}, node({ nodeId: 'x', online: false }), 'every node of any GPU model that could run it within its budget is offline'],
  ])('given only a node failing on %s, when quoted, then that is the reason and it is not feasible', (code, requirements, n, message) => {
    const q = quote(engineWith(n), job({ jobId: 'j', requirements }));
    expect(q).toMatchObject({ feasible: false, match: null, waitBasis: 'not-feasible', reasons: [{ code, message }], nearest: [] });
  });

  it('given a budget-and-deadline-only job whose deadline no GPU model can meet, when quoted, then the deadline is the reason', () => {
    const e = engineWith(node({ nodeId: 't', gpuModel: 'T4', gpuCount: 16 }));
    const q = quote(e, job({ jobId: 'j', expectedRuntimeSec: 100 * HOUR_SEC, requirements: { gpuCount: 0 }, submittedAtMs: 0, deadlineAtMs: 60_000 }), 0);
    expect(q.reasons.map((r) => r.code)).toEqual(['deadline-unmeetable']);
    expect(q.feasible).toBe(false);
  });

  it('given a GPU model the engine has no price for, when quoted, then it is named first', () => {
    const q = quote(engineWith(node({ nodeId: 'x' })), job({ jobId: 'j', requirements: { gpuModels: ['B200'] } }));
    expect(q.reasons.map((r) => r.code)).toEqual(['unknown-gpu-model', 'no-supply-for-gpu-model']);
  });

  it('given a node scan bound smaller than the supply, when quoted, then free nodes are still counted exactly and the rest say they are lower bounds', () => {
    const e = engineWith(...['b0', 'b1', 'b2', 'b3', 'n0', 'n1', 'n2'].map((nodeId) => node({ nodeId })));
    for (const id of ['r0', 'r1', 'r2', 'r3']) e.submitJob(job({ jobId: id }));
    expect(e.matchPending(0, 4)).toHaveLength(4);
    const q = quote(e, job({ jobId: 'j' }), 1_000, { nodeScanMax: 3 });
    // 7 online nodes could run it; 3 are free (from the index); the visits stopped after 3 nodes
    expect(q.markets).toEqual([expect.objectContaining({ nodesEligible: 3, nodesFree: 3, freeGpus: 3, countsComplete: false })]);
    expect(quote(e, job({ jobId: 'j' })).markets).toEqual([expect.objectContaining({ nodesEligible: 7, nodesFree: 3, countsComplete: true })]);
    expect(q.match).not.toBeNull();
  });

  it('given more markets than the answer lists, when quoted, then it lists the cheapest and counts them all', () => {
    const regions = Array.from({ length: 25 }, (_, i) => `r${String(i).padStart(2, '0')}`);
    const e = engineWith(...regions.map((region, i) => node({ nodeId: `n${i}`, region })));
    const q = quote(e, job({ jobId: 'j', budgetWei: 10n * WEI }));
    expect(q.marketsTotal).toBe(25);
    expect(q.markets.map((m) => m.quote.region)).toEqual(regions.slice(0, 20));
  });
});

describe('quoteJob on random markets (property)', () => {
  const MODELS = ['T4', 'A100', 'H100', 'RTX4090'] as const;
  const REGIONS = ['eu', 'us', 'asia'] as const;
  const VRAM: Record<(typeof MODELS)[number], number> = { T4: 16, A100: 80, H100: 80, RTX4090: 24 };
  const nodeArb = fc.record({
    gpuModel: fc.constantFrom(...MODELS),
    gpuCount: fc.constantFrom(1, 1, 2, 4, 8),
    region: fc.constantFrom(...REGIONS),
    latencyMs: fc.integer({ min: 1, max: 300 }),
    tee: fc.constantFrom(false, false, true),
    online: fc.constantFrom(true, true, true, false),
  });
  const jobArb = fc.record({
    gpuModels: fc.oneof({ weight: 9, arbitrary: fc.subarray([...MODELS], { maxLength: 2 }) }, { weight: 1, arbitrary: fc.constant<string[]>(['H200']) }),
    gpuCount: fc.constantFrom(0, 1, 1, 2, 4, 8, 16),
    minVramGiB: fc.constantFrom(0, 0, 24, 80),
    tee: fc.constantFrom(false, false, true),
    regions: fc.oneof({ weight: 9, arbitrary: fc.subarray([...REGIONS], { maxLength: 2 }) }, { weight: 1, arbitrary: fc.constant<string[]>(['mars']) }),
    maxLatencyMs: fc.constantFrom(undefined, undefined, undefined, 20, 150, 300),
    budgetCentiAgpu: fc.integer({ min: 0, max: 2_000 }),
    runtimeSec: fc.integer({ min: 1, max: 20_000 }),
    /** the deadline as a multiple of the runtime: mostly met, sometimes not (budget-and-deadline-only jobs) */
    deadlineFactor: fc.constantFrom(undefined, undefined, 0.5, 1, 3, 20),
    urgency: fc.constantFrom('low', 'normal', 'high', 'critical'),
  });
  const scenarioArb = fc.record({ nodes: fc.array(nodeArb, { minLength: 1, maxLength: 20 }), load: fc.array(jobArb, { maxLength: 16 }), job: jobArb });
  const AT_MS = 50_000;
  const toJob = (j: typeof jobArb extends fc.Arbitrary<infer T> ? T : never, jobId: string, atMs: number): JobSpec =>
    job({
      jobId,
      budgetWei: (BigInt(j.budgetCentiAgpu) * WEI) / 100n,
      urgency: j.urgency as JobSpec['urgency'],
      expectedRuntimeSec: j.runtimeSec,
      submittedAtMs: atMs,
      ...(j.deadlineFactor === undefined ? {} : { deadlineAtMs: atMs + Math.ceil(j.runtimeSec * j.deadlineFactor) * 1000 }),
      requirements: {
        gpuModels: j.gpuCount === 0 ? [] : j.gpuModels,
        gpuCount: j.gpuCount,
        minVramGiB: j.minVramGiB,
        tee: j.tee,
        regions: j.regions,
        ...(j.maxLatencyMs === undefined ? {} : { maxLatencyMs: j.maxLatencyMs }),
      },
    });

  it('changes nothing, gives the match a round then makes, reasons exactly when nothing matches, and options that match now (a budget a Wei short does not)', () => {
    fc.assert(
      fc.property(scenarioArb, ({ nodes, load, job: draft }) => {
        const e = engineWith(...nodes.map((n, i) => node({ nodeId: `n${String(i).padStart(2, '0')}`, vramGiB: VRAM[n.gpuModel], ...n })));
        load.forEach((l, i) => e.submitJob(toJob(l, `load${i}`, i)));
        e.matchPending(AT_MS - 1, 100);
        for (const id of e.queuedJobIds(100)) e.cancelJob(id);
        const j = toJob(draft, 'quoted', AT_MS);
        const before = json(e.snapshot());

        const q = quote(e, j, AT_MS);

        expect(json(e.snapshot())).toBe(before);
        expect(q.reasons.length === 0).toBe(q.match !== null);
        expect(q.feasible).toBe(q.match !== null || q.markets.some((m) => m.nodesEligible > 0));
        expect(q.waitBasis).toBe(q.match ? 'free-capacity-now' : q.feasible ? 'capacity-busy' : 'not-feasible');
        const costs = q.markets.map((m) => m.quote.costWei);
        expect(costs.every((c, i) => c <= j.budgetWei && (i === 0 || costs[i - 1]! <= c))).toBe(true);
        for (const option of q.nearest) {
          expect(option.match.quote.costWei <= (option.change === 'budget' ? BigInt(option.value) : j.budgetWei)).toBe(true);
          if (option.change === 'budget') expect('waiting' in e.route({ ...j, budgetWei: BigInt(option.value) - 1n }, AT_MS)).toBe(true);
        }
        // submitted now with nothing else queued, the round gives it exactly the quoted node and price
        e.submitJob(j);
        const [m] = e.matchPending(AT_MS, 1);
        expect(m ? [m.nodeId, json(m.quote)] : null).toEqual(q.match ? [q.match.nodeId, json(q.match.quote)] : null);
      }),
      { numRuns: 300 },
    );
  });
});
