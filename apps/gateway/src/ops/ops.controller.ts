import { Body, Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { COMMANDS, LIMITS, parkedListSchema, parkedQuerySchema, parkedRetriedSchema, retryParkedRequestSchema, SERVICES_WITH_PARKING } from '@starminer/events';
import { CommandBus, describeError, ZodPipe } from '@starminer/service-kit';
import { OperatorGuard } from '../auth/guards';
import { Operation } from '../openapi';

/** How long the operator's list waits for each service. */
const OPS_COMMAND_TIMEOUT_MS = 5_000;

const PARKED_EVENT_EXAMPLE = {
  reader: 'views',
  seq: 4_812,
  subject: 'trade.job.0190f5a3-1b2c-7d4e-8f90-a1b2c3d4e5f6',
  type: 'JobMatched',
  key: '0190f5a3-1b2c-7d4e-8f90-a1b2c3d4e5f6',
  error: 'receipt: expected object',
  blockedBy: null,
  attempts: 5,
  parkedAt: '2026-01-15T10:00:02.000Z',
};

/**
 * The operator's view of what every service parked (events a reader could not decode or apply),
 * and re-applying one aggregate's parked events after a fix. Each service answers for itself over
 * NATS; one that does not answer is listed as unavailable.
 */
@ApiTags('operators')
@Controller('v1/ops')
@UseGuards(OperatorGuard)
export class OpsController {
  constructor(private readonly bus: CommandBus) {}

  @Get('parked')
  @Operation({
    operationId: 'listParked',
    summary: 'Parked events of every service (or one)',
    description: `The first ${LIMITS.parkedPageSizeMax} of each service (more: true when it has others; cmd.<service>.listParked pages on). A service that does not answer is listed with its error.`,
    auth: 'operator',
    query: parkedQuerySchema,
    answers: {
      200: {
        schema: parkedListSchema,
        description: "each service's parked events, or why it did not answer",
        example: {
          services: [
            { service: 'gateway', parked: [PARKED_EVENT_EXAMPLE], more: false },
            { service: 'matching', error: { code: 'COMMAND_UNAVAILABLE', message: 'cmd.matching.listParked: no answer in 5000 ms' } },
          ],
        },
      },
    },
    errors: [],
  })
  async parked(@Query(new ZodPipe(parkedQuerySchema)) q: z.output<typeof parkedQuerySchema>): Promise<z.input<typeof parkedListSchema>> {
    const services = q.service ? [q.service] : SERVICES_WITH_PARKING;
    const answers = await Promise.all(
      services.map(async (service): Promise<z.input<typeof parkedListSchema>['services'][number]> => {
        try {
          const r = await this.bus.send(COMMANDS[service].listParked, { limit: LIMITS.parkedPageSizeMax }, { timeoutMs: OPS_COMMAND_TIMEOUT_MS });
          return { service, parked: r.parked, more: r.next !== null };
        } catch (err) {
          return { service, error: describeError(err).body };
        }
      }),
    );
    return { services: answers };
  }

  @Post('parked/retry')
  @HttpCode(200)
  @Operation({
    operationId: 'retryParked',
    summary: "Re-apply one reader's parked events of one aggregate, in log order, after a fix",
    auth: 'operator',
    body: retryParkedRequestSchema,
    bodyExample: { service: 'gateway', reader: 'views', key: PARKED_EVENT_EXAMPLE.key },
    answers: { 200: { schema: parkedRetriedSchema, description: 'how many applied, and what is still parked', example: { applied: 1, stillParked: [] } } },
    errors: ['PARKED_EVENTS_NOT_FOUND', 'COMMAND_UNAVAILABLE'],
  })
  async retry(@Body(new ZodPipe(retryParkedRequestSchema)) body: z.output<typeof retryParkedRequestSchema>): Promise<z.input<typeof parkedRetriedSchema>> {
    return this.bus.send(COMMANDS[body.service].retryParked, { reader: body.reader, key: body.key });
  }
}
