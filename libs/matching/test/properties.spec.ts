import fc from 'fast-check';
import {
  CATEGORIES,
  DEFAULT_ENGINE_CONFIG,
  LATENCY_PREFERENCES,
  MatchingEngine,
  URGENCIES,
  type EngineConfig,
  type JobSpec,
  type Match,
  type NodeSpec,
  type PriceChange,
  type SurgeChange,
} from '../src';
import { HOUR_SEC, WEI } from './fixtures';

const MODELS = ['T4', 'A100', 'H100', 'RTX4090'] as const;
const REGIONS = ['eu', 'us', 'asia'] as const;
const VRAM: Record<(typeof MODELS)[number], number[]> = { T4: [16], A100: [40, 80], H100: [80], RTX4090: [24] };

const nodeArb = (i: number): fc.Arbitrary<NodeSpec> =>
  fc
    .record({
      gpuModel: fc.constantFrom(...MODELS),
      gpuCount: fc.constantFrom(1, 1, 2, 4, 8),
      vramPick: fc.nat(1),
      region: fc.constantFrom(...REGIONS),
      latencyMs: fc.integer({ min: 1, max: 300 }),
      tee: fc.constantFrom(false, false, false, true),
      carbonGPerKwh: fc.integer({ min: 0, max: 900 }),
      renewableShare: fc.double({ min: 0, max: 1, noNaN: true }),
      benchmarkScore: fc.integer({ min: 0, max: 500 }),
      reputation: fc.double({ min: 0, max: 1, noNaN: true }),
      pool: fc.option(fc.constantFrom('p1', 'p2'), { nil: undefined }),
      online: fc.boolean(),
    })
    .map((r) => ({
      nodeId: `n${String(i).padStart(3, '0')}`,
      providerAddress: '0x01',
      gpuModel: r.gpuModel,
      gpuCount: r.gpuCount,
      vramGiB: VRAM[r.gpuModel][r.vramPick % VRAM[r.gpuModel].length]!,
      region: r.region,
      latencyMs: r.latencyMs,
      tee: r.tee,
      carbonGPerKwh: r.carbonGPerKwh,
      renewableShare: r.renewableShare,
      benchmarkScore: r.benchmarkScore,
      reputation: r.reputation,
      ...(r.pool ? { poolId: r.pool } : {}),
      // a third of the pool members withdrew their stake (in a pool, not staked: no surge preference)
      stakeWei: r.pool && i % 3 !== 1 ? WEI : 0n,
      online: r.online || i % 3 === 0,
    }));

const jobArb = fc.record({
  category: fc.constantFrom(...CATEGORIES),
  urgency: fc.constantFrom(...URGENCIES),
  latencyPreference: fc.constantFrom(...LATENCY_PREFERENCES),
  gpuModels: fc.subarray([...MODELS], { maxLength: 2 }),
  gpuCount: fc.constantFrom(0, 1, 1, 1, 2, 4, 8),
  minVramGiB: fc.constantFrom(0, 0, 0, 16, 24, 80),
  tee: fc.constantFrom(false, false, false, true),
  regions: fc.subarray([...REGIONS], { maxLength: 2 }),
  maxLatencyMs: fc.option(fc.integer({ min: 20, max: 300 }), { nil: undefined, freq: 3 }),
  budgetAgpu: fc.integer({ min: 0, max: 400 }),
  runtimeHours: fc.integer({ min: 1, max: 12 }),
  green: fc.boolean(),
  deadlineHours: fc.option(fc.integer({ min: 1, max: 24 }), { nil: undefined }),
});

type JobDraft = typeof jobArb extends fc.Arbitrary<infer T> ? T : never;

type Op =
  | { kind: 'submit'; job: JobDraft }
  | { kind: 'match'; max: number }
  | { kind: 'release'; pick: number }
  | { kind: 'online'; pick: number; online: boolean }
  | { kind: 'cancel'; pick: number }
  | { kind: 'tick' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: jobArb.map((job) => ({ kind: 'submit' as const, job })) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 6 }).map((max) => ({ kind: 'match' as const, max })) },
  { weight: 2, arbitrary: fc.nat().map((pick) => ({ kind: 'release' as const, pick })) },
  { weight: 1, arbitrary: fc.record({ pick: fc.nat(), online: fc.boolean() }).map((r) => ({ kind: 'online' as const, ...r })) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ kind: 'cancel' as const, pick })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'tick' as const }) },
);

const scenarioArb = fc.integer({ min: 1, max: 25 }).chain((n) =>
  fc.record({
    nodes: fc.tuple(...Array.from({ length: n }, (_, i) => nodeArb(i))),
    ops: fc.array(opArb, { minLength: 10, maxLength: 80, size: 'max' }),
  }),
);

const toJob = (j: JobDraft, jobId: string, atMs: number): JobSpec => ({
  jobId,
  category: j.category,
  budgetWei: BigInt(j.budgetAgpu) * WEI,
  urgency: j.urgency,
  latencyPreference: j.latencyPreference,
  requirements: {
    gpuModels: j.gpuCount === 0 ? [] : j.gpuModels,
    gpuCount: j.gpuCount,
    minVramGiB: j.minVramGiB,
    tee: j.tee,
    regions: j.regions,
    ...(j.maxLatencyMs !== undefined ? { maxLatencyMs: j.maxLatencyMs } : {}),
  },
  expectedRuntimeSec: j.runtimeHours * HOUR_SEC,
  green: j.green,
  submittedAtMs: atMs,
  ...(j.deadlineHours !== undefined ? { deadlineAtMs: atMs + j.deadlineHours * HOUR_SEC * 1000 } : {}),
});

const json = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));

interface Run {
  matches: Match[];
  changes: PriceChange[];
  surges: SurgeChange[];
  reasons: (string | undefined)[];
  engine: MatchingEngine;
}

/** Runs a scenario, checking every invariant after every step. */
function run(scenario: { nodes: NodeSpec[]; ops: Op[] }, cfg: EngineConfig, strategy: 'indexed' | 'full-scan' = 'indexed'): Run {
  const e = new MatchingEngine(cfg, { strategy });
  const specs = new Map<string, NodeSpec>();
  for (const n of scenario.nodes) {
    e.upsertNode(n, 0);
    specs.set(n.nodeId, n);
  }
  const jobs = new Map<string, JobSpec>();
  const reserved: Match[] = [];
  const out: Run = { matches: [], changes: [], surges: [], reasons: [], engine: e };
  let t = 0;
  let seq = 0;
  for (const op of [...scenario.ops, { kind: 'match', max: 1_000 } as const]) {
    t += 30_000;
    switch (op.kind) {
      case 'submit': {
        const job = toJob(op.job, `j${String(seq++).padStart(4, '0')}`, t);
        jobs.set(job.jobId, job);
        e.submitJob(job);
        break;
      }
      case 'match': {
        const free = new Map([...specs.keys()].map((id) => [id, e.getNode(id)!.freeGpus]));
        for (const m of e.matchPending(t, op.max)) {
          const job = jobs.get(m.jobId)!;
          const n = specs.get(m.nodeId)!;
          const r = job.requirements;
          // every match meets every hard constraint
          expect(n.online).toBe(true);
          if (r.gpuModels.length) expect(r.gpuModels).toContain(n.gpuModel);
          if (r.regions.length) expect(r.regions).toContain(n.region);
          if (r.gpuCount > 0) expect(m.gpuCount).toBe(r.gpuCount);
          expect(m.gpuCount).toBeGreaterThan(0);
          expect(free.get(n.nodeId)!).toBeGreaterThanOrEqual(m.gpuCount); // all GPUs on one node, free
          free.set(n.nodeId, free.get(n.nodeId)! - m.gpuCount);
          expect(n.vramGiB).toBeGreaterThanOrEqual(r.minVramGiB);
          if (r.tee) expect(n.tee).toBe(true);
          if (r.maxLatencyMs !== undefined) expect(n.latencyMs).toBeLessThanOrEqual(r.maxLatencyMs);
          expect(m.quote.costWei).toBeLessThanOrEqual(job.budgetWei);
          if (job.deadlineAtMs !== undefined) expect(t + m.quote.runtimeSec * 1000).toBeLessThanOrEqual(job.deadlineAtMs);
          expect(m.quote.gpuClass).toBe(n.gpuModel);
          reserved.push(m);
          out.matches.push(m);
        }
        break;
      }
      case 'release': {
        if (reserved.length === 0) break;
        const [m] = reserved.splice(op.pick % reserved.length, 1);
        e.release(m!.jobId, t);
        break;
      }
      case 'online': {
        const id = scenario.nodes[op.pick % scenario.nodes.length]!.nodeId;
        e.setNodeOnline(id, op.online, t);
        specs.set(id, { ...specs.get(id)!, online: op.online });
        break;
      }
      case 'cancel': {
        const ids = [...jobs.keys()];
        if (ids.length) e.cancelJob(ids[op.pick % ids.length]!);
        break;
      }
      case 'tick': {
        const tick = e.marketTick(t);
        out.changes.push(...tick.priceChanges);
        out.surges.push(...tick.surgeChanges);
        break;
      }
    }
    // no node ever over capacity
    const perNode = new Map<string, number>();
    for (const m of reserved) perNode.set(m.nodeId, (perNode.get(m.nodeId) ?? 0) + m.gpuCount);
    for (const [id, spec] of specs) {
      const used = perNode.get(id) ?? 0;
      const engineUsed = e.getNode(id)!.reservedGpus;
      if (used > spec.gpuCount || engineUsed !== used) throw new Error(`node ${id}: reserved ${engineUsed}, matched ${used}, has ${spec.gpuCount}`);
    }
  }
  out.reasons = [...jobs.keys()].map((id) => e.waitingReason(id));
  return out;
}

const comparable = (m: Match) => ({ jobId: m.jobId, nodeId: m.nodeId, gpuCount: m.gpuCount, quote: m.quote, winner: m.receipt.winner, runnerUp: m.receipt.runnerUp });

describe('properties (fast-check)', () => {
  it('never over capacity, every match meets every hard constraint (checked after every step)', () => {
    let matched = 0;
    fc.assert(
      fc.property(scenarioArb, (s) => {
        matched += run(s, DEFAULT_ENGINE_CONFIG).matches.length;
      }),
      { numRuns: 200 },
    );
    expect(matched).toBeGreaterThan(500); // the property is not vacuous (typically ~1,500 matches)
  });

  it('with holds taken at once: never over capacity, never a reservation on a node held for another job (an engine invariant), holds survive a snapshot', () => {
    const eager: EngineConfig = { ...DEFAULT_ENGINE_CONFIG, queue: { ...DEFAULT_ENGINE_CONFIG.queue, holdAfterMs: 0, maxHolds: 3 } };
    let held = 0;
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const a = run(s, eager);
        held += a.engine.holdCount();
        const restored = MatchingEngine.restore(JSON.parse(json(a.engine.snapshot())), eager);
        expect(json(restored.snapshot())).toBe(json(a.engine.snapshot()));
        expect(json(restored.matchPending(1e12, 50))).toBe(json(a.engine.matchPending(1e12, 50)));
      }),
      { numRuns: 100 },
    );
    expect(held).toBeGreaterThan(0); // holds did happen
  });

  it('same seed twice gives the same output, bit for bit, and a snapshot restored mid-way continues identically', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const a = run(s, DEFAULT_ENGINE_CONFIG);
        const b = run(s, DEFAULT_ENGINE_CONFIG);
        expect(json([b.matches, b.changes, b.reasons])).toBe(json([a.matches, a.changes, a.reasons]));
        const restored = MatchingEngine.restore(JSON.parse(json(a.engine.snapshot())), DEFAULT_ENGINE_CONFIG);
        expect(json(restored.matchPending(1e12, 50))).toBe(json(a.engine.matchPending(1e12, 50)));
      }),
      { numRuns: 100 },
    );
  });

  it('the indexed search chooses exactly what the full-scan scorer chooses (winner, runner-up, price)', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const indexed = run(s, DEFAULT_ENGINE_CONFIG, 'indexed');
        const scan = run(s, DEFAULT_ENGINE_CONFIG, 'full-scan');
        expect(json(indexed.matches.map(comparable))).toBe(json(scan.matches.map(comparable)));
      }),
      { numRuns: 200 },
    );
  });

  it('with surges starting and ending often: the indexed search still chooses exactly what the full scan chooses, and a snapshot restored mid-surge continues identically', () => {
    // a queue of 2 starts a surge, 0 ends it at the next tick: surges flip within most scenarios
    const surging: EngineConfig = { ...DEFAULT_ENGINE_CONFIG, surge: { startUtilizationBps: 5_000, endUtilizationBps: 2_000, startQueueDepth: 2, endQueueDepth: 1, minDwellMs: 0 } };
    let surges = 0;
    let preferred = 0;
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const indexed = run(s, surging, 'indexed');
        const scan = run(s, surging, 'full-scan');
        expect(json(indexed.matches.map(comparable))).toBe(json(scan.matches.map(comparable)));
        expect(json(indexed.surges)).toBe(json(scan.surges));
        surges += indexed.surges.length;
        preferred += indexed.matches.filter((m) => m.receipt.surgePreference?.winnerStaked).length;
        const restored = MatchingEngine.restore(JSON.parse(json(indexed.engine.snapshot())), surging);
        expect(json(restored.snapshot())).toBe(json(indexed.engine.snapshot()));
        expect(json(restored.matchPending(1e12, 50))).toBe(json(indexed.engine.matchPending(1e12, 50)));
      }),
      { numRuns: 150 },
    );
    expect(surges).toBeGreaterThan(50); // surges did happen
    expect(preferred).toBeGreaterThan(20); // and staked nodes won in them
  });

  it('bounded wait: a low-urgency job, short or of the longest runtime class, is matched within a computable bound under a sustained stream of short critical jobs', () => {
    const cfg: EngineConfig = {
      ...DEFAULT_ENGINE_CONFIG,
      queue: { ...DEFAULT_ENGINE_CONFIG.queue, urgencyStepMs: 1_000, latencyStepMs: 250, runtimeStepMs: 60, runtimeClassesMax: 12 },
    };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 50, max: 400 }), fc.boolean(), (capacity, perTick, tickMs, longVictim) => {
        const e = new MatchingEngine(cfg);
        for (let i = 0; i < capacity; i++) e.upsertNode({ ...baseNode, nodeId: `n${i}` }, 0);
        const mk = (jobId: string, urgency: JobSpec['urgency'], at: number): JobSpec => ({
          jobId, category: 'inference', budgetWei: 100n * WEI, urgency, latencyPreference: 'relaxed',
          requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] }, expectedRuntimeSec: 60, green: false, submittedAtMs: at,
        });
        e.submitJob({ ...mk('victim', 'low', 0), expectedRuntimeSec: longVictim ? 200_000 : 60 }); // 200,000 s: the longest class (above 60 s × 2^11)
        // jobs ahead of the victim: critical jobs submitted up to 3 urgency steps after it, and
        // runtimeClassesMax runtime steps more when it is of the longest class (they are of class 0)
        const horizonMs = 3 * cfg.queue.urgencyStepMs + (longVictim ? cfg.queue.runtimeClassesMax * cfg.queue.runtimeStepMs : 0);
        const ahead = perTick * (Math.floor(horizonMs / tickMs) + 1);
        const boundTicks = Math.ceil((ahead + 1) / capacity) + 1;
        let running: string[] = [];
        for (let tick = 0; tick <= boundTicks; tick++) {
          const t = tick * tickMs;
          for (const id of running) e.release(id, t);
          for (let k = 0; k < perTick; k++) e.submitJob(mk(`c${tick}-${k}`, 'critical', t));
          const matched = e.matchPending(t, capacity);
          running = matched.map((m) => m.jobId);
          if (running.includes('victim')) return;
        }
        throw new Error(`victim still waiting after ${boundTicks} ticks`);
      }),
      { numRuns: 40 },
    );
  });

  it('prices stay in their band and move at most one step per tick, whatever the utilization', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 80 }), (usedSeq) => {
        const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
        e.upsertNode({ ...baseNode, nodeId: 'n', gpuCount: 8 }, 0);
        const p = DEFAULT_ENGINE_CONFIG.pricing;
        usedSeq.forEach((used, i) => {
          e.release('x', 0);
          if (used > 0) e.recordMatch({ jobId: 'x', nodeId: 'n', gpuCount: used, atMs: 0 });
          for (const c of e.repriceTick(i * p.repriceIntervalMs)) {
            expect(c.multiplierBps).toBeGreaterThanOrEqual(p.minMultiplierBps);
            expect(c.multiplierBps).toBeLessThanOrEqual(p.maxMultiplierBps);
            expect(Math.abs(c.multiplierBps - c.previousMultiplierBps)).toBeLessThanOrEqual(p.maxStepBps);
            expect(c.smoothedUtilizationBps).toBeGreaterThanOrEqual(0);
            expect(c.smoothedUtilizationBps).toBeLessThanOrEqual(10_000);
          }
        });
      }),
      { numRuns: 200 },
    );
  });
});

const baseNode: NodeSpec = {
  nodeId: 'x', providerAddress: '0x01', gpuModel: 'T4', gpuCount: 1, vramGiB: 16, region: 'eu', latencyMs: 10, tee: false,
  carbonGPerKwh: 100, renewableShare: 0.5, benchmarkScore: 100, reputation: 0.5, stakeWei: 0n, online: true,
};
