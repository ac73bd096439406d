import { agpu, bps, instant, table } from '../shared/output';

/** One market of the price board (the SDK's MarketPrice has these and more). */
export interface MarketPriceView {
  gpuModel: string;
  region: string;
  basePriceWeiPerGpuHour: string;
  utilizationMultiplierBps: number;
  utilizationBps?: number | null;
  changedAt?: string | null;
  tiers: readonly { tier: string; urgencies: readonly string[]; tierMultiplierBps: number; priceWeiPerGpuHour: string }[];
}

/** `starminer market prices`: one row per market and tier, the urgencies each tier serves. */
export function pricesTable(markets: readonly MarketPriceView[]): string {
  return table(
    ['GPU', 'REGION', 'TIER', 'URGENCIES', 'PRICE/GPU-H', 'BASE', 'UTILIZATION', 'CHANGED'],
    markets.flatMap((m) =>
      m.tiers.map((t) => [
        m.gpuModel,
        m.region,
        t.tier,
        t.urgencies.join(','),
        agpu(t.priceWeiPerGpuHour),
        agpu(m.basePriceWeiPerGpuHour),
        `${bps(m.utilizationMultiplierBps)}${m.utilizationBps === null || m.utilizationBps === undefined ? '' : ` (${(m.utilizationBps / 100).toFixed(0)}% used)`}`,
        instant(m.changedAt),
      ]),
    ),
  );
}

/** `starminer market queues`: queued jobs per category. */
export function queuesTable(queues: Readonly<Record<string, number>>): string {
  return table(['CATEGORY', 'QUEUED'], Object.entries(queues).map(([category, depth]) => [category, depth]));
}
