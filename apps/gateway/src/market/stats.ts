import { MARKET_STATS_MATCH_SECONDS } from '@starminer/events';

/**
 * The market's live numbers as `GET /v1/market/stats` shows them: pure. Matches are counted per
 * whole second of the engine's match time, over the last MARKET_STATS_MATCH_SECONDS seconds, the
 * last of them the current (partial) one.
 */

/** The seconds counted: from `fromMs` (a second's start) for MARKET_STATS_MATCH_SECONDS seconds, up to and with the one holding now. */
export function matchSeconds(nowMs: number): { fromMs: number; toMs: number } {
  const currentMs = Math.floor(nowMs / 1000) * 1000;
  return { fromMs: currentMs - (MARKET_STATS_MATCH_SECONDS - 1) * 1000, toMs: currentMs + 1000 };
}

export interface MatchesPerSecond {
  readonly lastMinute: number;
  readonly perSecond: { at: string; count: number }[];
}

/**
 * Every second of `matchSeconds(nowMs)`, oldest first, with the matches counted in it (0 where
 * none), and their sum. `counted`: matches per second start (ms), as the read model groups them;
 * seconds outside the window are not shown.
 */
export function matchesPerSecond(counted: readonly { secondMs: number; count: number }[], nowMs: number): MatchesPerSecond {
  const { fromMs } = matchSeconds(nowMs);
  const counts = new Array<number>(MARKET_STATS_MATCH_SECONDS).fill(0);
  for (const c of counted) {
    const i = (c.secondMs - fromMs) / 1000;
    if (Number.isInteger(i) && i >= 0 && i < MARKET_STATS_MATCH_SECONDS) counts[i]! += c.count;
  }
  return {
    lastMinute: counts.reduce((a, b) => a + b, 0),
    perSecond: counts.map((count, i) => ({ at: new Date(fromMs + i * 1000).toISOString(), count })),
  };
}
