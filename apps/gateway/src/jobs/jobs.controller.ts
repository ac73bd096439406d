import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { DomainError } from '@starminer/domain';
import { COMMANDS, defaultDeadlineSec, listQuerySchema, submitJobRequestSchema, type PayloadOf } from '@starminer/events';
import { CommandBus, IdPipe, ZodPipe } from '@starminer/service-kit';
import { ApiKeyGuard, type OrgRequest } from '../auth/guards';
import { Idempotency, idempotencyKeyOf, type Attempt } from '../idempotency/idempotency';
import { openApiOf } from '../openapi';
import { GatewayViews } from '../views/gateway-views';
import { jobIdOf } from './job-id';
import { JobQueries, jobToResponse } from './job-queries';

type SubmitJob = PayloadOf<typeof COMMANDS.intake.submitJob>;

/**
 * The command a job request becomes: its id derived from the org and the Idempotency-Key (or
 * minted once), the key as the request id (the job id without one), the spec's defaults filled.
 * Every attempt of one request sends the same command.
 */
export function submitJobCommand(orgId: string, key: string | undefined, body: z.output<typeof submitJobRequestSchema>): SubmitJob {
  const jobId = jobIdOf(orgId, key);
  const spec = { ...body, deadlineSec: body.deadlineSec ?? defaultDeadlineSec(body.expectedRuntimeSec), green: body.green ?? false };
  return { orgId, jobId, spec, requestId: key ?? jobId };
}

@ApiTags('jobs')
@ApiBearerAuth()
@Controller('v1/jobs')
@UseGuards(ApiKeyGuard)
export class JobsController {
  constructor(
    private readonly bus: CommandBus,
    private readonly views: GatewayViews,
    private readonly jobs: JobQueries,
    private readonly idempotency: Idempotency,
  ) {}

  /** Submits through intake, which checks the spec and the org's funds; answers 202 once the job is queued. */
  @Post()
  @ApiOperation({ summary: 'Submit a job; 202 with its id. Idempotency-Key returns the first answer again.' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: '1-128 printable ASCII characters' })
  @ApiBody({ schema: openApiOf(submitJobRequestSchema) })
  async submit(
    @Req() req: OrgRequest,
    @Body(new ZodPipe(submitJobRequestSchema)) body: z.output<typeof submitJobRequestSchema>,
    @Headers('idempotency-key') keyHeader: string | undefined,
    @Res({ passthrough: true }) res: { status(code: number): void },
  ) {
    const key = idempotencyKeyOf(keyHeader);
    const command = submitJobCommand(req.orgId, key, body);
    const answer = await this.idempotency.run(req.orgId, key, body, async (attempt) => {
      const { jobId, seq } = await this.submitOnce(command, attempt);
      await this.views.caughtUpTo(seq);
      return { statusCode: 202, body: { jobId, status: 'queued' } };
    });
    res.status(answer.statusCode);
    return answer.body;
  }

  /**
   * Sends the request's command. A retry that took over an attempt which never answered may find
   * the job that attempt appended: the job id is the request's own (derived from this org and
   * key, whose record holds this request's hash), so that job is the first answer. Intake answers
   * the same job for the same request itself; a JOB_EXISTS from an intake that does not is read so.
   */
  private async submitOnce(command: SubmitJob, attempt: Attempt): Promise<{ jobId: string; seq: number | null }> {
    try {
      return await this.bus.send(COMMANDS.intake.submitJob, command);
    } catch (err) {
      if (attempt.takeover && err instanceof DomainError && err.code === 'JOB_EXISTS') return { jobId: command.jobId, seq: null };
      throw err;
    }
  }

  @Get()
  @ApiOperation({ summary: "The caller org's jobs, newest last, paged by cursor" })
  async list(@Req() req: OrgRequest, @Query(new ZodPipe(listQuerySchema)) q: z.output<typeof listQuerySchema>) {
    const { jobs, nextCursor } = await this.jobs.list(req.orgId, q);
    return { jobs: jobs.map(jobToResponse), nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One job of the caller org: status, node, price, contract, transactions, result' })
  async get(@Req() req: OrgRequest, @Param('id', IdPipe) id: string) {
    return jobToResponse(await this.jobs.get(req.orgId, id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a job that is still queued' })
  async cancel(@Req() req: OrgRequest, @Param('id', IdPipe) id: string) {
    await this.jobs.get(req.orgId, id);
    const { seq } = await this.bus.send(COMMANDS.intake.cancelJob, { orgId: req.orgId, jobId: id });
    await this.views.caughtUpTo(seq);
    return { jobId: id, status: 'cancelled' };
  }
}
