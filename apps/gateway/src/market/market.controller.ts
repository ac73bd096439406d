import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { listQuerySchema, pricesQuerySchema } from '@starminer/events';
import { ZodPipe } from '@starminer/service-kit';
import { JobQueries } from '../jobs/job-queries';
import { MarketQueries } from './market-queries';

@ApiTags('market')
@Controller('v1')
export class MarketController {
  constructor(
    private readonly market: MarketQueries,
    private readonly jobs: JobQueries,
  ) {}

  @Get('nodes')
  @ApiOperation({ summary: 'The supply: registered nodes, paged by cursor' })
  nodes(@Query(new ZodPipe(listQuerySchema)) q: z.output<typeof listQuerySchema>) {
    return this.market.nodes(q);
  }

  @Get('market/queues')
  @ApiOperation({ summary: 'Queue depth per category' })
  async queues() {
    return { queues: await this.jobs.queueDepths() };
  }

  @Get('market/prices')
  @ApiOperation({
    summary: 'The price board: per (GPU class, region) market, the price of one GPU-hour per tier, with its terms',
    description:
      'price = base × tier multiplier × utilization multiplier (basis points, 10,000 = 1.0). Urgencies map to tiers. ' +
      "The utilization multiplier moves with the market (PriceChanged on the log); a job's quote is fixed at match from these terms.",
  })
  prices(@Query(new ZodPipe(pricesQuerySchema)) q: z.output<typeof pricesQuerySchema>) {
    return this.market.prices(q);
  }
}
