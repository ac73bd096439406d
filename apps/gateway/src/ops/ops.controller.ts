import { Body, Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { COMMANDS, LIMITS, opsStatusSchema, parkedListSchema, parkedQuerySchema, parkedRetriedSchema, retryParkedRequestSchema, SERVICES_WITH_PARKING } from '@starminer/events';
import { CommandBus, describeError, ZodPipe } from '@starminer/service-kit';
import { ANCHOR_EXAMPLE } from '../anchors/anchors.controller';
import { OperatorGuard } from '../auth/guards';
import { Operation } from '../openapi';
import { OPS_COMMAND_TIMEOUT_MS, STUCK_MATCHED_WITHOUT_CONTRACT_MS, STUCK_PAST_DEADLINE_GRACE_MS } from './ops-limits';
import { OpsStatus, type OpsStatusAnswer } from './ops-status';

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

const SERVICE_STATUS_EXAMPLE: OpsStatusAnswer['gateway'] = {
  service: 'gateway',
  ready: true,
  checks: { nats: { status: 'up' }, postgres: { status: 'up' }, commands: { status: 'up' }, chain: { status: 'up' } },
  readers: [{ name: 'views', kind: 'projection', state: 'running', checkpointSeq: 41_290, lagEvents: 0, parked: 0, critical: false, problems: [] }],
  startedAt: '2026-01-15T08:00:00.000Z',
};

const OPS_STATUS_EXAMPLE: OpsStatusAnswer = {
  at: '2026-01-15T10:00:03.000Z',
  overall: 'degraded',
  services: [
    { ...SERVICE_STATUS_EXAMPLE, service: 'registry', readers: [{ name: 'nodes', kind: 'projection', state: 'running', checkpointSeq: 41_290, lagEvents: 0, parked: 1, critical: false, problems: [] }] },
    { service: 'matching', ready: false, error: { code: 'COMMAND_UNAVAILABLE', message: `cmd.matching.status: no answer in ${OPS_COMMAND_TIMEOUT_MS} ms` } },
  ],
  gateway: SERVICE_STATUS_EXAMPLE,
  log: { lastSeq: 41_290 },
  chain: { chainId: 31_337, blockNumber: 18_230, anchorContract: '0x5fbdb2315678afecb367f032d93f642f64180aa3', latestAnchor: ANCHOR_EXAMPLE, eventsSinceAnchor: 3 },
  stuckJobs: { count: 1, jobs: [{ jobId: '0190f5a3-1b2c-7d4e-8f90-a1b2c3d4e5f6', status: 'running', reason: 'past-deadline', since: '2026-01-15T09:40:00.000Z' }] },
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
  constructor(
    private readonly bus: CommandBus,
    private readonly opsStatus: OpsStatus,
  ) {}

  @Get('status')
  @Operation({
    operationId: 'getOpsStatus',
    summary: "The market at a glance: every service's readiness and readers, the log, the chain and its latest anchor, stuck jobs",
    description:
      `Each service answers cmd.<service>.status (readiness as its GET /health/ready decides it, each dependency up or down, each reader of the log with its state, checkpoint, lag and parked events); ` +
      `one that does not answer within ${OPS_COMMAND_TIMEOUT_MS} ms is listed with ready false and the error. The gateway answers for itself. ` +
      `A job is stuck when it is not final ${STUCK_PAST_DEADLINE_GRACE_MS / 1000} s after its deadline (the contract's deadline: since is the deadline), ` +
      `or matched ${STUCK_MATCHED_WITHOUT_CONTRACT_MS / 60_000} minutes ago with no contract opened (since is the match); all are counted, the first ${LIMITS.opsStuckJobsListedMax} listed, longest stuck first. ` +
      'overall is healthy only when every service (the gateway too) is ready, no reader failed, nothing is parked, no job is stuck, and every part was read; ' +
      'a part that could not be read (the log, the chain, the job view) is null with its error, and the answer is still 200.',
    auth: 'operator',
    answers: { 200: { schema: opsStatusSchema, description: "the market's status now", example: OPS_STATUS_EXAMPLE } },
    errors: [],
  })
  status(): Promise<OpsStatusAnswer> {
    return this.opsStatus.read();
  }

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
