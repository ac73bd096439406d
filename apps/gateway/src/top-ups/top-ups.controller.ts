import { Body, Controller, Headers, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { COMMANDS, idSchema, topUpRequestSchema, topUpSchema } from '@starminer/events';
import { CommandBus, IdPipe, ZodPipe } from '@starminer/service-kit';
import { aboutJob } from '@starminer/telemetry';
import { ApiKeyGuard, type OrgRequest } from '../auth/guards';
import { Idempotency, idempotencyKeyOf } from '../idempotency/idempotency';
import { JobQueries } from '../jobs/job-queries';
import { IDEMPOTENCY_HEADER, Operation } from '../openapi';
import { GatewayViews } from '../views/gateway-views';
import { topUpIdOf, topUpRecordKey } from './top-up-id';
import { topUpPriceWei, topUpRefusal } from './top-up-price';

const TOP_UP_EXAMPLE: z.input<typeof topUpSchema> = {
  jobId: '0190f5a3-1b2c-7d4e-8f90-a1b2c3d4e5f6',
  topUpId: 'tu-5d1f0c2b9a8e7d6c5b4a39281706f5e4',
  extraRuntimeSec: 1800,
  extraCostWei: '600000000000000000',
  escrowWei: '620000000000000000',
  deadlineAt: '2026-01-15T10:40:02Z',
  txHash: '0x4a7c1e9b3d5f8a2c6e0b4d8f2a6c0e4b8d2f6a0c4e8b2d6f0a4c8e2b6d0f4a8c',
};

/**
 * Top-ups of a running job's escrow (issue 16): more time before the deadline, so a long job does
 * not run dry. The gateway prices it from the match (the view's hourly price for all the job's
 * GPUs), intake reserves the price on the org's account like a budget, and the deployer relays the
 * chain's top-up and records ContractToppedUp. The top-up id comes from the org, the job and the
 * Idempotency-Key: every retry names the same top-up, which the escrow pays once; a retry after a
 * crash between the chain and the log records the first top-up once.
 */
@ApiTags('jobs')
@Controller('v1/jobs')
@UseGuards(ApiKeyGuard)
export class TopUpsController {
  constructor(
    private readonly bus: CommandBus,
    private readonly views: GatewayViews,
    private readonly jobs: JobQueries,
    private readonly idempotency: Idempotency,
  ) {}

  @Post(':jobId/top-ups')
  @HttpCode(200)
  @Operation({
    operationId: 'topUpJob',
    summary: "Top up a running job's escrow: more time before its deadline",
    description:
      "The escrow grows by the match's price for extraRuntimeSec (priceWeiPerGpuHour × gpuCount × extraRuntimeSec / 3600, rounded up), reserved on the org's spendable AGPU and paid on chain; the deadline moves by extraRuntimeSec. " +
      'Only a contracted or running job before its deadline (409 TOP_UP_NOT_OPEN, JOB_ALREADY_FINAL); at most 7 days a top-up, 30 days and 32 top-ups a job (422 TOP_UP_LIMIT). ' +
      'Send an Idempotency-Key: a retry with it answers the same top-up and pays nothing more. The job\'s runwaySec and a job.runway-low update say when one is needed.',
    auth: 'apiKey',
    headers: [IDEMPOTENCY_HEADER],
    params: { jobId: { schema: idSchema, description: 'the job id, as submitJob answered it' } },
    body: topUpRequestSchema,
    bodyExample: { extraRuntimeSec: 1800 },
    answers: { 200: { schema: topUpSchema, description: "the top-up as the chain made it: the job's escrow and deadline now", example: TOP_UP_EXAMPLE } },
    errors: [
      'JOB_NOT_FOUND', 'JOB_ALREADY_FINAL', 'TOP_UP_NOT_OPEN', 'TOP_UP_LIMIT', 'TOP_UP_ID_CONFLICT', 'TOP_UP_PRICE_CHANGED', 'INSUFFICIENT_FUNDS', 'FUNDS_VIEW_STALE', 'JOB_ID_IN_USE', 'EVENT_REFUSED',
      'AGGREGATE_UNREADABLE', 'COMMAND_UNAVAILABLE', 'CHAIN_UNAVAILABLE',
    ],
  })
  async topUp(
    @Req() req: OrgRequest,
    @Param('jobId', IdPipe) jobId: string,
    @Body(new ZodPipe(topUpRequestSchema)) body: z.output<typeof topUpRequestSchema>,
    @Headers('idempotency-key') keyHeader: string | undefined,
  ): Promise<z.input<typeof topUpSchema>> {
    const key = idempotencyKeyOf(keyHeader);
    const orgId = req.orgId;
    const topUpId = topUpIdOf(orgId, jobId, key);
    const requestId = key ?? topUpId;
    const answer = await aboutJob(jobId, () =>
      this.idempotency.run(orgId, key === undefined ? undefined : topUpRecordKey(key), { jobId, ...body }, async () => {
        const job = await this.jobs.get(orgId, jobId);
        const refusal = topUpRefusal(job);
        if (refusal) throw refusal;
        const extraCostWei = topUpPriceWei(job.priceWeiPerHour!, body.extraRuntimeSec);
        await this.bus.send(COMMANDS.intake.reserveTopUp, { orgId, jobId, topUpId, amountWei: extraCostWei, requestId });
        const r = await this.bus.send(COMMANDS.deployer.topUpContract, { orgId, jobId, topUpId, extraCostWei, extraRuntimeSec: body.extraRuntimeSec, requestId });
        await this.views.caughtUpTo(r.seq);
        const made: z.input<typeof topUpSchema> = {
          jobId,
          topUpId,
          extraRuntimeSec: body.extraRuntimeSec,
          extraCostWei: r.extraCostWei.toString(),
          escrowWei: r.newCostWei.toString(),
          deadlineAt: new Date(r.newDeadlineUnixSec * 1000).toISOString(),
          txHash: r.txHash,
        };
        return { statusCode: 200, body: made };
      }),
    );
    return answer.body as z.input<typeof topUpSchema>;
  }
}
