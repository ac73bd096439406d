import { z } from 'zod';
import { baseConfigSchema, chainConfigSchema, privateKeySchema } from '@starminer/service-kit';
import { defaultVerifyThreads, VERIFY_QUEUE_MAX_DEFAULT, VERIFY_QUEUE_MAX_LIMIT, VERIFY_THREADS_MAX } from './verify-results/verification-cost';

/**
 * Settlement reads the log and its schema (base), the market's contracts (chain), and signs the
 * release, refund, dispute and slash transactions with the settlement role's key. Results are
 * recomputed on SETTLEMENT_VERIFY_THREADS worker threads (heavy lane; default: the cores less one),
 * with at most SETTLEMENT_VERIFY_QUEUE_MAX results waiting per lane.
 */
export const settlementConfigSchema = baseConfigSchema.extend(chainConfigSchema.shape).extend({
  SETTLEMENT_PRIVATE_KEY: privateKeySchema,
  SETTLEMENT_VERIFY_THREADS: z.coerce.number().int().min(1).max(VERIFY_THREADS_MAX).default(() => defaultVerifyThreads()),
  SETTLEMENT_VERIFY_QUEUE_MAX: z.coerce.number().int().min(0).max(VERIFY_QUEUE_MAX_LIMIT).default(VERIFY_QUEUE_MAX_DEFAULT),
});
export type SettlementConfig = z.output<typeof settlementConfigSchema>;
