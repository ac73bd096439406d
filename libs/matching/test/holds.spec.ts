import fc from 'fast-check';
import { DEFAULT_ENGINE_CONFIG, MatchingEngine, type EngineConfig, type JobSpec } from '../src';
import { job, node } from './fixtures';

const HOLD_AFTER_MS = 10_000;
const cfg = (queue: Partial<EngineConfig['queue']> = {}): EngineConfig => ({
  ...DEFAULT_ENGINE_CONFIG,
  queue: { ...DEFAULT_ENGINE_CONFIG.queue, holdAfterMs: HOLD_AFTER_MS, ...queue },
});

const small = (jobId: string, at: number): JobSpec => job({ jobId, submittedAtMs: at, urgency: 'critical' });
const large = (jobId: string, at = 0, gpuCount = 8): JobSpec => job({ jobId, submittedAtMs: at, urgency: 'low', requirements: { gpuCount } });

/** two 8-GPU nodes, `busyA` and `busyB` of their GPUs taken by running 1-GPU jobs (one market unless `regionB` differs) */
function fragmented(config: EngineConfig, busyA: number, busyB: number, regionB = 'eu-west'): { e: MatchingEngine; running: Map<string, string> } {
  const e = new MatchingEngine(config);
  e.upsertNode(node({ nodeId: 'a', gpuCount: 8 }), 0);
  e.upsertNode(node({ nodeId: 'b', gpuCount: 8, region: regionB }), 0);
  const running = new Map<string, string>();
  let i = 0;
  for (const [nodeId, busy] of [['a', busyA], ['b', busyB]] as const) {
    for (let k = 0; k < busy; k++) {
      const id = `r${i++}`;
      e.recordMatch({ jobId: id, nodeId, gpuCount: 1, atMs: 0 });
      running.set(id, nodeId);
    }
  }
  return { e, running };
}

describe('holds: a large job that waited too long reserves a node as it drains', () => {
  it('given an 8-GPU job waiting for capacity, when it has waited less than holdAfterMs, then it holds nothing', () => {
    const { e } = fragmented(cfg(), 3, 5);
    e.submitJob(large('big'));
    e.matchPending(HOLD_AFTER_MS - 1, 10);
    expect(e.holdOf('big')).toBeUndefined();
    expect(e.waitingReason('big')).toMatch(/^waiting for capacity: no free node satisfies/);
  });

  it('given it waited past holdAfterMs, when routed, then it holds the node with the most free GPUs and says so', () => {
    const { e } = fragmented(cfg(), 3, 5);
    e.submitJob(large('big'));
    e.matchPending(HOLD_AFTER_MS, 10);
    expect(e.holdOf('big')).toEqual({ jobId: 'big', nodeId: 'a', gpuCount: 8, sinceMs: HOLD_AFTER_MS });
    expect(e.waitingReason('big')).toMatch(/; holding node a until 8 of its GPUs are free$/);
    expect(e.holdCount()).toBe(1);
  });

  it('given a held node, when small jobs arrive, then none is placed on it while the other node has room', () => {
    const { e } = fragmented(cfg(), 3, 5);
    e.submitJob(large('big'));
    e.matchPending(HOLD_AFTER_MS, 10);
    for (let k = 0; k < 6; k++) e.submitJob(small(`s${k}`, HOLD_AFTER_MS + 1));
    const placed = e.matchPending(HOLD_AFTER_MS + 2, 10);
    expect(placed.map((m) => m.nodeId)).toEqual(['b', 'b', 'b']); // b had 3 free; a (5 free) is held
    expect(e.getNode('a')!.freeGpus).toBe(5);
    expect(e.waitingReason('s3')).toMatch(/^waiting for capacity/);
  });

  it('given a held node, when its running jobs end, then the large job takes it and its receipt names the hold', () => {
    const { e, running } = fragmented(cfg(), 3, 5);
    e.submitJob(large('big'));
    e.matchPending(HOLD_AFTER_MS, 10);
    for (const [id, nodeId] of running) if (nodeId === 'a') e.release(id, HOLD_AFTER_MS + 5);
    const [m] = e.matchPending(HOLD_AFTER_MS + 6, 10);
    expect(m).toMatchObject({ jobId: 'big', nodeId: 'a', gpuCount: 8 });
    expect(m!.receipt.hold).toEqual({ nodeId: 'a', sinceMs: HOLD_AFTER_MS });
    expect(e.holdOf('big')).toBeUndefined();
    expect(e.isQueued('big')).toBe(false);
  });

  it('given a held node, when another node frees up first, then the large job goes there and the hold ends', () => {
    const { e, running } = fragmented(cfg(), 3, 5);
    e.submitJob(large('big'));
    e.matchPending(HOLD_AFTER_MS, 10);
    for (const [id, nodeId] of running) if (nodeId === 'b') e.release(id, HOLD_AFTER_MS + 5);
    const [m] = e.matchPending(HOLD_AFTER_MS + 6, 10);
    expect(m).toMatchObject({ jobId: 'big', nodeId: 'b' });
    expect(e.holdCount()).toBe(0);
    e.submitJob(small('after', HOLD_AFTER_MS + 7));
    expect(e.matchPending(HOLD_AFTER_MS + 8, 10).map((x) => x.nodeId)).toEqual(['a']);
  });

  it('given a held node, when it goes offline, then the hold ends and the job holds another node on its next routing', () => {
    const { e } = fragmented(cfg(), 3, 5);
    e.submitJob(large('big'));
    e.matchPending(HOLD_AFTER_MS, 10);
    e.setNodeOnline('a', false, HOLD_AFTER_MS + 1);
    expect(e.holdOf('big')).toBeUndefined();
    e.matchPending(HOLD_AFTER_MS + 2, 10);
    expect(e.holdOf('big')?.nodeId).toBe('b');
  });

  it('given a held node, when the job is cancelled, then the node serves other jobs again', () => {
    const { e } = fragmented(cfg(), 3, 8);
    e.submitJob(large('big'));
    e.matchPending(HOLD_AFTER_MS, 10);
    e.cancelJob('big');
    e.submitJob(small('s', HOLD_AFTER_MS + 1));
    expect(e.matchPending(HOLD_AFTER_MS + 2, 10).map((m) => m.nodeId)).toEqual(['a']);
  });

  it.each([
    [1, 1],
    [2, 2],
  ])('given two markets with a node each and maxHolds %i, when two large jobs have waited long enough, then %i of them hold', (maxHolds, held) => {
    const { e } = fragmented(cfg({ maxHolds }), 3, 5, 'us-east');
    e.submitJob(large('big1'));
    e.submitJob(large('big2', 1));
    e.matchPending(HOLD_AFTER_MS + 1, 10);
    expect(e.holdCount()).toBe(held);
    expect(e.holdOf('big1')?.nodeId).toBe('a'); // the older job first, on the node with most free GPUs
  });

  it.each([
    [1_000, 1],
    [2_000, 2],
  ])('given one market of 80 GPUs and maxHeldShareBps %i, when two 8-GPU jobs have waited long enough, then %i of them hold', (maxHeldShareBps, held) => {
    const e = new MatchingEngine(cfg({ maxHeldShareBps }));
    for (let i = 0; i < 10; i++) {
      e.upsertNode(node({ nodeId: `n${i}`, gpuCount: 8 }), 0);
      e.recordMatch({ jobId: `r${i}`, nodeId: `n${i}`, gpuCount: 1 + (i % 7), atMs: 0 });
    }
    e.submitJob(large('big1'));
    e.submitJob(large('big2', 1));
    e.matchPending(HOLD_AFTER_MS + 1, 10);
    expect(e.holdCount()).toBe(held);
  });

  it('given maxHoldAttemptsPerCall 1, when two large jobs could hold, then one hold is chosen per matchPending call', () => {
    const { e } = fragmented(cfg({ maxHoldAttemptsPerCall: 1 }), 3, 5, 'us-east');
    e.submitJob(large('big1'));
    e.submitJob(large('big2', 1));
    e.matchPending(HOLD_AFTER_MS + 1, 10);
    expect(e.holdCount()).toBe(1);
    e.matchPending(HOLD_AFTER_MS + 2, 10);
    expect(e.holdCount()).toBe(2);
  });

  it('given a held node, when its reputation changes, then the hold stays; when it shrinks below the job, the hold ends', () => {
    const { e } = fragmented(cfg(), 3, 5);
    e.submitJob(large('big'));
    e.matchPending(HOLD_AFTER_MS, 10);
    e.upsertNode(node({ nodeId: 'a', gpuCount: 8, reputation: 0.95 }), HOLD_AFTER_MS + 1);
    expect(e.holdOf('big')?.nodeId).toBe('a');
    e.submitJob(small('s', HOLD_AFTER_MS + 2));
    expect(e.matchPending(HOLD_AFTER_MS + 3, 10).map((m) => m.nodeId)).toEqual(['b']);
    e.upsertNode(node({ nodeId: 'a', gpuCount: 4 }), HOLD_AFTER_MS + 4);
    expect(e.holdOf('big')).toBeUndefined();
  });

  it('given a 1-GPU job waiting for capacity, when it has waited long, then it never holds (no fragments to gather)', () => {
    const { e } = fragmented(cfg(), 8, 8);
    e.submitJob(small('s', 0));
    e.matchPending(HOLD_AFTER_MS * 10, 10);
    expect(e.holdCount()).toBe(0);
  });

  it('given a hold, when the engine is snapshotted and restored, then the hold is kept and in force', () => {
    const { e } = fragmented(cfg(), 3, 5);
    e.submitJob(large('big'));
    e.matchPending(HOLD_AFTER_MS, 10);
    const restored = MatchingEngine.restore(JSON.parse(JSON.stringify(e.snapshot())), cfg({ holdAfterMs: Number.MAX_SAFE_INTEGER }));
    expect(restored.holdOf('big')).toEqual(e.holdOf('big'));
    expect(restored.snapshot()).toEqual(e.snapshot());
    // the restored hold is in force (this engine would never take one itself): a small job goes to b
    restored.submitJob(small('s', HOLD_AFTER_MS + 1));
    expect(restored.matchPending(HOLD_AFTER_MS + 2, 10).map((m) => m.nodeId)).toEqual(['b']);
  });

  it('given a replayed waiting report without a hold, when applied, then the hold it replaces ends; a hold on an offline node is not applied', () => {
    const { e } = fragmented(cfg(), 3, 5);
    e.submitJob(large('big'));
    e.matchPending(HOLD_AFTER_MS, 10);
    e.recordWaiting({ jobId: 'big', reason: 'waiting for capacity: no free node satisfies gpuModel=any, count=8' });
    expect(e.holdOf('big')).toBeUndefined();
    expect(e.waitingReason('big')).toBe('waiting for capacity: no free node satisfies gpuModel=any, count=8');
    e.setNodeOnline('b', false, HOLD_AFTER_MS + 1);
    e.recordWaiting({ jobId: 'big', reason: 'held b', hold: { nodeId: 'b', gpuCount: 8, sinceMs: 1 } });
    expect(e.holdOf('big')).toBeUndefined();
    expect(e.takeChangedWaiting(10)).toEqual([]); // replayed reasons are already on the log
  });

  it('given a hold recorded on the log, when replayed into a fresh engine, then the node is held for that job only', () => {
    const { e } = fragmented(cfg(), 3, 5);
    e.submitJob(large('big'));
    e.recordHold({ jobId: 'big', nodeId: 'b', gpuCount: 8, sinceMs: 1 });
    e.recordHold({ jobId: 'ghost', nodeId: 'a', gpuCount: 8, sinceMs: 1 }); // not queued: ignored
    expect(e.holdOf('big')?.nodeId).toBe('b');
    expect(e.holdOf('ghost')).toBeUndefined();
    e.submitJob(small('s', 2));
    expect(e.matchPending(3, 10).map((m) => m.nodeId)).toEqual(['a']);
  });
});

describe('waiting reasons the service reports', () => {
  it('given more waiting jobs than one report takes, when reasons are taken repeatedly, then every job is reported once per change', () => {
    const e = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
    for (let i = 0; i < 150; i++) e.submitJob(job({ jobId: `j${String(i).padStart(3, '0')}`, submittedAtMs: i, requirements: { gpuModels: ['H200'], gpuCount: 8 } }));
    e.matchPending(1_000, 10);
    const seen: string[] = [];
    for (let batch = e.takeChangedWaiting(64); batch.length > 0; batch = e.takeChangedWaiting(64)) seen.push(...batch);
    expect(seen).toHaveLength(150);
    expect(new Set(seen).size).toBe(150);
    e.matchPending(2_000, 10);
    expect(e.takeChangedWaiting(64)).toEqual([]); // unchanged reasons are not reported again
  });
});

describe('property: a large job is placed within a bound under a sustained stream of small jobs', () => {
  it('holds: placed within holdAfterMs + one job lifetime + a round; without holds it starves', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 250, max: 2_000 }), (nodes, lifetimeTicks, tickMs) => {
        const place = (config: EngineConfig, ticks: number): number | null => {
          const e = new MatchingEngine(config);
          for (let i = 0; i < nodes; i++) e.upsertNode(node({ nodeId: `n${i}`, gpuCount: 8 }), 0);
          const ends = new Map<number, string[]>();
          let seq = 0;
          let backlog = 0;
          e.submitJob(large('big'));
          for (let tick = 0; tick <= ticks; tick++) {
            const t = tick * tickMs;
            for (const id of ends.get(tick) ?? []) e.release(id, t);
            // a standing backlog of newer, more urgent small jobs: every GPU that frees is wanted
            for (; backlog < 8 * nodes; backlog++) e.submitJob(small(`s${seq++}`, t));
            for (const m of e.matchPending(t, 1_000)) {
              if (m.jobId === 'big') return t;
              backlog--;
              const end = tick + 1 + ((seq + m.jobId.length) % lifetimeTicks);
              ends.set(end, [...(ends.get(end) ?? []), m.jobId]);
              expect(e.getNode(m.nodeId)!.reservedGpus).toBeLessThanOrEqual(8);
            }
          }
          return null;
        };
        const boundTicks = Math.ceil(HOLD_AFTER_MS / tickMs) + lifetimeTicks + 2;
        const placedAt = place(cfg(), boundTicks);
        expect(placedAt).not.toBeNull();
        expect(placedAt!).toBeLessThanOrEqual(boundTicks * tickMs);
        expect(place(cfg({ maxHolds: 0 }), boundTicks)).toBeNull();
      }),
      { numRuns: 20 },
    );
  });
});
