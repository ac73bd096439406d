import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { uuidv7 } from 'uuidv7';
import { z } from 'zod';
import { COMMANDS, defaultDeadlineSec, listQuerySchema, submitJobRequestSchema } from '@starminer/events';
import { CommandBus, IdPipe, ZodPipe } from '@starminer/service-kit';
import { ApiKeyGuard, type OrgRequest } from '../auth/guards';
import { Idempotency, idempotencyKeyOf } from '../idempotency/idempotency';
import { openApiOf } from '../openapi';
import { GatewayViews } from '../views/gateway-views';
import { JobQueries, jobToResponse } from './job-queries';

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
    const answer = await this.idempotency.run(req.orgId, key, body, async () => {
      const spec = { ...body, deadlineSec: body.deadlineSec ?? defaultDeadlineSec(body.expectedRuntimeSec), green: body.green ?? false };
      const { jobId, seq } = await this.bus.send(COMMANDS.intake.submitJob, { orgId: req.orgId, jobId: uuidv7(), spec, requestId: key ?? uuidv7() });
      await this.views.caughtUpTo(seq);
      return { statusCode: 202, body: { jobId, status: 'queued' } };
    });
    res.status(answer.statusCode);
    return answer.body;
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
