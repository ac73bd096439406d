import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { LIMITS, marketStatsSchema, priceBoardSchema, priceHistoryQuerySchema, priceHistorySchema, pricesQuerySchema, queuesSchema } from '@starminer/events';
import { ZodPipe } from '@starminer/service-kit';
import { JobQueries } from '../jobs/job-queries';
import { Operation } from '../openapi';
import { MarketQueries } from './market-queries';

const PRICE_BOARD_EXAMPLE: z.input<typeof priceBoardSchema> = {
  markets: [
    {
      gpuModel: 'A100',
      region: 'us-east',
      basePriceWeiPerGpuHour: '2000000000000000000',
      utilizationMultiplierBps: 11_500,
      utilizationBps: 9_000,
      changedAt: '2026-01-15T10:00:00.000Z',
      surge: { sinceAt: '2026-01-15T09:52:00.000Z' },
      tiers: [
        { tier: 'priority', urgencies: ['high', 'critical'], tierMultiplierBps: 13_000, priceWeiPerGpuHour: '2990000000000000000' },
        { tier: 'standard', urgencies: ['normal'], tierMultiplierBps: 10_000, priceWeiPerGpuHour: '2300000000000000000' },
        { tier: 'economy', urgencies: ['low'], tierMultiplierBps: 8_500, priceWeiPerGpuHour: '1955000000000000000' },
      ],
    },
  ],
  nextCursor: 'WyJBMTAwIiwidXMtZWFzdCJd',
};

const PRICE_HISTORY_EXAMPLE: z.input<typeof priceHistorySchema> = {
  gpuModel: 'A100',
  region: 'us-east',
  tier: 'standard',
  intervalSec: 60,
  candles: [
    {
      startAt: '2026-01-15T10:00:00.000Z',
      openWeiPerGpuHour: '2000000000000000000',
      highWeiPerGpuHour: '2100000000000000000',
      lowWeiPerGpuHour: '2000000000000000000',
      closeWeiPerGpuHour: '2100000000000000000',
      utilizationMultiplierBps: 10_500,
    },
    {
      startAt: '2026-01-15T10:01:00.000Z',
      openWeiPerGpuHour: '2100000000000000000',
      highWeiPerGpuHour: '2100000000000000000',
      lowWeiPerGpuHour: '2100000000000000000',
      closeWeiPerGpuHour: '2100000000000000000',
      utilizationMultiplierBps: 10_500,
    },
  ],
};

const MARKET_STATS_EXAMPLE: z.input<typeof marketStatsSchema> = {
  at: '2026-01-15T10:00:59.250Z',
  supply: [
    { gpuModel: 'A100', region: 'us-east', nodesOnline: 3, gpusOnline: 10, nodesRegistered: 4, surge: { sinceAt: '2026-01-15T09:52:00.000Z' } },
    { gpuModel: 'H100', region: 'eu-west', nodesOnline: 1, gpusOnline: 8, nodesRegistered: 1, surge: null },
  ],
  matches: {
    lastMinute: 2,
    perSecond: Array.from({ length: 60 }, (_, i) => ({ at: new Date(Date.UTC(2026, 0, 15, 10, 0, i)).toISOString(), count: i === 12 ? 2 : 0 })),
  },
  queues: { 'ai-training': 3, inference: 12, rendering: 0, simulation: 1 },
};

@ApiTags('market')
@Controller('v1')
export class MarketController {
  constructor(
    private readonly market: MarketQueries,
    private readonly jobs: JobQueries,
  ) {}

  @Get('market/queues')
  @Operation({
    operationId: 'getQueues',
    summary: 'Queued jobs per category',
    description: 'Public.',
    auth: 'public',
    answers: { 200: { schema: queuesSchema, description: 'every category, with the jobs queued in it now', example: { queues: { 'ai-training': 3, inference: 12, rendering: 0, simulation: 1 } } } },
    errors: [],
  })
  async queues(): Promise<z.input<typeof queuesSchema>> {
    return { queues: (await this.jobs.queueDepths()) as z.input<typeof queuesSchema>['queues'] };
  }

  @Get('market/prices')
  @Operation({
    operationId: 'getPrices',
    summary: 'The price board: per (GPU model, region) market, the price of one GPU-hour per tier, with its terms',
    description:
      'price = base × tier multiplier × utilization multiplier (basis points, 10,000 = 1.0). Urgencies map to tiers. ' +
      "The utilization multiplier moves with the market (PriceChanged on the log); a job's quote is fixed at match from these terms. " +
      "surge: since when the market is in surge (the matching engine's SurgeStarted on the log, no SurgeEnded since; staked pools' nodes are routed first meanwhile), null when it is not. Public.",
    auth: 'public',
    query: pricesQuerySchema,
    answers: { 200: { schema: priceBoardSchema, description: 'one page of markets in (gpuModel, region) order; nextCursor is null on the last', example: PRICE_BOARD_EXAMPLE } },
    errors: ['BAD_CURSOR'],
  })
  prices(@Query(new ZodPipe(pricesQuerySchema)) q: z.output<typeof pricesQuerySchema>): Promise<z.input<typeof priceBoardSchema>> {
    return this.market.prices(q);
  }

  @Get('market/prices/history')
  @Operation({
    operationId: 'getPriceHistory',
    summary: "One market's price of a GPU-hour in one tier over time, as candles (open, high, low, close)",
    description:
      'Candles of intervalSec (60, 300, 3600 or 86400; default 60), aligned to the Unix epoch (a day starts at 00:00 UTC), oldest first, ' +
      'from the interval holding `from` up to the one holding the instant before `to` (default now; a later `to` reads as now), the last one partial while it is current. ' +
      `Without \`from\`, the last ${LIMITS.priceCandlesMax.toLocaleString('en-US')} intervals up to \`to\`; a window of more (LIMITS.priceCandlesMax) is refused with VALIDATION_FAILED naming query.from, as is a \`from\` not before \`to\`. ` +
      "The price is the board's: base × tier multiplier × utilization multiplier, moved by PriceChanged on the log. A candle opens at the close before it; an interval with no move is a flat candle at that close, " +
      "so the series is continuous; intervals before the market's first price move are left out. A market with no price move (or unknown) answers an empty candles list, not 404. Public.",
    auth: 'public',
    query: priceHistoryQuerySchema,
    answers: { 200: { schema: priceHistorySchema, description: "the market's candles, oldest first", example: PRICE_HISTORY_EXAMPLE } },
    errors: [],
  })
  priceHistory(@Query(new ZodPipe(priceHistoryQuerySchema)) q: z.output<typeof priceHistoryQuerySchema>): Promise<z.input<typeof priceHistorySchema>> {
    return this.market.priceHistory(q);
  }

  @Get('market/stats')
  @Operation({
    operationId: 'getMarketStats',
    summary: 'The market now: supply per market, matches over the last minute second by second, queued jobs per category',
    description:
      `supply: per (GPU model, region) market with a registered node, the nodes registered and the nodes and GPUs of them online (at most ${LIMITS.marketStatsMarketsMax} markets, in (gpuModel, region) order), ` +
      'and its surge: since when it is in surge (as getPrices), null when it is not. ' +
      "matches: jobs matched per second of the engine's match time over the last 60 seconds, the last the current one, zero-filled, and their sum (lastMinute). " +
      'queues: jobs queued per category, every category listed (as getQueues). Read from the gateway view of the log: a moment behind it. Public.',
    auth: 'public',
    answers: { 200: { schema: marketStatsSchema, description: 'the market now', example: MARKET_STATS_EXAMPLE } },
    errors: [],
  })
  async stats(): Promise<z.input<typeof marketStatsSchema>> {
    const [stats, queues] = await Promise.all([this.market.stats(), this.jobs.queueDepths()]);
    return { ...stats, queues: queues as z.input<typeof marketStatsSchema>['queues'] };
  }
}
