import { z } from 'zod';
import { weiStringSchema } from './api-answers';
import { apiComponent } from './api-components';
import { LIMITS } from './limits';
import { idSchema } from './primitives';

/**
 * Every top-up id starts with this (the gateway derives them): a top-up's price is reserved on the
 * org's account under its top-up id, so a reservation key with this prefix is a top-up's, never a
 * job's, and the deployer's top-up reconciler finds the top-ups in flight by it.
 */
export const TOP_UP_ID_PREFIX = 'tu-';

const instantSchema = z.iso.datetime({ offset: true });
const txHashOut = z.string().regex(/^0x[0-9a-fA-F]{64}$/);

/**
 * A top-up of a running job's escrow (issue 16), POST /v1/jobs/{jobId}/top-ups with an
 * Idempotency-Key (required: it becomes the top-up id, so a retry pays once): more time before the
 * deadline, priced at the match's hourly price for all the job's GPUs.
 */
export const topUpRequestSchema = apiComponent(
  'TopUpRequest',
  z.strictObject({
    extraRuntimeSec: z
      .number()
      .int()
      .min(1)
      .max(LIMITS.topUpExtraRuntimeSecMax)
      .describe(`seconds to add to the deadline: 1..${LIMITS.topUpExtraRuntimeSecMax} (7 days) per top-up; all top-ups of a job at most 30 days and 32 top-ups`),
  }),
  "more time for a running job: the escrow grows by the match's price for extraRuntimeSec (priceWeiPerGpuHour × gpuCount × extraRuntimeSec / 3600, rounded up), paid by the org",
);

export const topUpSchema = apiComponent(
  'TopUp',
  z.strictObject({
    jobId: idSchema,
    topUpId: idSchema.describe('derived from the org, the job and the Idempotency-Key: the escrow pays it once'),
    extraRuntimeSec: z.number().int().positive(),
    extraCostWei: weiStringSchema.describe('what this top-up added to the escrow'),
    escrowWei: weiStringSchema.describe('what the escrow holds now: release pays it, refund returns it'),
    deadlineAt: instantSchema.describe('the moved deadline'),
    txHash: txHashOut.describe('the transaction that paid the top-up'),
  }),
  "the top-up as the chain made it: the job's escrow and deadline now",
);
export type TopUpAnswer = z.input<typeof topUpSchema>;
