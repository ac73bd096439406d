import type { z } from 'zod';
import { DomainError } from '@starminer/domain';
import type { marketPriceSchema } from '@starminer/events';
import { priceWeiPerGpuHour, TIERS, URGENCIES, type PricingConfig } from '@starminer/matching';

/** One market: a GPU model (the engine's GPU class) in a region. */
export interface MarketKey {
  gpuModel: string;
  region: string;
}

export interface PricedMarket extends MarketKey {
  multiplierBps: number;
  utilizationBps: number;
  smoothedUtilizationBps: number;
  changedAt: Date;
}

/** A market in surge: when it started (market_surges.surgeSince). */
export interface SurgingMarket extends MarketKey {
  since: Date;
}

/** A market's surge as the API shows it (`MarketSurge`), or null when it is not in surge. Pure. */
export function surgeOf(since: Date | null | undefined): { sinceAt: string } | null {
  return since ? { sinceAt: since.toISOString() } : null;
}

/**
 * One row of the price board: what one GPU-hour costs in a (GPU model, region) market now, per
 * tier, with every term of the price shown: base × tier multiplier × utilization multiplier.
 * A job's quote is fixed at match from the same terms.
 */
export type PriceBoardRow = z.input<typeof marketPriceSchema>;

const keyOf = (m: MarketKey): string => JSON.stringify([m.gpuModel, m.region]);

export function encodeCursor(m: MarketKey): string {
  return Buffer.from(keyOf(m)).toString('base64url');
}

export function decodeCursor(cursor: string): MarketKey {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return { gpuModel: v[0], region: v[1] };
  } catch {
    // fall through
  }
  throw new DomainError('BAD_CURSOR', 'cursor is not a nextCursor of this endpoint');
}

const before = (a: MarketKey, b: MarketKey): number => (a.gpuModel !== b.gpuModel ? (a.gpuModel < b.gpuModel ? -1 : 1) : a.region < b.region ? -1 : a.region > b.region ? 1 : 0);

/**
 * The board: every market some node is registered in or that has had a price move, with a known
 * base price, ordered by (gpuModel, region), after `cursor`, at most `limit` rows. A market with no
 * price move yet is at multiplier 1.0 (10,000 bps). A market of `surging` shows its surge (a surge
 * alone does not put a market on the board).
 */
export function priceBoard(
  supply: readonly MarketKey[],
  priced: readonly PricedMarket[],
  pricing: PricingConfig,
  page: { limit: number; after?: MarketKey },
  surging: readonly SurgingMarket[] = [],
): { rows: PriceBoardRow[]; next: MarketKey | null } {
  const byKey = new Map<string, PricedMarket>(priced.map((p) => [keyOf(p), p]));
  const surgeSince = new Map<string, Date>(surging.map((s) => [keyOf(s), s.since]));
  const markets = new Map<string, MarketKey>();
  for (const m of [...supply, ...priced]) if (pricing.basePricesWeiPerGpuHour[m.gpuModel] !== undefined) markets.set(keyOf(m), { gpuModel: m.gpuModel, region: m.region });
  const ordered = [...markets.values()].sort(before).filter((m) => !page.after || before(m, page.after) > 0);
  const rows = ordered.slice(0, page.limit).map((m): PriceBoardRow => {
    const p = byKey.get(keyOf(m));
    const base = pricing.basePricesWeiPerGpuHour[m.gpuModel]!;
    const multiplierBps = p?.multiplierBps ?? 10_000;
    return {
      gpuModel: m.gpuModel,
      region: m.region,
      basePriceWeiPerGpuHour: base.toString(),
      utilizationMultiplierBps: multiplierBps,
      utilizationBps: p?.utilizationBps ?? null,
      changedAt: p ? p.changedAt.toISOString() : null,
      surge: surgeOf(surgeSince.get(keyOf(m))),
      tiers: TIERS.map((tier) => ({
        tier,
        urgencies: URGENCIES.filter((u) => pricing.urgencyTier[u] === tier),
        tierMultiplierBps: pricing.tierMultiplierBps[tier],
        priceWeiPerGpuHour: priceWeiPerGpuHour(base, pricing.tierMultiplierBps[tier], multiplierBps).toString(),
      })),
    };
  });
  const last = rows[rows.length - 1];
  return { rows, next: ordered.length > page.limit && last ? { gpuModel: last.gpuModel, region: last.region } : null };
}
