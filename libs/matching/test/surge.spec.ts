import { applySurgeChange, DEFAULT_ENGINE_CONFIG, initialSurgeState, surgeTick, type SurgeChange, type SurgeConfig, type SurgeFigures, type SurgeState } from '../src';

/** The surge decider, branch by branch: given a state, when a tick brings these figures, then this change (or none) and this state. */
const CONFIG: SurgeConfig = { startUtilizationBps: 8_500, endUtilizationBps: 7_500, startQueueDepth: 100, endQueueDepth: 20, minDwellMs: 180_000 };
const MARKET = { gpuClass: 'H100', region: 'eu-west' };
const MIN = 60_000;

const calm: SurgeState = initialSurgeState();
const surging = (sinceMs: number, calmSinceMs: number | null = null): SurgeState => ({ status: 'surging', sinceMs, calmSinceMs, changedAtMs: sinceMs });
const figures = (smoothedUtilizationBps: number, queueDepth: number): SurgeFigures => ({ smoothedUtilizationBps, queueDepth });

function given(state: SurgeState) {
  return {
    when: (atMs: number, f: SurgeFigures) => {
      const out = surgeTick(state, { ...MARKET, atMs, figures: f }, CONFIG);
      return {
        then: (change: SurgeChange | null, next: SurgeState) => {
          expect(out.change).toEqual(change);
          expect(out.state).toEqual(next);
        },
      };
    },
  };
}

describe('surge decider: per market, at reprice ticks, with hysteresis', () => {
  it('the defaults have hysteresis (end thresholds below the start ones) and a dwell', () => {
    const s = DEFAULT_ENGINE_CONFIG.surge;
    expect(s.endUtilizationBps).toBeLessThan(s.startUtilizationBps);
    expect(s.endQueueDepth).toBeLessThan(s.startQueueDepth);
    expect(s.minDwellMs).toBeGreaterThan(0);
  });

  describe('given a calm market', () => {
    it('when both figures are below the start thresholds, then nothing changes', () => {
      given(calm).when(MIN, figures(8_499, 99)).then(null, calm);
    });

    it('when smoothed utilization reaches the start threshold, then SurgeStarted (trigger utilization)', () => {
      given(calm)
        .when(MIN, figures(8_500, 3))
        .then({ type: 'SurgeStarted', ...MARKET, atMs: MIN, trigger: 'utilization', smoothedUtilizationBps: 8_500, queueDepth: 3 }, surging(MIN));
    });

    it('when the queue depth reaches the start depth, then SurgeStarted (trigger queue-depth), however low utilization is', () => {
      given(calm)
        .when(MIN, figures(1_000, 100))
        .then({ type: 'SurgeStarted', ...MARKET, atMs: MIN, trigger: 'queue-depth', smoothedUtilizationBps: 1_000, queueDepth: 100 }, surging(MIN));
    });

    it('when both reach theirs, then SurgeStarted (trigger both)', () => {
      given(calm)
        .when(MIN, figures(9_000, 500))
        .then({ type: 'SurgeStarted', ...MARKET, atMs: MIN, trigger: 'both', smoothedUtilizationBps: 9_000, queueDepth: 500 }, surging(MIN));
    });

    it('when the figures are between the end and start thresholds (a surge that ended), then it stays calm', () => {
      given({ status: 'calm', changedAtMs: MIN }).when(5 * MIN, figures(8_000, 50)).then(null, { status: 'calm', changedAtMs: MIN });
    });
  });

  describe('given a market in surge', () => {
    it('when the figures fall below the start thresholds but not below both end thresholds, then it stays in surge (hysteresis)', () => {
      given(surging(MIN)).when(2 * MIN, figures(8_000, 10)).then(null, surging(MIN));
      given(surging(MIN)).when(2 * MIN, figures(7_000, 20)).then(null, surging(MIN));
    });

    it('when both fall below their end thresholds, then the dwell starts and it stays in surge', () => {
      given(surging(MIN)).when(2 * MIN, figures(7_499, 19)).then(null, surging(MIN, 2 * MIN));
    });

    it('when calm but for less than the dwell, then it stays in surge, the dwell running from its start', () => {
      given(surging(MIN, 2 * MIN)).when(4 * MIN, figures(100, 0)).then(null, surging(MIN, 2 * MIN));
    });

    it('when calm for the whole dwell, then SurgeEnded, with when it started and since when it was calm', () => {
      given(surging(MIN, 2 * MIN))
        .when(5 * MIN, figures(7_000, 5))
        .then({ type: 'SurgeEnded', ...MARKET, atMs: 5 * MIN, startedAtMs: MIN, calmSinceMs: 2 * MIN, smoothedUtilizationBps: 7_000, queueDepth: 5 }, { status: 'calm', changedAtMs: 5 * MIN });
    });

    it('when a tick inside the dwell is not calm, then the dwell starts again', () => {
      given(surging(MIN, 2 * MIN)).when(4 * MIN, figures(7_600, 0)).then(null, surging(MIN));
      given(surging(MIN, 2 * MIN)).when(4 * MIN, figures(0, 20)).then(null, surging(MIN));
    });

    it('when a dwell of 0 is configured, then the first calm tick ends it', () => {
      const out = surgeTick(surging(MIN), { ...MARKET, atMs: 2 * MIN, figures: figures(0, 0) }, { ...CONFIG, minDwellMs: 0 });
      expect(out.change?.type).toBe('SurgeEnded');
      expect(out.state.status).toBe('calm');
    });
  });

  describe('applying a change from the log (replay, another replica, its own coming back)', () => {
    const started: SurgeChange = { type: 'SurgeStarted', ...MARKET, atMs: MIN, trigger: 'utilization', smoothedUtilizationBps: 9_000, queueDepth: 0 };
    const ended: SurgeChange = { type: 'SurgeEnded', ...MARKET, atMs: 5 * MIN, startedAtMs: MIN, calmSinceMs: 2 * MIN, smoothedUtilizationBps: 7_000, queueDepth: 0 };

    it('given a calm market, when SurgeStarted is applied, then it is in surge since then', () => {
      expect(applySurgeChange(calm, started)).toEqual(surging(MIN));
    });

    it('given the engine decided the surge itself, when its own SurgeStarted comes back, then its dwell clock is kept', () => {
      const mine = surging(MIN, 3 * MIN);
      expect(applySurgeChange(mine, started)).toBe(mine);
    });

    it('given a surge, when SurgeEnded is applied, then it is calm', () => {
      expect(applySurgeChange(surging(MIN), ended)).toEqual({ status: 'calm', changedAtMs: 5 * MIN });
    });

    it('given the surge already ended, when the older SurgeStarted comes back late, then it stays calm', () => {
      const after = { status: 'calm', changedAtMs: 5 * MIN } as const;
      expect(applySurgeChange(after, started)).toBe(after);
    });

    it('replaying the decided changes from the initial state gives the decided state', () => {
      let state = initialSurgeState();
      const changes: SurgeChange[] = [];
      const ticks = [figures(9_000, 0), figures(7_000, 0), figures(7_000, 0), figures(7_000, 0), figures(7_000, 0), figures(2_000, 200)];
      ticks.forEach((f, i) => {
        const out = surgeTick(state, { ...MARKET, atMs: (i + 1) * MIN, figures: f }, CONFIG);
        state = out.state;
        if (out.change) changes.push(out.change);
      });
      expect(changes.map((c) => [c.type, c.atMs])).toEqual([
        ['SurgeStarted', MIN],
        ['SurgeEnded', 5 * MIN],
        ['SurgeStarted', 6 * MIN],
      ]);
      expect(changes.reduce(applySurgeChange, initialSurgeState())).toEqual(state);
    });
  });
});
