import { z } from 'zod';
import { baseConfigSchema, chainConfigSchema } from '@starminer/service-kit';

export const gatewayConfigSchema = baseConfigSchema.extend(chainConfigSchema.shape).extend({
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HTTP_HOST: z.string().default('127.0.0.1'),
  OPERATOR_TOKEN: z.string().min(16, 'OPERATOR_TOKEN must be at least 16 characters'),
  DEV_MODE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
