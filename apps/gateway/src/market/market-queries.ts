import { Injectable } from '@nestjs/common';
import { IsNull, Not, type EntityManager, type FindOptionsWhere } from 'typeorm';
import { LIMITS, type PriceHistoryQuery } from '@starminer/events';
import { DEFAULT_ENGINE_CONFIG, priceWeiPerGpuHour } from '@starminer/matching';
import { ServiceRuntime, tableOf } from '@starminer/service-kit';
import { JobView, MarketPricePoint, MarketPriceView, MarketSurgeView, NodeView } from '../views/entities';
import { candleWindow, priceCandles, type PriceCandle, type PricePoint } from './candles';
import { decodeCursor, encodeCursor, priceBoard, surgeOf, type MarketKey, type PriceBoardRow, type SurgingMarket } from './prices';
import { matchesPerSecond, matchSeconds, type MatchesPerSecond } from './stats';

export interface PriceHistoryAnswer {
  gpuModel: string;
  region: string;
  tier: PriceHistoryQuery['tier'];
  intervalSec: PriceHistoryQuery['intervalSec'];
  candles: PriceCandle[];
}

export interface MarketStatsAnswer {
  at: string;
  supply: MarketSupply[];
  matches: MatchesPerSecond;
}

/** One market's supply as the stats show it, with its surge. */
export interface MarketSupply extends MarketKey {
  nodesOnline: number;
  gpusOnline: number;
  nodesRegistered: number;
  surge: { sinceAt: string } | null;
}

/** A price point as read back (pg's text of bigint and numeric). */
interface PointRow {
  seq: string;
  at: Date;
  base: string;
  multiplierBps: number;
}

/**
 * The public view of the market: the price board, each market's price history and the market's
 * live numbers, from the gateway's read model (the supply: nodes/).
 */
@Injectable()
export class MarketQueries {
  constructor(private readonly rt: ServiceRuntime) {}

  async prices(q: { gpuModel?: string; region?: string; limit?: number; cursor?: string }): Promise<{ markets: PriceBoardRow[]; nextCursor: string | null }> {
    const limit = q.limit ?? LIMITS.pageSizeDefault;
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const nodeFilter: FindOptionsWhere<NodeView> = { ...(q.gpuModel ? { gpuModel: q.gpuModel } : {}), ...(q.region ? { region: q.region } : {}) };
    const priceFilter: FindOptionsWhere<MarketPriceView> = { ...(q.gpuModel ? { gpuClass: q.gpuModel } : {}), ...(q.region ? { region: q.region } : {}) };
    const supply: MarketKey[] = await this.rt.db
      .getRepository(NodeView)
      .createQueryBuilder('n')
      .select('n.gpuModel', 'gpuModel')
      .addSelect('n.region', 'region')
      .where(nodeFilter)
      .distinct(true)
      .getRawMany();
    // the engine names a market's GPU model its GPU class; the board says gpuModel
    const priced = (await this.rt.db.getRepository(MarketPriceView).find({ where: priceFilter })).map((p) => ({ ...p, gpuModel: p.gpuClass }));
    // the markets in surge now (one row per market, as the price rows)
    const surgeFilter: FindOptionsWhere<MarketSurgeView> = { ...(q.gpuModel ? { gpuClass: q.gpuModel } : {}), ...(q.region ? { region: q.region } : {}), surgeSince: Not(IsNull()) };
    const surging: SurgingMarket[] = (await this.rt.db.getRepository(MarketSurgeView).find({ where: surgeFilter })).map((s) => ({
      gpuModel: s.gpuClass,
      region: s.region,
      since: s.surgeSince!,
    }));
    const { rows, next } = priceBoard(supply, priced, DEFAULT_ENGINE_CONFIG.pricing, { limit, after }, surging);
    return { markets: rows, nextCursor: next ? encodeCursor(next) : null };
  }

  /** GET /v1/market/prices/history: readPriceHistory on this replica's views. */
  priceHistory(q: PriceHistoryQuery, nowMs = Date.now()): Promise<PriceHistoryAnswer> {
    return readPriceHistory(this.rt.db.manager, q, nowMs);
  }

  /** GET /v1/market/stats, but the queues (JobQueries has them): readMarketStats on this replica's views. */
  stats(nowMs = Date.now()): Promise<MarketStatsAnswer> {
    return readMarketStats(this.rt.db.manager, nowMs);
  }
}

/**
 * One market's price of a GPU-hour in one tier as candles (candles.ts), from its price points:
 * two bounded reads, whatever the window: the last point before it (where the price stood at
 * its start), and of the points in it, per interval only the first, the last, the highest and
 * the lowest (at most 4 × LIMITS.priceCandlesMax rows). A market with no points has no candles.
 */
export async function readPriceHistory(em: EntityManager, q: PriceHistoryQuery, nowMs: number): Promise<PriceHistoryAnswer> {
  const window = candleWindow(q, nowMs);
  const intervalMs = window.intervalSec * 1000;
  const t = tableOf(em, MarketPricePoint);
  const columns = `${t.col('seq')} AS seq, ${t.col('at')} AS at, ${t.col('basePriceWeiPerGpuHour')} AS base, ${t.col('multiplierBps')} AS "multiplierBps"`;
  const market = `${t.col('gpuClass')} = $1 AND ${t.col('region')} = $2`;
  const from = new Date(window.fromMs);
  const before = (await em.query(`SELECT ${columns} FROM ${t.name} WHERE ${market} AND ${t.col('at')} < $3 ORDER BY ${t.col('at')} DESC, ${t.col('seq')} DESC LIMIT 1`, [
    q.gpuModel,
    q.region,
    from,
  ])) as PointRow[];
  const within = (await em.query(
    `WITH p AS (SELECT ${columns} FROM ${t.name} WHERE ${market} AND ${t.col('at')} >= $3 AND ${t.col('at')} < $4), ` +
      `w AS (SELECT p.*, floor((extract(epoch FROM p.at) * 1000 - $5::numeric) / $6::numeric) AS b, p.base * p."multiplierBps" AS v FROM p), ` +
      `r AS (SELECT w.*, ` +
      `row_number() OVER (PARTITION BY b ORDER BY at, seq) AS first_rn, row_number() OVER (PARTITION BY b ORDER BY at DESC, seq DESC) AS last_rn, ` +
      `row_number() OVER (PARTITION BY b ORDER BY v DESC, at, seq) AS high_rn, row_number() OVER (PARTITION BY b ORDER BY v, at, seq) AS low_rn FROM w) ` +
      `SELECT seq, at, base, "multiplierBps" FROM r WHERE first_rn = 1 OR last_rn = 1 OR high_rn = 1 OR low_rn = 1 ORDER BY at, seq`,
    [q.gpuModel, q.region, from, new Date(window.toMs), window.fromMs, intervalMs],
  )) as PointRow[];
  const tierMultiplierBps = DEFAULT_ENGINE_CONFIG.pricing.tierMultiplierBps[q.tier];
  const points = [...before, ...within].map(
    (r): PricePoint => ({
      atMs: new Date(r.at).getTime(),
      seq: Number(r.seq),
      priceWeiPerGpuHour: priceWeiPerGpuHour(BigInt(r.base), tierMultiplierBps, r.multiplierBps),
      utilizationMultiplierBps: r.multiplierBps,
    }),
  );
  return { gpuModel: q.gpuModel, region: q.region, tier: q.tier, intervalSec: q.intervalSec, candles: priceCandles(points, window) };
}

/**
 * The supply per market (at most LIMITS.marketStatsMarketsMax markets, in (gpuModel, region)
 * order) with each market's surge, and the matches of the last minute per second, by the engine's
 * match time: one grouped read each (the job view's matchedAt index holds the minute's matches;
 * the surges are joined by their key to the markets listed).
 */
export async function readMarketStats(em: EntityManager, nowMs: number): Promise<MarketStatsAnswer> {
  const nodes = tableOf(em, NodeView);
  const surges = tableOf(em, MarketSurgeView);
  const jobs = tableOf(em, JobView);
  const seconds = matchSeconds(nowMs);
  const [supply, matched] = await Promise.all([
    em.query(
      `WITH m AS (SELECT ${nodes.col('gpuModel')} AS "gpuModel", ${nodes.col('region')} AS region, ` +
        `count(*) FILTER (WHERE ${nodes.col('online')}) AS "nodesOnline", coalesce(sum(${nodes.col('gpuCount')}) FILTER (WHERE ${nodes.col('online')}), 0) AS "gpusOnline", count(*) AS "nodesRegistered" ` +
        `FROM ${nodes.name} GROUP BY 1, 2 ORDER BY ${nodes.col('gpuModel')} COLLATE "C", ${nodes.col('region')} COLLATE "C" LIMIT $1) ` +
        `SELECT m.*, s.${surges.col('surgeSince')} AS "surgeSince" FROM m LEFT JOIN ${surges.name} s ON s.${surges.col('gpuClass')} = m."gpuModel" AND s.${surges.col('region')} = m.region ` +
        `ORDER BY m."gpuModel" COLLATE "C", m.region COLLATE "C"`,
      [LIMITS.marketStatsMarketsMax],
    ) as Promise<{ gpuModel: string; region: string; nodesOnline: string; gpusOnline: string; nodesRegistered: string; surgeSince: Date | null }[]>,
    em.query(
      `SELECT floor(extract(epoch FROM ${jobs.col('matchedAt')})) * 1000 AS "secondMs", count(*) AS count FROM ${jobs.name} ` +
        `WHERE ${jobs.col('matchedAt')} >= $1 AND ${jobs.col('matchedAt')} < $2 GROUP BY 1`,
      [new Date(seconds.fromMs), new Date(seconds.toMs)],
    ) as Promise<{ secondMs: string; count: string }[]>,
  ]);
  return {
    at: new Date(nowMs).toISOString(),
    supply: supply.map((r) => ({
      gpuModel: r.gpuModel,
      region: r.region,
      nodesOnline: Number(r.nodesOnline),
      gpusOnline: Number(r.gpusOnline),
      nodesRegistered: Number(r.nodesRegistered),
      surge: surgeOf(r.surgeSince),
    })),
    matches: matchesPerSecond(
      matched.map((r) => ({ secondMs: Number(r.secondMs), count: Number(r.count) })),
      nowMs,
    ),
  };
}
