import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { DomainError } from '@starminer/domain';
import {
  COMMANDS, defaultDeadlineSec, idSchema, jobAcceptedSchema, jobCancelledSchema, jobPageSchema, jobSchema, listQuerySchema, submitJobRequestSchema, type JobStatus, type PayloadOf,
} from '@starminer/events';
import { CommandBus, IdPipe, ZodPipe } from '@starminer/service-kit';
import { aboutJob } from '@starminer/telemetry';
import { ApiKeyGuard, type OrgRequest } from '../auth/guards';
import { Idempotency, idempotencyKeyOf, type Attempt } from '../idempotency/idempotency';
import { IDEMPOTENCY_HEADER, Operation } from '../openapi';
import { GatewayViews } from '../views/gateway-views';
import { cancelRefusal } from './cancel-job';
import { jobAnswerOf } from './job-answer';
import { JOB_EXAMPLE, JOB_QUEUED_EXAMPLE, SUBMIT_JOB_EXAMPLE } from './job-examples';
import { jobIdOf } from './job-id';
import { JobQueries } from './job-queries';

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

const jobIdParam = { jobId: { schema: idSchema, description: 'the job id, as submitJob answered it' } };

@ApiTags('jobs')
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
  @Operation({
    operationId: 'submitJob',
    summary: 'Submit a job',
    description:
      "Intake checks the spec and reserves the budget against the org's spendable AGPU; the job is then queued for matching (202). " +
      'With redundancy ({ copies: 2..5, compare }), the job runs as that many copies on distinct nodes of its one GPU model, each reserving and paying budgetWei; the answer\'s jobId is copy 0, and GET /v1/jobs/{jobId} shows the group and its verdict. ' +
      'With an Idempotency-Key every retry gets the first answer (the job id is derived from the org and the key), never a second job.',
    auth: 'apiKey',
    headers: [IDEMPOTENCY_HEADER],
    body: submitJobRequestSchema,
    bodyExample: SUBMIT_JOB_EXAMPLE,
    answers: { 202: { schema: jobAcceptedSchema, description: 'the job is queued', example: JOB_QUEUED_EXAMPLE } },
    errors: [
      'INSUFFICIENT_FUNDS', 'BUDGET_NOT_POSITIVE', 'BUDGET_TOO_LARGE', 'UNKNOWN_GPU_MODEL', 'REQUIREMENT_UNSATISFIABLE', 'GPU_COUNT_REQUIRED', 'GPU_COUNT_TOO_LARGE',
      'RUNTIME_OUT_OF_RANGE', 'DEADLINE_OUT_OF_RANGE', 'REDUNDANCY_COPIES_OUT_OF_RANGE', 'REDUNDANCY_TOLERANCE_INVALID', 'REDUNDANCY_GPU_MODEL_REQUIRED', 'EVENT_REFUSED', 'ORG_NOT_FOUND', 'JOB_ID_IN_USE', 'FUNDS_VIEW_STALE', 'AGGREGATE_UNREADABLE', 'COMMAND_UNAVAILABLE', 'CHAIN_UNAVAILABLE',
    ],
  })
  async submit(
    @Req() req: OrgRequest,
    @Body(new ZodPipe(submitJobRequestSchema)) body: z.output<typeof submitJobRequestSchema>,
    @Headers('idempotency-key') keyHeader: string | undefined,
    @Res({ passthrough: true }) res: { status(code: number): void },
  ): Promise<z.input<typeof jobAcceptedSchema>> {
    const key = idempotencyKeyOf(keyHeader);
    const command = submitJobCommand(req.orgId, key, body);
    // the request's span (the root of the job's trace) and its log lines name the job
    const answer = await aboutJob(command.jobId, () => this.idempotency.run(req.orgId, key, body, async (attempt) => {
      const { jobId, seq } = await this.submitOnce(command, attempt);
      await this.views.caughtUpTo(seq);
      const accepted: z.input<typeof jobAcceptedSchema> = { jobId, status: 'queued' };
      return { statusCode: 202, body: accepted };
    }));
    res.status(answer.statusCode);
    return answer.body as z.input<typeof jobAcceptedSchema>;
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
  @Operation({
    operationId: 'listJobs',
    summary: "The caller org's jobs in submission order, paged by cursor",
    auth: 'apiKey',
    query: listQuerySchema,
    answers: { 200: { schema: jobPageSchema, description: 'one page; nextCursor is null on the last', example: { jobs: [JOB_EXAMPLE], nextCursor: null } } },
    errors: ['BAD_CURSOR'],
  })
  async list(@Req() req: OrgRequest, @Query(new ZodPipe(listQuerySchema)) q: z.output<typeof listQuerySchema>): Promise<z.input<typeof jobPageSchema>> {
    const { jobs, nextCursor } = await this.jobs.list(req.orgId, q);
    return { jobs: jobs.map((j) => jobAnswerOf(j)), nextCursor };
  }

  @Get(':jobId')
  @Operation({
    operationId: 'getJob',
    summary: 'One job of the caller org',
    description:
      'Its status, node, price (quote) and why this node (receipt), contract, deadline, transactions, result, waiting reason or failure. ' +
      "A receipt made while the winner's market was in surge says so (surge) and, from engine 2.1.0, surgePreference: since when, and whether the winner is a staked pool's node (staked nodes of a surging market are routed first).",
    auth: 'apiKey',
    params: jobIdParam,
    answers: { 200: { schema: jobSchema, description: 'the job', example: JOB_EXAMPLE } },
    errors: ['JOB_NOT_FOUND'],
  })
  async get(@Req() req: OrgRequest, @Param('jobId', IdPipe) id: string): Promise<z.input<typeof jobSchema>> {
    const job = await this.jobs.get(req.orgId, id);
    // a redundant job (issue 17) answers with every copy of its group, each copy's node and outcome
    const groupId = job.redundancyGroupId;
    return jobAnswerOf(job, Date.now(), groupId ? await this.jobs.redundancyGroup(req.orgId, groupId) : undefined);
  }

  /**
   * Cancels a queued job. The gateway's view answers first for a job that is plainly past queued;
   * intake decides on the log, and when it refuses a job the view still shows queued (the view
   * lags), the refusal names the status the log has.
   */
  @Post(':jobId/cancel')
  @HttpCode(200)
  @Operation({
    operationId: 'cancelJob',
    summary: 'Cancel a job that is still queued',
    description: 'Only a queued job can be cancelled: one that has ended answers 409 JOB_ALREADY_FINAL, one on its way (matched to completed) 409 JOB_NOT_CANCELLABLE; both name its status (details.status).',
    auth: 'apiKey',
    params: jobIdParam,
    answers: { 200: { schema: jobCancelledSchema, description: 'the job is cancelled; its budget reservation is released', example: { jobId: JOB_EXAMPLE.jobId, status: 'cancelled' } } },
    errors: ['JOB_NOT_FOUND', 'JOB_NOT_CANCELLABLE', 'JOB_ALREADY_FINAL', 'EVENT_REFUSED', 'AGGREGATE_UNREADABLE', 'COMMAND_UNAVAILABLE'],
  })
  async cancel(@Req() req: OrgRequest, @Param('jobId', IdPipe) id: string): Promise<z.input<typeof jobCancelledSchema>> {
    const seen = await this.jobs.get(req.orgId, id);
    const refusal = cancelRefusal(id, seen.status as JobStatus);
    if (refusal) throw refusal;
    try {
      const { seq } = await this.bus.send(COMMANDS.intake.cancelJob, { orgId: req.orgId, jobId: id });
      await this.views.caughtUpTo(seq);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'JOB_NOT_CANCELLABLE') {
        const onLog = await this.jobs.statusOnLog(id);
        throw (onLog && cancelRefusal(id, onLog)) ?? err;
      }
      throw err;
    }
    return { jobId: id, status: 'cancelled' };
  }
}
