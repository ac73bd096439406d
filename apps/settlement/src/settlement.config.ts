import { z } from 'zod';
import { baseConfigSchema, chainConfigSchema, privateKeySchema } from '@starminer/service-kit';

export const settlementConfigSchema = baseConfigSchema.extend(chainConfigSchema.shape).extend({
  SETTLEMENT_PRIVATE_KEY: privateKeySchema,
});
export type SettlementConfig = z.output<typeof settlementConfigSchema>;
