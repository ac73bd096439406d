import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { priceBoardSchema, pricesQuerySchema, queuesSchema } from '@starminer/events';
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
      tiers: [
        { tier: 'priority', urgencies: ['high', 'critical'], tierMultiplierBps: 13_000, priceWeiPerGpuHour: '2990000000000000000' },
        { tier: 'standard', urgencies: ['normal'], tierMultiplierBps: 10_000, priceWeiPerGpuHour: '2300000000000000000' },
        { tier: 'economy', urgencies: ['low'], tierMultiplierBps: 8_500, priceWeiPerGpuHour: '1955000000000000000' },
      ],
    },
  ],
  nextCursor: 'WyJBMTAwIiwidXMtZWFzdCJd',
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
      "The utilization multiplier moves with the market (PriceChanged on the log); a job's quote is fixed at match from these terms. Public.",
    auth: 'public',
    query: pricesQuerySchema,
    answers: { 200: { schema: priceBoardSchema, description: 'one page of markets in (gpuModel, region) order; nextCursor is null on the last', example: PRICE_BOARD_EXAMPLE } },
    errors: ['BAD_CURSOR'],
  })
  prices(@Query(new ZodPipe(pricesQuerySchema)) q: z.output<typeof pricesQuerySchema>): Promise<z.input<typeof priceBoardSchema>> {
    return this.market.prices(q);
  }
}
