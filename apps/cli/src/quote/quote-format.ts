import { agpu, bps, duration, fields, NONE, printable, table } from '../shared/output';

/** The terms of a price, as the API gives them (PriceTerms). */
export interface PriceTermsView {
  gpuModel: string;
  region: string;
  tier: string;
  basePriceWeiPerGpuHour: string;
  tierMultiplierBps: number;
  utilizationMultiplierBps: number;
  priceWeiPerGpuHour: string;
  gpuCount: number;
  runtimeSec: number;
  costWei: string;
}

/** What the CLI shows of a quote (the SDK's Quote has these and more). */
export interface QuoteView {
  feasible: boolean;
  price: PriceTermsView | null;
  nodeId?: string | null;
  markets: readonly { price: PriceTermsView; nodesEligible: number; nodesFree: number; freeGpus: number; utilizationBps?: number }[];
  marketsTotal?: number;
  expectedWaitSec: number | null;
  waitBasis?: string;
  queuedAhead?: number;
  reasons: readonly { code: string; message: string }[];
  nearest: readonly { change: string; value: string; price: PriceTermsView; nodeId?: string }[];
  quotedAt?: string;
}

/** `1.2 AGPU/GPU-h (H100 eu-west, standard: 1 AGPU x1.2 x1)`: the price and how it is made. */
export function priceLine(p: PriceTermsView): string {
  return `${agpu(p.priceWeiPerGpuHour)} per GPU-hour (${p.gpuModel} ${p.region}, ${p.tier}: base ${agpu(p.basePriceWeiPerGpuHour)} ${bps(p.tierMultiplierBps)} tier ${bps(p.utilizationMultiplierBps)} utilization)`;
}

const costLine = (p: PriceTermsView): string => `${agpu(p.costWei)} (${p.gpuCount} GPU${p.gpuCount === 1 ? '' : 's'} for ${duration(p.runtimeSec)})`;

/** What a wait estimate rests on, in words. */
export function waitLine(q: Pick<QuoteView, 'expectedWaitSec' | 'waitBasis' | 'queuedAhead'>): string {
  const basis = q.waitBasis ? ` (${q.waitBasis.replaceAll('-', ' ')})` : '';
  const ahead = q.queuedAhead ? `, ${q.queuedAhead} queued ahead` : '';
  return q.expectedWaitSec === null ? `unknown${basis}${ahead}` : `about ${duration(q.expectedWaitSec)}${basis}${ahead}`;
}

/** The value of a nearest option for people: a budget in AGPU, a region or GPU model as it is. */
export const alternativeValue = (change: string, value: string): string => (change === 'budget' ? agpu(value) : value);

/** `starminer quote`: the price now and where, or why not and the nearest option. */
export function quoteText(q: QuoteView): string {
  const head = fields([
    ['feasible', q.feasible ? 'yes' : 'no'],
    ['price', q.price ? priceLine(q.price) : NONE],
    ['cost', q.price ? costLine(q.price) : undefined],
    ['node', q.nodeId ?? undefined],
    ['wait', waitLine(q)],
  ]);
  const parts = [head];
  if (q.reasons.length > 0) parts.push(`why not now:\n${q.reasons.map((r) => `  ${printable(`${r.code}: ${r.message}`)}`).join('\n')}`);
  if (q.nearest.length > 0) {
    parts.push(
      `nearest options:\n${table(
        ['CHANGE', 'TO', 'PRICE/GPU-H', 'COST', 'MARKET', 'NODE'],
        q.nearest.map((n) => [n.change, alternativeValue(n.change, n.value), agpu(n.price.priceWeiPerGpuHour), agpu(n.price.costWei), `${n.price.gpuModel} ${n.price.region}`, n.nodeId]),
      )}`,
    );
  }
  if (q.markets.length > 0) {
    const more = q.marketsTotal !== undefined && q.marketsTotal > q.markets.length ? ` (the ${q.markets.length} cheapest of ${q.marketsTotal})` : '';
    parts.push(
      `markets that could run it${more}:\n${table(
        ['GPU', 'REGION', 'TIER', 'PRICE/GPU-H', 'COST', 'NODES', 'FREE', 'FREE GPUS'],
        q.markets.map((m) => [m.price.gpuModel, m.price.region, m.price.tier, agpu(m.price.priceWeiPerGpuHour), agpu(m.price.costWei), m.nodesEligible, m.nodesFree, m.freeGpus]),
      )}`,
    );
  }
  return parts.join('\n\n');
}
