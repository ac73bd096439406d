/**
 * A match receipt term by term: each score term's weight, the winner's factor on it (in [0, 1]) and
 * what it contributed (the receipt's score term, already weighted: weight × factor), beside the
 * runner-up's; and the price's terms from base price to cost. Shown as a chart and as a table of
 * the same numbers.
 */
import type { MatchReceipt, PriceTerms } from '@starminer/sdk';
import { agpu, formatAgpuExact, formatDurationSec, formatMultiplierBps, humanize, pricePerGpuHour } from './format';

export interface ReceiptTermRow {
  term: string;
  label: string;
  weight: number;
  /** the factor in [0, 1]: contribution / weight (null where the weight is 0 or the term is absent) */
  winnerScore: number | null;
  /** the receipt's score term as given: weight × factor */
  winnerContribution: number | null;
  runnerUpScore: number | null;
  runnerUpContribution: number | null;
}

export interface ReceiptBreakdown {
  rows: ReceiptTermRow[];
  winnerTotal: number | null;
  runnerUpTotal: number | null;
}

const finite = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
/** The factor behind a weighted term: contribution / weight, where the weight is not 0. */
const factor = (w: number, c: number | null): number | null => (c === null || w === 0 ? null : c / w);

/**
 * The weighted terms, in the receipt's weight order, then any score term without a weight (shown
 * with weight 0). `total` is the score's own total where it gives one (the engine's), not re-summed.
 */
export function receiptTerms(receipt: Pick<MatchReceipt, 'weights' | 'winner' | 'runnerUp'>): ReceiptBreakdown {
  const winner = receipt.winner.score;
  const runner = receipt.runnerUp?.score ?? null;
  const terms = [...Object.keys(receipt.weights)];
  for (const t of Object.keys(winner)) if (t !== 'total' && !terms.includes(t)) terms.push(t);
  const rows = terms.map((term) => {
    const weight = finite(receipt.weights[term]) ?? 0;
    const ws = finite(winner[term]);
    const rs = runner ? finite(runner[term]) : null;
    return { term, label: humanize(term), weight, winnerScore: factor(weight, ws), winnerContribution: ws, runnerUpScore: factor(weight, rs), runnerUpContribution: rs };
  });
  return { rows, winnerTotal: finite(winner.total), runnerUpTotal: runner ? finite(runner.total) : null };
}

export interface PriceTermRow {
  label: string;
  value: string;
  /** the exact figure where the value is rounded */
  exact?: string;
}

/** The price from its terms: base × tier × utilization = price per GPU-hour; × GPUs × hours = cost. */
export function priceTermRows(p: PriceTerms): PriceTermRow[] {
  return [
    { label: 'Market', value: `${p.gpuModel} in ${p.region}` },
    { label: 'Tier', value: humanize(p.tier) },
    { label: 'Base price', value: pricePerGpuHour(p.basePriceWeiPerGpuHour), exact: formatAgpuExact(p.basePriceWeiPerGpuHour) },
    { label: 'Tier multiplier', value: formatMultiplierBps(p.tierMultiplierBps) },
    { label: 'Utilization multiplier', value: formatMultiplierBps(p.utilizationMultiplierBps) },
    { label: 'Price per GPU-hour', value: pricePerGpuHour(p.priceWeiPerGpuHour), exact: formatAgpuExact(p.priceWeiPerGpuHour) },
    { label: 'GPUs', value: String(p.gpuCount) },
    { label: 'Runtime', value: formatDurationSec(p.runtimeSec) },
    { label: 'Cost', value: agpu(p.costWei), exact: formatAgpuExact(p.costWei) },
  ];
}
