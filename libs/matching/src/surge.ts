import type { SurgeConfig } from './config';

/**
 * The surge decider of one market (issue 16): pure, evaluated at each reprice tick from the
 * market's own figures, so that every engine folding the same log decides the same. The log holds
 * the outcome (SurgeStarted / SurgeEnded); the dwell clock (`calmSinceMs`) is the engine's own
 * bookkeeping, kept in its snapshot: an engine rebuilt from the log alone starts it again at its
 * next tick, so after such a restart a surge can only end later, never sooner.
 *
 * - calm: starts when smoothed utilization >= startUtilizationBps OR queue depth >= startQueueDepth;
 * - surging: ends when both are below their end thresholds (utilization < endUtilizationBps AND
 *   depth < endQueueDepth) at every tick for at least minDwellMs; a tick that is not calm resets
 *   the dwell.
 */
export type SurgeState =
  | { readonly status: 'calm'; readonly changedAtMs: number | null }
  | { readonly status: 'surging'; readonly sinceMs: number; readonly calmSinceMs: number | null; readonly changedAtMs: number };

/** A market's figures at a tick. */
export interface SurgeFigures {
  /** smoothed utilization after the tick's price step, basis points */
  smoothedUtilizationBps: number;
  /** queued jobs whose GPU models and regions accept the market (surge.ts's proxy: see queueDepthByMarket in engine.ts) */
  queueDepth: number;
}

export type SurgeTrigger = 'utilization' | 'queue-depth' | 'both';

/** A surge starting or ending in one market: an event on the log (`trade.market.<gpuClass>`). */
export type SurgeChange =
  | ({ type: 'SurgeStarted'; gpuClass: string; region: string; atMs: number; trigger: SurgeTrigger } & SurgeFigures)
  | ({ type: 'SurgeEnded'; gpuClass: string; region: string; atMs: number; startedAtMs: number; calmSinceMs: number } & SurgeFigures);

export const initialSurgeState = (): SurgeState => ({ status: 'calm', changedAtMs: null });

/** Which start threshold the figures reach, or null. */
export function startTrigger(figures: SurgeFigures, config: SurgeConfig): SurgeTrigger | null {
  const byUtilization = figures.smoothedUtilizationBps >= config.startUtilizationBps;
  const byDepth = figures.queueDepth >= config.startQueueDepth;
  return byUtilization && byDepth ? 'both' : byUtilization ? 'utilization' : byDepth ? 'queue-depth' : null;
}

/** Both figures below their end thresholds. */
export const endConditionsHold = (figures: SurgeFigures, config: SurgeConfig): boolean =>
  figures.smoothedUtilizationBps < config.endUtilizationBps && figures.queueDepth < config.endQueueDepth;

/**
 * One reprice tick of one market: the state after it, and the change to put on the log (null: none).
 * Time comes in with the tick.
 */
export function surgeTick(
  state: SurgeState,
  tick: { gpuClass: string; region: string; atMs: number; figures: SurgeFigures },
  config: SurgeConfig,
): { state: SurgeState; change: SurgeChange | null } {
  const { gpuClass, region, atMs, figures } = tick;
  switch (state.status) {
    case 'calm': {
      const trigger = startTrigger(figures, config);
      if (trigger === null) return { state, change: null };
      const change: SurgeChange = { type: 'SurgeStarted', gpuClass, region, atMs, trigger, ...figures };
      return { state: applySurgeChange(state, change), change };
    }
    case 'surging': {
      if (!endConditionsHold(figures, config)) return { state: state.calmSinceMs === null ? state : { ...state, calmSinceMs: null }, change: null };
      const calmSinceMs = state.calmSinceMs ?? atMs;
      if (atMs - calmSinceMs < config.minDwellMs) return { state: state.calmSinceMs === calmSinceMs ? state : { ...state, calmSinceMs }, change: null };
      const change: SurgeChange = { type: 'SurgeEnded', gpuClass, region, atMs, startedAtMs: state.sinceMs, calmSinceMs, ...figures };
      return { state: applySurgeChange(state, change), change };
    }
    default:
      return assertNever(state);
  }
}

/**
 * Folds a change into the state: one this engine decided, or one read from the log (replay, another
 * replica's decision, this engine's own coming back). The log is authoritative; a change older than
 * the last one applied (an own event coming back after a later decision) changes nothing, and one
 * that repeats the state (the same event again) keeps the dwell clock.
 */
export function applySurgeChange(state: SurgeState, change: SurgeChange): SurgeState {
  if (state.changedAtMs !== null && change.atMs < state.changedAtMs) return state;
  switch (change.type) {
    case 'SurgeStarted':
      if (state.status === 'surging' && state.sinceMs === change.atMs) return state;
      return { status: 'surging', sinceMs: change.atMs, calmSinceMs: null, changedAtMs: change.atMs };
    case 'SurgeEnded':
      if (state.status === 'calm' && state.changedAtMs === change.atMs) return state;
      return { status: 'calm', changedAtMs: change.atMs };
    default:
      return assertNever(change);
  }
}

function assertNever(x: never): never {
  throw new Error(`unknown surge state or change: ${JSON.stringify(x)}`);
}
