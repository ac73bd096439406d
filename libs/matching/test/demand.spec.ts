import { capacityKeyOf, DEFAULT_ENGINE_CONFIG, MatchingEngine, priorityKey, PriorityQueue, runtimeClass, runtimeClassFloorSec, signatureOf, type JobSpec } from '../src';
import { HOUR_SEC, job, node, WEI } from './fixtures';

const engine = () => {
  const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
  return e;
};

describe('queues: urgency, latency preference, aging, fairness across categories', () => {
  const q = DEFAULT_ENGINE_CONFIG.queue;

  it('given jobs submitted together, then they leave in urgency order, then latency preference', () => {
    const pq = new PriorityQueue();
    const jobs: JobSpec[] = [
      job({ jobId: 'low', urgency: 'low' }),
      job({ jobId: 'crit', urgency: 'critical' }),
      job({ jobId: 'norm-low-lat', urgency: 'normal', latencyPreference: 'low' }),
      job({ jobId: 'norm', urgency: 'normal' }),
    ];
    for (const j of jobs) pq.push({ job: j, key: priorityKey(j, q), sig: signatureOf(j, q), capKey: capacityKeyOf(j, q), at: pq, routed: false });
    const out: string[] = [];
    while (pq.size) out.push(pq.pop()!.job.jobId);
    expect(out).toEqual(['crit', 'norm-low-lat', 'norm', 'low']);
  });

  it('given a low job that has waited longer than 3 urgency steps, then it goes before a new critical job (aging)', () => {
    const old = job({ jobId: 'old-low', urgency: 'low', submittedAtMs: 0 });
    const fresh = job({ jobId: 'new-crit', urgency: 'critical', submittedAtMs: 3 * q.urgencyStepMs + 1 });
    expect(priorityKey(old, q)).toBeGreaterThan(priorityKey(fresh, q));
  });

  it('given two jobs submitted together, when one GPU frees, then the shorter goes first (runtime classes)', () => {
    const e = engine();
    e.upsertNode(node({ nodeId: 'a', gpuCount: 1 }), 0);
    e.submitJob(job({ jobId: 'day', expectedRuntimeSec: 24 * HOUR_SEC }));
    e.submitJob(job({ jobId: 'minute', expectedRuntimeSec: 50 }));
    expect(runtimeClass(50, q)).toBe(0);
    expect(runtimeClass(24 * HOUR_SEC, q)).toBe(11); // 60 s × 2^11 = 34 h ≥ 24 h > 17 h
    expect(e.matchPending(1, 1).map((m) => m.jobId)).toEqual(['minute']);
  });

  it('given a critical job of the longest runtime class and a low one of the shortest, submitted together, then the critical one goes first: tiers come first', () => {
    expect(q.urgencyStepMs).toBeGreaterThan(q.runtimeClassesMax * q.runtimeStepMs);
    const e = engine();
    e.upsertNode(node({ nodeId: 'a', gpuCount: 1 }), 0);
    e.submitJob(job({ jobId: 'low-short', urgency: 'low', expectedRuntimeSec: 1 }));
    e.submitJob(job({ jobId: 'high-long', urgency: 'high', latencyPreference: 'relaxed', expectedRuntimeSec: 40 * HOUR_SEC })); // the longest class: above 60 s × 2^11
    expect(runtimeClass(40 * HOUR_SEC, q)).toBe(q.runtimeClassesMax);
    expect(e.matchPending(1, 1).map((m) => m.jobId)).toEqual(['high-long']);
  });

  it('given a long job submitted more than runtimeClassesMax × runtimeStepMs before a short one, then the long one goes first: every wait is bounded', () => {
    const long = job({ jobId: 'long', expectedRuntimeSec: 1_000 * 24 * HOUR_SEC, submittedAtMs: 0 });
    const short = job({ jobId: 'short', expectedRuntimeSec: 1, submittedAtMs: q.runtimeClassesMax * q.runtimeStepMs + 1 });
    expect(runtimeClass(long.expectedRuntimeSec, q)).toBe(q.runtimeClassesMax);
    expect(priorityKey(long, q)).toBeGreaterThan(priorityKey(short, q));
    expect(runtimeClassFloorSec(runtimeClass(90, q), q)).toBeLessThan(90);
  });

  it('given one node and two categories, when matching one at a time, then categories take turns', () => {
    const e = engine();
    e.upsertNode(node({ nodeId: 'a', gpuCount: 1 }), 0);
    for (let i = 0; i < 3; i++) e.submitJob(job({ jobId: `inf-${i}`, category: 'inference', urgency: 'critical', submittedAtMs: i }));
    for (let i = 0; i < 3; i++) e.submitJob(job({ jobId: `ren-${i}`, category: 'rendering', urgency: 'low', submittedAtMs: i }));
    const order: string[] = [];
    for (let t = 0; t < 6; t++) {
      const [m] = e.matchPending(t, 1);
      order.push(m!.jobId);
      e.release(m!.jobId, t);
    }
    expect(order).toEqual(['inf-0', 'ren-0', 'inf-1', 'ren-1', 'inf-2', 'ren-2']);
  });

  it('given a big job that does not fit, when smaller jobs behind it fit, then they are matched and the big one keeps waiting with its reason', () => {
    const e = engine();
    e.upsertNode(node({ nodeId: 'a', gpuCount: 2 }), 0);
    e.submitJob(job({ jobId: 'big', urgency: 'critical', requirements: { gpuCount: 4 } }));
    e.submitJob(job({ jobId: 'small', submittedAtMs: 1 }));
    expect(e.matchPending(5, 10).map((m) => m.jobId)).toEqual(['small']);
    expect(e.waitingReason('big')).toBe('no node satisfies gpuModel=any, count=4');
    expect(e.queueDepths()).toEqual({ 'ai-training': 0, inference: 1, rendering: 0, simulation: 0 });
  });

  it('given a flexible job took the only node a constrained job can use, when matched in the same call, then the flexible job moves over and both are placed', () => {
    const e = engine();
    e.upsertNode(node({ nodeId: 'eu', region: 'eu', reputation: 0.95 }), 0);
    e.upsertNode(node({ nodeId: 'us', region: 'us', reputation: 0.6 }), 0);
    e.submitJob(job({ jobId: 'flexible', urgency: 'critical' }));
    e.submitJob(job({ jobId: 'eu-only', submittedAtMs: 1, requirements: { regions: ['eu'] } }));
    const matches = e.matchPending(10, 10);
    expect(matches.map((m) => [m.jobId, m.nodeId])).toEqual([
      ['flexible', 'us'],
      ['eu-only', 'eu'],
    ]);
    expect(matches[0]!.receipt.rerouted).toEqual({ forJobId: 'eu-only', fromNodeId: 'eu' });
    expect(e.getNode('eu')!.freeGpus + e.getNode('us')!.freeGpus).toBe(0);
  });

  it('given the same job submitted twice (redelivery), then it is queued once', () => {
    const e = engine();
    e.submitJob(job({ jobId: 'j' }));
    e.submitJob(job({ jobId: 'j' }));
    expect(e.queueDepths().inference).toBe(1);
  });

  it('given a malformed job, when submitted, then it is refused with a typed error', () => {
    expect(() => engine().submitJob(job({ jobId: 'j', expectedRuntimeSec: 0 }))).toThrow(expect.objectContaining({ code: 'invalid-job' }));
  });
});

describe('budget-and-deadline-only jobs: the engine chooses class and count', () => {
  const onlyBudget = (deadlineAtMs: number | undefined, budgetWei = 100n * WEI) =>
    job({ jobId: 'bd', budgetWei, deadlineAtMs, expectedRuntimeSec: 10 * HOUR_SEC, requirements: { gpuModels: [], gpuCount: 0 } });

  it('given no deadline, when routed, then it takes 1 GPU of the cheapest class for the work (cost = price × work / speed)', () => {
    const e = engine();
    e.upsertNode(node({ nodeId: 't4', gpuModel: 'T4', gpuCount: 8 }), 0);
    e.upsertNode(node({ nodeId: 'h100', gpuModel: 'H100', gpuCount: 8, vramGiB: 80 }), 0);
    e.submitJob(onlyBudget(undefined));
    const [m] = e.matchPending(0, 1);
    // T4: 0.15 × 10 h = 1.5 AGPU; H100: 1.8 × 10 h / 10 = 1.8 AGPU
    expect(m).toMatchObject({ nodeId: 't4', gpuCount: 1, quote: { runtimeSec: 36_000 } });
  });

  it('given a deadline in 1 hour, when routed, then it gets enough GPUs of a class fast enough to finish in time', () => {
    const e = engine();
    e.upsertNode(node({ nodeId: 't4', gpuModel: 'T4', gpuCount: 8 }), 0);
    e.upsertNode(node({ nodeId: 'h100', gpuModel: 'H100', gpuCount: 8, vramGiB: 80 }), 0);
    e.submitJob(onlyBudget(HOUR_SEC * 1000));
    const [m] = e.matchPending(0, 1);
    expect(m!.quote.runtimeSec).toBeLessThanOrEqual(HOUR_SEC);
    // T4 needs 10 GPUs (> 8 on the node); H100 needs 1
    expect(m).toMatchObject({ nodeId: 'h100', gpuCount: 1 });
  });

  it('given a deadline no class can meet, when routed, then it waits with the deadline reason', () => {
    const e = engine();
    e.upsertNode(node({ nodeId: 't4', gpuModel: 'T4', gpuCount: 1 }), 0);
    e.submitJob(onlyBudget(60_000));
    expect(e.matchPending(0, 1)).toEqual([]);
    expect(e.waitingReason('bd')).toMatch(/^deadline 60000 cannot be met/);
  });
});

describe('admission at intake', () => {
  const e = engine();
  e.upsertNode(node({ nodeId: 'a', gpuModel: 'T4', gpuCount: 4 }), 0);

  it('given an unknown GPU model, then it is refused with unknown-gpu-model', () => {
    expect(e.checkAdmissible(job({ jobId: 'j', requirements: { gpuModels: ['TPUv9'] } }))).toEqual({ ok: false, code: 'unknown-gpu-model', reason: 'unknown GPU model TPUv9' });
  });

  it('given a budget below the band floor of the cheapest accepted model, then it is refused with budget-below-any-price', () => {
    expect(e.checkAdmissible(job({ jobId: 'j', budgetWei: 1_000n }))).toMatchObject({ ok: false, code: 'budget-below-any-price' });
  });

  it('given more GPUs on one node than any node may have, then it is refused', () => {
    expect(e.checkAdmissible(job({ jobId: 'j', requirements: { gpuCount: 64 } }))).toMatchObject({ ok: false, code: 'gpu-count-too-large' });
  });

  it('given 8 H200 nobody has, then it is admitted by default (it will wait with a visible reason) and refused when supply is required', () => {
    const j = job({ jobId: 'j', requirements: { gpuModels: ['H200'], gpuCount: 8 } });
    expect(e.checkAdmissible(j)).toEqual({ ok: true });
    const strict = new MatchingEngine({ ...DEFAULT_ENGINE_CONFIG, admission: { requireCurrentSupply: true } });
    strict.upsertNode(node({ nodeId: 'a' }), 0);
    expect(strict.checkAdmissible(j)).toEqual({ ok: false, code: 'no-node-satisfies', reason: 'no node satisfies gpuModel=H200, count=8' });
    expect(strict.checkAdmissible(job({ jobId: 'k' }))).toEqual({ ok: true });
  });

  it('given a sound job, then it is admitted', () => {
    expect(e.checkAdmissible(job({ jobId: 'j', requirements: { gpuModels: ['T4'], gpuCount: 2 } }))).toEqual({ ok: true });
  });
});
