import { z } from 'zod';
import { baseConfigSchema, chainConfigSchema } from '@starminer/service-kit';

export const gatewayConfigSchema = baseConfigSchema.extend(chainConfigSchema.shape).extend({
  OPERATOR_TOKEN: z.string().min(16, 'OPERATOR_TOKEN must be at least 16 characters').max(256).regex(/^[\x21-\x7E]+$/, 'OPERATOR_TOKEN must be printable ASCII'),
  DEV_MODE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
