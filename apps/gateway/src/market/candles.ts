import { DomainError } from '@starminer/domain';
import { describeViolations, LIMITS, type PriceCandleIntervalSec, type Violation } from '@starminer/events';

/**
 * A market's price history as candles, from its price points: pure. A market's price is a step
 * function (it holds from one PriceChanged to the next), so a candle is what the price did in its
 * interval: where it stood at the start (open: the close before it), its highest and lowest, and
 * where it stood at the end (close). An interval with no change is a flat candle at the previous
 * close, so the series is continuous; intervals before the market's first price are left out.
 */

/** One price of the market, as the log set it: when, in which order, and what a GPU-hour cost in the tier asked. */
export interface PricePoint {
  readonly atMs: number;
  /** the log sequence: orders points of the same instant */
  readonly seq: number;
  readonly priceWeiPerGpuHour: bigint;
  readonly utilizationMultiplierBps: number;
}

/** The intervals asked: from `fromMs` (an interval's start) in steps of `intervalSec`, each starting before `toMs`. */
export interface CandleWindow {
  readonly fromMs: number;
  readonly toMs: number;
  readonly intervalSec: PriceCandleIntervalSec;
  /** how many intervals start in [fromMs, toMs): at most LIMITS.priceCandlesMax */
  readonly count: number;
}

export interface PriceCandle {
  readonly startAt: string;
  readonly openWeiPerGpuHour: string;
  readonly highWeiPerGpuHour: string;
  readonly lowWeiPerGpuHour: string;
  readonly closeWeiPerGpuHour: string;
  readonly utilizationMultiplierBps: number;
}

const refused = (violation: Violation): DomainError => new DomainError('VALIDATION_FAILED', describeViolations([violation]), { violations: [violation] });

/**
 * The window of a price history request, given the time now (from the edge). Intervals are aligned
 * to the Unix epoch (a day's candle starts at 00:00 UTC), so the same interval reads the same from
 * any request. `to` (default now; later than now reads as now) ends the series: the last candle is
 * the one holding the instant just before it, partial while it is the current one. `from` (default:
 * the last `candlesMax` intervals up to `to`) starts it at the interval holding it. Refuses, naming
 * the field, a `from` not before `to` and a window of more than `candlesMax` intervals.
 */
export function candleWindow(q: { intervalSec: PriceCandleIntervalSec; from?: string; to?: string }, nowMs: number, candlesMax: number = LIMITS.priceCandlesMax): CandleWindow {
  const intervalMs = q.intervalSec * 1000;
  const toMs = Math.min(q.to === undefined ? nowMs : Date.parse(q.to), nowMs);
  const lastStartMs = Math.ceil(toMs / intervalMs) * intervalMs - intervalMs;
  if (q.from !== undefined && Date.parse(q.from) >= toMs) {
    throw refused({ field: 'query.from', message: `must be before to (${new Date(toMs).toISOString()}; a later to, or none, reads as now)` });
  }
  const fromMs = q.from === undefined ? lastStartMs - (candlesMax - 1) * intervalMs : Math.floor(Date.parse(q.from) / intervalMs) * intervalMs;
  const count = (lastStartMs - fromMs) / intervalMs + 1;
  if (count > candlesMax) {
    throw refused({
      field: 'query.from',
      message: `the window from ${new Date(fromMs).toISOString()} to ${new Date(toMs).toISOString()} holds ${count} candles of ${q.intervalSec} s: narrow it or take a longer intervalSec`,
      limit: candlesMax,
    });
  }
  return { fromMs, toMs, intervalSec: q.intervalSec, count };
}

const byTime = (a: PricePoint, b: PricePoint): number => a.atMs - b.atMs || a.seq - b.seq;
const maxOf = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const minOf = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/**
 * The candles of `window`, oldest first, from the market's price points: those in the window, and
 * any before it (the last of them is where the price stood at its start). Points at or after
 * `toMs` are not shown. Each candle's open is the close before it (the first point's price for the
 * market's first candle), its high and low take in the open, and its multiplier is the one at the
 * close. What it needs of the points of one interval is the first, the last, the highest and the
 * lowest (the rest change nothing), so a caller may hand only those.
 */
export function priceCandles(points: readonly PricePoint[], window: CandleWindow): PriceCandle[] {
  const intervalMs = window.intervalSec * 1000;
  const sorted = [...points].sort(byTime);
  let last: PricePoint | undefined;
  const inIntervals: PricePoint[][] = Array.from({ length: window.count }, () => []);
  for (const p of sorted) {
    if (p.atMs < window.fromMs) last = p;
    else if (p.atMs < window.toMs) inIntervals[Math.floor((p.atMs - window.fromMs) / intervalMs)]!.push(p);
  }
  const candles: PriceCandle[] = [];
  for (const [i, changes] of inIntervals.entries()) {
    const first = last ?? changes[0];
    if (!first) continue; // before the market's first price
    const open = first.priceWeiPerGpuHour;
    let high = open;
    let low = open;
    for (const c of changes) {
      high = maxOf(high, c.priceWeiPerGpuHour);
      low = minOf(low, c.priceWeiPerGpuHour);
    }
    last = changes[changes.length - 1] ?? first;
    candles.push({
      startAt: new Date(window.fromMs + i * intervalMs).toISOString(),
      openWeiPerGpuHour: open.toString(),
      highWeiPerGpuHour: high.toString(),
      lowWeiPerGpuHour: low.toString(),
      closeWeiPerGpuHour: last.priceWeiPerGpuHour.toString(),
      utilizationMultiplierBps: last.utilizationMultiplierBps,
    });
  }
  return candles;
}
