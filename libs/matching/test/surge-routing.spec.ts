import { DEFAULT_ENGINE_CONFIG, InvalidInputError, marketKey, MatchingEngine, nodeSpreadMax, type EngineConfig, type Match, type SurgeChange } from '../src';
import { job, node, WEI } from './fixtures';

/**
 * Issue 16 ("Surges"), done when: a burst of demand on one market starts a surge, during which
 * staked nodes are preferred, and not before; once demand falls and the dwell passes, the surge
 * ends and routing is as before.
 */
const CONFIG: EngineConfig = {
  ...DEFAULT_ENGINE_CONFIG,
  surge: { startUtilizationBps: 8_500, endUtilizationBps: 7_500, startQueueDepth: 5, endQueueDepth: 2, minDwellMs: 120_000 },
};
const MIN = 60_000;
const MARKET = { gpuClass: 'T4', region: 'eu-west' };

/** One T4 market: two unstaked nodes of better reputation, two staked pool nodes of worse. */
const NODES = [
  node({ nodeId: 'free-1', reputation: 0.95 }),
  node({ nodeId: 'free-2', reputation: 0.9 }),
  node({ nodeId: 'staked-1', reputation: 0.6, poolId: 'pool-1', stakeWei: 100n * WEI }),
  node({ nodeId: 'staked-2', reputation: 0.5, poolId: 'pool-1', stakeWei: 50n * WEI }),
];

function market(config: EngineConfig = CONFIG): MatchingEngine {
  const e = new MatchingEngine(config);
  for (const n of NODES) e.upsertNode(n, 0);
  return e;
}

const winners = (ms: Match[]) => ms.map((m) => [m.jobId, m.nodeId]);

describe('surges: staked pools preferred during a surge, and only then', () => {
  it('given a calm market, a burst of demand, then a fall: routing by the normal terms, staked first in the surge, normal again after SurgeEnded', () => {
    const e = market();
    expect(e.marketTick(0).surgeChanges).toEqual([]);

    // before: the better-reputation unstaked node wins, the receipt says no surge
    e.submitJob(job({ jobId: 'before', submittedAtMs: 10_000 }));
    const [before] = e.matchPending(10_000, 10);
    expect(before!.nodeId).toBe('free-1');
    expect(before!.receipt.surge).toBe(false);
    expect(before!.receipt.surgePreference).toBeUndefined();
    expect(before!.receipt.winner.score.reservedLiquidity).toBe(0);
    e.release('before', 20_000);

    // a burst: 6 jobs queue between two rounds; the tick sees a queue depth of 6 >= 5
    for (let i = 1; i <= 6; i++) e.submitJob(job({ jobId: `burst-${i}`, submittedAtMs: 30_000 + i }));
    const started = e.marketTick(MIN).surgeChanges;
    expect(started).toEqual<SurgeChange[]>([{ type: 'SurgeStarted', ...MARKET, atMs: MIN, trigger: 'queue-depth', smoothedUtilizationBps: 0, queueDepth: 6 }]);
    expect(e.surgeOf('T4', 'eu-west')).toEqual({ sinceMs: MIN });

    // during: the staked nodes take the first jobs despite their reputation, then the rest
    const during = e.matchPending(MIN, 10);
    expect(winners(during)).toEqual([
      ['burst-1', 'staked-1'],
      ['burst-2', 'staked-2'],
      ['burst-3', 'free-1'],
      ['burst-4', 'free-2'],
    ]);
    for (const m of during) {
      expect(m.receipt.surge).toBe(true);
      expect(m.receipt.surgePreference).toEqual({ sinceMs: MIN, winnerStaked: m.nodeId.startsWith('staked') });
      expect(m.receipt.winner.score.reservedLiquidity).toBe(m.nodeId.startsWith('staked') ? CONFIG.weights.reservedLiquidity : 0);
    }
    // the first receipt's runner-up is the other staked node, not the better-reputation unstaked ones
    expect(during[0]!.receipt.runnerUp!.nodeId).toBe('staked-2');

    // the burst is served and falls away; the surge holds through the dwell
    for (const m of during) e.release(m.jobId, 90_000);
    e.cancelJob('burst-5');
    e.cancelJob('burst-6');
    expect(e.marketTick(2 * MIN).surgeChanges).toEqual([]); // calm since 2 min
    e.submitJob(job({ jobId: 'in-dwell', submittedAtMs: 150_000 }));
    const [inDwell] = e.matchPending(150_000, 10);
    expect(inDwell!.nodeId).toBe('staked-1');
    e.release('in-dwell', 160_000);
    expect(e.marketTick(3 * MIN).surgeChanges).toEqual([]); // calm for 1 min < 2 min

    // after: the dwell has passed, SurgeEnded, and the unstaked node wins again
    const ended = e.marketTick(4 * MIN).surgeChanges;
    expect(ended).toEqual<SurgeChange[]>([{ type: 'SurgeEnded', ...MARKET, atMs: 4 * MIN, startedAtMs: MIN, calmSinceMs: 2 * MIN, smoothedUtilizationBps: 0, queueDepth: 0 }]);
    expect(e.surgeOf('T4', 'eu-west')).toBeNull();
    e.submitJob(job({ jobId: 'after', submittedAtMs: 250_000 }));
    const [after] = e.matchPending(250_000, 10);
    expect(after!.nodeId).toBe('free-1');
    expect(after!.receipt.surge).toBe(false);
    expect(after!.receipt.surgePreference).toBeUndefined();
  });

  it('given high utilization and no queue, when the tick runs, then the surge starts on utilization (trigger utilization)', () => {
    const e = market({ ...CONFIG, pricing: { ...CONFIG.pricing, smoothingBps: 10_000 } });
    for (const id of ['free-1', 'free-2', 'staked-1', 'staked-2']) e.recordMatch({ jobId: `run-${id}`, nodeId: id, gpuCount: 1, atMs: 0 });
    const tick = e.marketTick(0);
    expect(tick.surgeChanges).toEqual([{ type: 'SurgeStarted', ...MARKET, atMs: 0, trigger: 'utilization', smoothedUtilizationBps: 10_000, queueDepth: 0 }]);
    expect(tick.priceChanges).toHaveLength(1); // the same tick, prices first
  });

  it('given the surge on the log, when an engine is rebuilt from it (SurgeStarted applied) or restored from a snapshot, then it routes as the one that decided it', () => {
    const decided = market();
    for (let i = 1; i <= 6; i++) decided.submitJob(job({ jobId: `burst-${i}`, submittedAtMs: 30_000 }));
    const [started] = decided.marketTick(MIN).surgeChanges;

    const replayed = market();
    for (let i = 1; i <= 6; i++) replayed.submitJob(job({ jobId: `burst-${i}`, submittedAtMs: 30_000 }));
    replayed.applySurgeChange(started!);
    replayed.applySurgeChange(started!); // delivered twice: the same state

    const restored = MatchingEngine.restore(JSON.parse(JSON.stringify(decided.snapshot(), (_k, v) => (typeof v === 'bigint' ? v.toString() : v))), CONFIG);
    const expected = winners(decided.matchPending(MIN, 2));
    expect(expected).toEqual([
      ['burst-1', 'staked-1'],
      ['burst-2', 'staked-2'],
    ]);
    expect(winners(replayed.matchPending(MIN, 2))).toEqual(expected);
    expect(winners(restored.matchPending(MIN, 2))).toEqual(expected);
  });

  it('given a queue that accepts other markets only, when the tick runs, then this market does not surge (queue depth counts the jobs that accept the market)', () => {
    const e = market();
    e.upsertNode(node({ nodeId: 'a100', gpuModel: 'A100', vramGiB: 80 }), 0);
    for (let i = 1; i <= 6; i++) e.submitJob(job({ jobId: `a100-${i}`, requirements: { gpuModels: ['A100'], gpuCount: 2 } }));
    expect(e.queueDepthByMarket()).toEqual(new Map([[marketKey('A100', 'eu-west'), 6]]));
    const changes = e.marketTick(MIN).surgeChanges;
    expect(changes.map((c) => [c.type, c.gpuClass])).toEqual([['SurgeStarted', 'A100']]);
    expect(e.surgeOf('T4', 'eu-west')).toBeNull();
  });

  it('a configuration whose reservedLiquidity weight would not dominate, or without hysteresis, is refused at construction (0 turns the preference off)', () => {
    const spread = nodeSpreadMax(DEFAULT_ENGINE_CONFIG);
    expect(DEFAULT_ENGINE_CONFIG.weights.reservedLiquidity).toBeGreaterThan(spread);
    expect(() => new MatchingEngine({ ...DEFAULT_ENGINE_CONFIG, weights: { ...DEFAULT_ENGINE_CONFIG.weights, reservedLiquidity: spread } })).toThrow(InvalidInputError);
    expect(() => new MatchingEngine({ ...DEFAULT_ENGINE_CONFIG, surge: { ...DEFAULT_ENGINE_CONFIG.surge, endUtilizationBps: 9_000 } })).toThrow(/end thresholds/);
    const off = market({ ...CONFIG, weights: { ...CONFIG.weights, reservedLiquidity: 0 } });
    for (let i = 1; i <= 6; i++) off.submitJob(job({ jobId: `burst-${i}`, submittedAtMs: 30_000 }));
    expect(off.marketTick(MIN).surgeChanges).toHaveLength(1);
    expect(off.matchPending(MIN, 1)[0]!.nodeId).toBe('free-1');
  });
});
