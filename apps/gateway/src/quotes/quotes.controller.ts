import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { COMMANDS, defaultDeadlineSec, quoteSchema, submitJobRequestSchema, type PayloadOf, type QuoteAnswer } from '@starminer/events';
import { CommandBus, ZodPipe } from '@starminer/service-kit';
import { ApiKeyGuard } from '../auth/guards';
import { Operation } from '../openapi';

type QuoteCommand = PayloadOf<typeof COMMANDS.matching.quote>;

/**
 * The spec a quote is asked for: the body with the defaults a submission fills (the deadline, the
 * green preference), so the quote is of exactly the job POST /v1/jobs would queue.
 */
export function quoteCommandOf(body: z.output<typeof submitJobRequestSchema>): QuoteCommand {
  return { spec: { ...body, deadlineSec: body.deadlineSec ?? defaultDeadlineSec(body.expectedRuntimeSec), green: body.green ?? false } };
}

const AGPU = 10n ** 18n;
const EXAMPLE_PRICE = {
  gpuModel: 'RTX4090',
  region: 'eu-west',
  tier: 'standard',
  basePriceWeiPerGpuHour: (4n * AGPU / 10n).toString(),
  tierMultiplierBps: 10_000,
  utilizationMultiplierBps: 9_500,
  priceWeiPerGpuHour: (38n * AGPU / 100n).toString(),
  gpuCount: 1,
  runtimeSec: 60,
  // 0.38 AGPU × 60 s / 3600, rounded up to the Wei as the engine rounds a cost
  costWei: '6333333333333334',
} as const;

const EXAMPLE_QUOTE: QuoteAnswer = {
  feasible: true,
  price: EXAMPLE_PRICE,
  nodeId: 'node-7',
  markets: [{ price: EXAMPLE_PRICE, nodesEligible: 3, nodesFree: 2, freeGpus: 5, utilizationBps: 2_500, countsComplete: true }],
  marketsTotal: 1,
  expectedWaitSec: 1,
  waitBasis: 'free-capacity-now',
  queuedAhead: 0,
  reasons: [],
  nearest: [],
  quotedAt: '2026-11-27T12:00:00.000Z',
  engineVersion: 'starminer-matching/1.1.0',
};

const EXAMPLE_BODY = {
  category: 'inference',
  budgetWei: (50n * AGPU).toString(),
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: ['RTX4090'], gpuCount: 1, minVramGiB: 8, tee: false, regions: ['eu-west'] },
  expectedRuntimeSec: 60,
  workload: { kind: 'hash-chain', seed: 'quote', iterations: 100_000 },
};

@ApiTags('quotes')
@Controller('v1/quotes')
@UseGuards(ApiKeyGuard)
export class QuotesController {
  constructor(private readonly bus: CommandBus) {}

  /** Asks the matching engine for a dry run; the engine answers from its state in memory and appends nothing. */
  @Post()
  @HttpCode(200)
  @Operation({
    operationId: 'createQuote',
    summary: 'Quote a job before submitting it: its price now, the markets that could run it, the expected wait, or why not and the nearest option',
    description:
      'Takes the body POST /v1/jobs takes, with the same validation, and answers what the matching engine would decide for it now, by the ' +
      'same eligibility, scoring and pricing as a real match: nothing is appended, reserved or held, and no funds are checked. ' +
      'A quote is not a promise: prices move with utilization, and other jobs may take the capacity first. Where nothing would match now, ' +
      '`reasons` say why (the engine\'s codes) and `nearest` lists the nearest options that would (the budget that is enough, another ' +
      'region, another GPU model), each with its price. 503 QUOTE_UNAVAILABLE while the engine rebuilds its state at start.',
    auth: 'apiKey',
    body: submitJobRequestSchema,
    bodyExample: EXAMPLE_BODY,
    answers: { 200: { schema: quoteSchema, description: 'the quote', example: EXAMPLE_QUOTE } },
    errors: [
      'BUDGET_NOT_POSITIVE', 'BUDGET_TOO_LARGE', 'UNKNOWN_GPU_MODEL', 'REQUIREMENT_UNSATISFIABLE', 'GPU_COUNT_REQUIRED', 'GPU_COUNT_TOO_LARGE',
      'RUNTIME_OUT_OF_RANGE', 'DEADLINE_OUT_OF_RANGE', 'QUOTE_UNAVAILABLE', 'COMMAND_UNAVAILABLE',
    ],
  })
  async createQuote(@Body(new ZodPipe(submitJobRequestSchema)) body: z.output<typeof submitJobRequestSchema>): Promise<QuoteAnswer> {
    return this.bus.send(COMMANDS.matching.quote, quoteCommandOf(body));
  }
}
