import type { z } from 'zod';
import { baseConfigSchema, chainConfigSchema, privateKeySchema } from '@starminer/service-kit';

/**
 * Settlement reads the log and its schema (base), the market's contracts (chain), and signs the
 * release, refund, dispute and slash transactions with the settlement role's key.
 */
export const settlementConfigSchema = baseConfigSchema.extend(chainConfigSchema.shape).extend({
  SETTLEMENT_PRIVATE_KEY: privateKeySchema,
});
export type SettlementConfig = z.output<typeof settlementConfigSchema>;
