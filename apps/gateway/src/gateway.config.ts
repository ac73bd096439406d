import { z } from 'zod';
import { baseConfigSchema, chainConfigSchema } from '@starminer/service-kit';
import { publicOriginsSchema } from './auth/node-deployment';
import { nodeSessionSecretSchema, nodeSessionTtlSchema } from './auth/node-sessions';
import { IN_PROGRESS_EXPIRY_SEC_DEFAULT, IN_PROGRESS_EXPIRY_SEC_MAX, IN_PROGRESS_EXPIRY_SEC_MIN } from './idempotency/idempotency-bounds';
import {
  WEBHOOK_DELIVERY_TIMEOUT_MS_DEFAULT,
  WEBHOOK_DELIVERY_TIMEOUT_MS_MAX,
  WEBHOOK_DELIVERY_TIMEOUT_MS_MIN,
  WEBHOOK_GIVE_UP_AFTER_MS_DEFAULT,
  WEBHOOK_GIVE_UP_AFTER_MS_MAX,
  WEBHOOK_GIVE_UP_AFTER_MS_MIN,
  WEBHOOK_RETRY_BASE_MS_DEFAULT,
  WEBHOOK_RETRY_MAX_MS_DEFAULT,
  WEBHOOK_RETRY_MS_MAX,
  WEBHOOK_RETRY_MS_MIN,
} from './webhooks/deliver/policy';
import {
  JOB_EVENTS_HEARTBEAT_SEC_DEFAULT,
  JOB_EVENTS_HEARTBEAT_SEC_MAX,
  JOB_EVENTS_HEARTBEAT_SEC_MIN,
  JOB_EVENTS_STREAMS_MAX_DEFAULT,
  JOB_EVENTS_STREAMS_MAX_LIMIT,
} from './job-events/job-events-limits';
import { ASSIGNMENT_WAITS_MAX_DEFAULT, ASSIGNMENT_WAITS_MAX_LIMIT } from './providers/assignment-limits';

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
  /**
   * The HMAC key of node session tokens (POST /v1/providers/sessions), at least 32 bytes. Every
   * gateway replica must have the same one (k8s: the starminer-keys Secret), or a token works only
   * on the replica that issued it. Unset: a random key per process, with a warning (an agent whose
   * token a replica refuses logs in again).
   */
  NODE_SESSION_SECRET: nodeSessionSecretSchema.optional(),
  /** How long a node session lasts (default LIMITS.nodeSessionTtlSecDefault, an hour; at most a day). */
  NODE_SESSION_TTL_SEC: nodeSessionTtlSchema,
  /** How long an Idempotency-Key's first attempt may stay unanswered before a retry takes it over (a gateway that crashed never answers). */
  IDEMPOTENCY_IN_PROGRESS_EXPIRY_SEC: z.coerce
    .number()
    .int()
    .min(IN_PROGRESS_EXPIRY_SEC_MIN, `IDEMPOTENCY_IN_PROGRESS_EXPIRY_SEC must outlast an attempt: at least ${IN_PROGRESS_EXPIRY_SEC_MIN}`)
    .max(IN_PROGRESS_EXPIRY_SEC_MAX)
    .default(IN_PROGRESS_EXPIRY_SEC_DEFAULT),
  /** A webhook receiver that fails is asked again after this, doubling per failure in a row (with jitter) up to WEBHOOK_RETRY_MAX_MS. */
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(WEBHOOK_RETRY_MS_MIN).max(WEBHOOK_RETRY_MS_MAX).default(WEBHOOK_RETRY_BASE_MS_DEFAULT),
  WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().min(WEBHOOK_RETRY_MS_MIN).max(WEBHOOK_RETRY_MS_MAX).default(WEBHOOK_RETRY_MAX_MS_DEFAULT),
  /** A delivery not acknowledged this long after it became pending is failed (POST .../redeliver tries it again). */
  WEBHOOK_GIVE_UP_AFTER_MS: z.coerce.number().int().min(WEBHOOK_GIVE_UP_AFTER_MS_MIN).max(WEBHOOK_GIVE_UP_AFTER_MS_MAX).default(WEBHOOK_GIVE_UP_AFTER_MS_DEFAULT),
  /**
   * `true` lets webhooks point at loopback, private and link-local addresses (the dev stack and the
   * tests, whose receivers are on 127.0.0.1). Off, only public unicast addresses are reached, so an
   * org cannot make the gateway call the platform's own network (webhooks/deliver/target.ts).
   */
  WEBHOOK_ALLOW_PRIVATE_TARGETS: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** How long one delivery waits for the receiver's answer before it counts as a failure. */
  WEBHOOK_DELIVERY_TIMEOUT_MS: z.coerce.number().int().min(WEBHOOK_DELIVERY_TIMEOUT_MS_MIN).max(WEBHOOK_DELIVERY_TIMEOUT_MS_MAX).default(WEBHOOK_DELIVERY_TIMEOUT_MS_DEFAULT),
  /** A comment line on every open job event stream this often, so proxies keep it open (job-events/job-events-limits.ts). */
  JOB_EVENTS_HEARTBEAT_SEC: z.coerce.number().int().min(JOB_EVENTS_HEARTBEAT_SEC_MIN).max(JOB_EVENTS_HEARTBEAT_SEC_MAX).default(JOB_EVENTS_HEARTBEAT_SEC_DEFAULT),
  /** Job event streams one gateway process serves at once; beyond, 503 TOO_MANY_STREAMS with Retry-After. */
  JOB_EVENTS_STREAMS_MAX: z.coerce.number().int().min(1).max(JOB_EVENTS_STREAMS_MAX_LIMIT).default(JOB_EVENTS_STREAMS_MAX_DEFAULT),
  /** Provider long polls (`GET .../assignments?waitMs=`) one gateway process holds open at once; beyond, a poll answers at once. */
  ASSIGNMENT_WAITS_MAX: z.coerce.number().int().min(1).max(ASSIGNMENT_WAITS_MAX_LIMIT).default(ASSIGNMENT_WAITS_MAX_DEFAULT),
});
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
