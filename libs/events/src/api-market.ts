import { z } from 'zod';
import { apiComponent } from './api-components';
import { marketSurgeSchema, PRICE_TIERS, queuesSchema, weiStringSchema } from './api-answers';
import { LIMITS } from './limits';
import { gpuModelSchema, regionSchema } from './primitives';

/**
 * The public market charts of the v1 API: a market's price over time as candles
 * (`GET /v1/market/prices/history`) and the market's live numbers (`GET /v1/market/stats`).
 */

/** An instant as ISO 8601 with its offset (`...At`, `from`, `to`). */
const instantSchema = z.iso.datetime({ offset: true });

/** The candle widths a price history is built at: a minute, five minutes, an hour, a day. */
export const PRICE_CANDLE_INTERVALS_SEC = [60, 300, 3600, 86400] as const;
export type PriceCandleIntervalSec = (typeof PRICE_CANDLE_INTERVALS_SEC)[number];
export const PRICE_CANDLE_INTERVAL_SEC_DEFAULT: PriceCandleIntervalSec = 60;

/** The seconds `GET /v1/market/stats` counts matches per second over, the last of them the current one. */
export const MARKET_STATS_MATCH_SECONDS = 60;

const intervalSecSchema = z.literal(PRICE_CANDLE_INTERVALS_SEC);

/**
 * `GET /v1/market/prices/history?gpuModel=&region=&tier=&intervalSec=&from=&to=`: one market's
 * price of a GPU-hour in one tier, as candles. `intervalSec` arrives as digits, one of
 * PRICE_CANDLE_INTERVALS_SEC; `from` and `to` as ISO 8601 instants.
 */
export const priceHistoryQuerySchema = z.strictObject({
  gpuModel: gpuModelSchema,
  region: regionSchema,
  tier: z.enum(PRICE_TIERS).default('standard'),
  intervalSec: z
    .enum(PRICE_CANDLE_INTERVALS_SEC.map(String) as [string, ...string[]])
    .transform(Number)
    .pipe(intervalSecSchema)
    .default(PRICE_CANDLE_INTERVAL_SEC_DEFAULT),
  from: instantSchema.optional(),
  to: instantSchema.optional(),
});
export type PriceHistoryQuery = z.output<typeof priceHistoryQuerySchema>;

export const priceCandleSchema = apiComponent(
  'PriceCandle',
  z.strictObject({
    startAt: instantSchema,
    openWeiPerGpuHour: weiStringSchema,
    highWeiPerGpuHour: weiStringSchema,
    lowWeiPerGpuHour: weiStringSchema,
    closeWeiPerGpuHour: weiStringSchema,
    utilizationMultiplierBps: z.number().int().nonnegative().describe('the utilization multiplier at the close (10,000 = 1.0)'),
  }),
  "one interval of a market's price of a GPU-hour in one tier: the price at its start (open), its highest, its lowest and its last (close)",
);

export const priceHistorySchema = apiComponent(
  'PriceHistory',
  z.strictObject({
    gpuModel: gpuModelSchema,
    region: regionSchema,
    tier: z.enum(PRICE_TIERS),
    intervalSec: intervalSecSchema,
    candles: z.array(priceCandleSchema).max(LIMITS.priceCandlesMax),
  }),
  "a market's price candles, oldest first, one per interval from the first at or after the market's first price move up to `to`",
);

export const marketSupplySchema = apiComponent(
  'MarketSupply',
  z.strictObject({
    gpuModel: gpuModelSchema,
    region: regionSchema,
    nodesOnline: z.number().int().nonnegative(),
    gpusOnline: z.number().int().nonnegative(),
    nodesRegistered: z.number().int().nonnegative(),
    surge: marketSurgeSchema.nullable().describe("the market's surge now; null when it is not in surge"),
  }),
  'the supply of one (GPU model, region) market: nodes registered, the nodes and GPUs of them online now, and its surge',
);

export const marketStatsSchema = apiComponent(
  'MarketStats',
  z.strictObject({
    at: instantSchema.describe('when these numbers were read'),
    supply: z.array(marketSupplySchema).max(LIMITS.marketStatsMarketsMax),
    matches: z.strictObject({
      lastMinute: z.number().int().nonnegative().describe('jobs matched in the seconds of perSecond'),
      perSecond: z
        .array(z.strictObject({ at: instantSchema.describe('the start of the second'), count: z.number().int().nonnegative() }))
        .length(MARKET_STATS_MATCH_SECONDS),
    }),
    queues: queuesSchema.shape.queues,
  }),
  'the market now: supply per market, jobs matched over the last minute second by second, and queued jobs per category',
);
