import { z } from 'zod';
import { baseConfigSchema, chainConfigSchema } from '@starminer/service-kit';
import { publicOriginsSchema } from './auth/node-deployment';
import { IN_PROGRESS_EXPIRY_SEC_DEFAULT, IN_PROGRESS_EXPIRY_SEC_MAX, IN_PROGRESS_EXPIRY_SEC_MIN } from './idempotency/idempotency-bounds';

export const gatewayConfigSchema = baseConfigSchema.extend(chainConfigSchema.shape).extend({
  OPERATOR_TOKEN: z.string().min(16, 'OPERATOR_TOKEN must be at least 16 characters').max(256).regex(/^[\x21-\x7E]+$/, 'OPERATOR_TOKEN must be printable ASCII'),
  DEV_MODE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /**
   * The origins (comma-separated, `scheme://host[:port]`) provider agents reach this gateway at:
   * node request signatures are bound to one of them and to CHAIN_ID. Default: derived from
   * HTTP_HOST and the port it listens on (a loopback or wildcard host: http://127.0.0.1:<port> and
   * http://localhost:<port>). Set it behind a proxy or a Service (k8s: the URL agents call).
   */
  GATEWAY_PUBLIC_ORIGIN: publicOriginsSchema.optional(),
  /** How long an Idempotency-Key's first attempt may stay unanswered before a retry takes it over (a gateway that crashed never answers). */
  IDEMPOTENCY_IN_PROGRESS_EXPIRY_SEC: z.coerce
    .number()
    .int()
    .min(IN_PROGRESS_EXPIRY_SEC_MIN, `IDEMPOTENCY_IN_PROGRESS_EXPIRY_SEC must outlast an attempt: at least ${IN_PROGRESS_EXPIRY_SEC_MIN}`)
    .max(IN_PROGRESS_EXPIRY_SEC_MAX)
    .default(IN_PROGRESS_EXPIRY_SEC_DEFAULT),
});
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
