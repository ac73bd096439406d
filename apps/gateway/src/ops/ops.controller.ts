import { Body, Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { COMMANDS, LIMITS, SERVICES_WITH_PARKING, text } from '@starminer/events';
import { CommandBus, describeError, ZodPipe } from '@starminer/service-kit';
import { OperatorGuard } from '../auth/guards';
import { openApiOf } from '../openapi';

/** How long the operator's list waits for each service. */
const OPS_COMMAND_TIMEOUT_MS = 5_000;

const parkedQuerySchema = z.strictObject({ service: z.enum(SERVICES_WITH_PARKING).optional() });
const retryRequestSchema = z.strictObject({ service: z.enum(SERVICES_WITH_PARKING), reader: text(200, 1), key: text(LIMITS.idLengthMax, 1) });

/**
 * The operator's view of what every service parked (events a reader could not decode or apply),
 * and re-applying one aggregate's parked events after a fix. Each service answers for itself over
 * NATS; one that does not answer is listed as unavailable.
 */
@ApiTags('operators')
@ApiBearerAuth()
@Controller('v1/ops')
@UseGuards(OperatorGuard)
export class OpsController {
  constructor(private readonly bus: CommandBus) {}

  @Get('parked')
  @ApiOperation({ summary: 'Parked events of every service (operator token)' })
  async parked(@Query(new ZodPipe(parkedQuerySchema)) q: z.output<typeof parkedQuerySchema>) {
    const services = q.service ? [q.service] : SERVICES_WITH_PARKING;
    const answers = await Promise.all(
      services.map(async (service) => {
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
  @ApiBody({ schema: openApiOf(retryRequestSchema) })
  @ApiOperation({ summary: "Re-apply one reader's parked events of one aggregate, in log order, after a fix (operator token)" })
  async retry(@Body(new ZodPipe(retryRequestSchema)) body: z.output<typeof retryRequestSchema>) {
    return this.bus.send(COMMANDS[body.service].retryParked, { reader: body.reader, key: body.key });
  }
}
