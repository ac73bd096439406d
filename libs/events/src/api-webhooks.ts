import { z } from 'zod';
import { apiComponent } from './api-components';
import { jobUpdateSchema, JOB_UPDATE_TYPES } from './job-updates';
import { LIMITS } from './limits';
import { idSchema, text } from './primitives';

/**
 * Webhooks: an org's URLs that receive every update of its jobs (the JobUpdate of SSE), signed
 * with HMAC-SHA256, retried with backoff until acknowledged, and logged.
 *
 * The wire format (gateway sends, the SDK's verifyWebhookSignature checks): POST <url>,
 * `content-type: application/json`, body = JSON of WebhookDelivery, and the headers below, where
 * `starminer-signature` is `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 */
export const WEBHOOK_HEADERS = {
  webhookId: 'starminer-webhook-id',
  deliveryId: 'starminer-delivery-id',
  /** the JobUpdate's type, so a receiver can route before it parses */
  event: 'starminer-event',
  signature: 'starminer-signature',
} as const;

/** A webhook's signing secret: `whsec_` and 32 random bytes as base64url. */
export const WEBHOOK_SECRET_PATTERN = /^whsec_[A-Za-z0-9_-]{43}$/;

const instantSchema = z.iso.datetime({ offset: true });

/** Where a webhook is sent: an absolute http(s) URL, without credentials (they would be shown in every listing; the signature authenticates us instead). */
export const webhookUrlSchema = text(LIMITS.webhookUrlLengthMax, 1).refine((s) => {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return false;
  }
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '' && u.hostname !== '';
}, 'an absolute http:// or https:// URL without user:password@');

export const createWebhookRequestSchema = apiComponent(
  'CreateWebhookRequest',
  z.strictObject({
    url: webhookUrlSchema,
    description: text(LIMITS.webhookDescriptionLengthMax).optional(),
  }),
  `a webhook to create: where to POST every update of the org's jobs (at most ${LIMITS.webhooksPerOrgMax} webhooks per org)`,
);
export type CreateWebhookRequest = z.output<typeof createWebhookRequestSchema>;

export const webhookSchema = apiComponent(
  'Webhook',
  z.strictObject({
    webhookId: idSchema,
    url: z.string().max(LIMITS.webhookUrlLengthMax),
    description: z.string().max(LIMITS.webhookDescriptionLengthMax).nullable(),
    createdAt: instantSchema,
    /** deliveries to this URL that failed one after the other, since its last 2xx (0 when it is healthy) */
    consecutiveFailures: z.number().int().nonnegative(),
    /** when the next attempt is due while the receiver is failing; null when it is healthy */
    retryAt: instantSchema.nullable(),
  }),
  "an org's webhook: every update of the org's jobs appended after its creation is POSTed to url",
);
export type Webhook = z.infer<typeof webhookSchema>;

export const webhookCreatedSchema = apiComponent(
  'WebhookCreated',
  webhookSchema.extend({
    /** shown once, here: keep it to verify the `starminer-signature` of every delivery */
    secret: z.string().regex(WEBHOOK_SECRET_PATTERN),
  }),
  'a webhook just created, with its signing secret: shown this once, never again',
);
export type WebhookCreated = z.infer<typeof webhookCreatedSchema>;

export const webhookListSchema = apiComponent('WebhookList', z.strictObject({ webhooks: z.array(webhookSchema).max(LIMITS.webhooksPerOrgMax) }), "the org's webhooks, oldest first");

/**
 * The body of one delivery. A delivery may arrive more than once (a retry after a lost
 * acknowledgement, a redelivery on request, a gateway that crashed mid-send): receivers
 * de-duplicate on deliveryId (or on event.eventId across webhooks).
 */
export const webhookDeliverySchema = apiComponent(
  'WebhookDelivery',
  z.strictObject({
    deliveryId: idSchema,
    webhookId: idSchema,
    event: jobUpdateSchema,
  }),
  'the JSON body POSTed to a webhook URL: one update of a job. May arrive more than once: de-duplicate on deliveryId',
);
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

export const webhookDeliveryAttemptSchema = apiComponent(
  'WebhookDeliveryAttempt',
  z.strictObject({
    at: instantSchema,
    /** the receiver's HTTP status; null when it gave none (refused, timed out, reset) */
    statusCode: z.number().int().min(100).max(599).nullable(),
    /** why the attempt failed when the receiver gave no status (e.g. `ECONNREFUSED`, `timed out after 10000 ms`) */
    error: z.string().max(LIMITS.reasonLengthMax).nullable(),
    durationMs: z.number().int().nonnegative(),
  }),
  'one attempt at a delivery: a 2xx acknowledges it; anything else is retried with backoff',
);

export const webhookDeliveryRecordSchema = apiComponent(
  'WebhookDeliveryRecord',
  z.strictObject({
    deliveryId: idSchema,
    webhookId: idSchema,
    jobId: idSchema,
    eventId: z.string().min(1).max(LIMITS.idLengthMax),
    /** the update's trade-log sequence (decimal string), as in JobUpdate.seq */
    seq: z.string().regex(/^[1-9][0-9]{0,19}$/),
    eventType: z.enum(JOB_UPDATE_TYPES),
    /** pending: not acknowledged yet (retried); delivered: a 2xx came back; failed: given up (POST .../redeliver tries again) */
    status: z.enum(WEBHOOK_DELIVERY_STATUSES),
    createdAt: instantSchema,
    deliveredAt: instantSchema.nullable(),
    /** why it was given up, when it was */
    failure: z.string().max(LIMITS.reasonLengthMax).nullable(),
    attemptCount: z.number().int().nonnegative(),
    /** the latest attempts, oldest first (at most the last 20; attemptCount counts them all) */
    attempts: z.array(webhookDeliveryAttemptSchema),
  }),
  'one delivery of one job update to one webhook, with its latest attempts',
);

export const deliveryLogSchema = apiComponent(
  'DeliveryLog',
  z.strictObject({
    deliveries: z.array(webhookDeliveryRecordSchema).max(LIMITS.pageSizeMax),
    /** pass as ?cursor= for the next (older) page; null on the last page */
    nextCursor: z.string().nullable(),
  }),
  "a page of a webhook's deliveries, newest first",
);

export const redeliveryAcceptedSchema = apiComponent(
  'RedeliveryAccepted',
  z.strictObject({ deliveryId: idSchema, status: z.literal('pending') }),
  'the delivery is pending again and will be sent now (whatever its state was)',
);
