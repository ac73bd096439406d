/**
 * The series the console's charts draw, computed from the API's own fields: cumulative spend of
 * settled jobs, cumulative earnings of a node, price candles. Sums are exact (bigint); each point
 * also carries its chart coordinate (agpuNumber) for drawing.
 */
import type { PriceCandle } from '@starminer/sdk';
import { agpuNumber, toWei } from './format';

export interface CumulativePoint {
  /** ISO instant of the point */
  at: string;
  jobId: string;
  /** this job's amount, wei */
  amountWei: string;
  /** the running total up to and including this job, wei */
  totalWei: string;
  /** the running total in AGPU, for drawing only */
  totalAgpu: number;
}

/** A running total over items with a time and an amount, oldest first; items without either are left out. */
export function cumulative<T>(items: readonly T[], at: (t: T) => string | null | undefined, amount: (t: T) => string | null | undefined, id: (t: T) => string): CumulativePoint[] {
  const dated = items
    .map((t) => ({ t, at: at(t), amount: amount(t) }))
    .filter((x): x is { t: T; at: string; amount: string } => typeof x.at === 'string' && typeof x.amount === 'string' && !Number.isNaN(Date.parse(x.at)))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || id(a.t).localeCompare(id(b.t)));
  let total = 0n;
  return dated.map((x) => {
    total += toWei(x.amount);
    return { at: x.at, jobId: id(x.t), amountWei: x.amount, totalWei: total.toString(), totalAgpu: agpuNumber(total) };
  });
}

/** What a requester has spent: the cost of each settled job at its last update (its settlement). */
export function cumulativeSpend(jobs: readonly { jobId: string; status: string; costWei: string | null; updatedAt: string }[]): CumulativePoint[] {
  return cumulative(
    jobs.filter((j) => j.status === 'settled'),
    (j) => j.updatedAt,
    (j) => j.costWei,
    (j) => j.jobId,
  );
}

/** What a node was paid: each settled job's payment at its settlement. */
export function cumulativeEarnings(jobs: readonly { jobId: string; paidWei: string; settledAt: string | null }[]): CumulativePoint[] {
  return cumulative(
    jobs,
    (j) => j.settledAt,
    (j) => j.paidWei,
    (j) => j.jobId,
  );
}

/** A price candle as getPriceHistory gives it (wei per GPU-hour as decimal strings). */
export type Candle = PriceCandle;

/** Candles as ECharts draws them: times, and [open, close, low, high] per candle (its order), in AGPU per GPU-hour. */
export function candleChartData(candles: readonly Candle[]): { times: string[]; ohlc: [number, number, number, number][]; multiplier: number[] } {
  const sorted = [...candles].sort((a, b) => Date.parse(a.startAt) - Date.parse(b.startAt));
  return {
    times: sorted.map((c) => c.startAt),
    ohlc: sorted.map((c) => [agpuNumber(c.openWeiPerGpuHour), agpuNumber(c.closeWeiPerGpuHour), agpuNumber(c.lowWeiPerGpuHour), agpuNumber(c.highWeiPerGpuHour)]),
    multiplier: sorted.map((c) => c.utilizationMultiplierBps / 10_000),
  };
}

/** Keeps the last `max` samples of a live series (a bounded memory of what was polled). */
export function appendBounded<T>(series: readonly T[], item: T, max: number): T[] {
  const next = [...series, item];
  return next.length > max ? next.slice(next.length - max) : next;
}

/**
 * A running total as chart points that start from zero just before the first (a line needs two
 * points, and the total was zero until then): [time ms, AGPU] pairs.
 */
export function fromZero(points: readonly CumulativePoint[], leadMs = 60_000): [number, number][] {
  if (points.length === 0) return [];
  const first = Date.parse(points[0].at);
  return [[first - leadMs, 0], ...points.map((pt): [number, number] => [Date.parse(pt.at), pt.totalAgpu])];
}
