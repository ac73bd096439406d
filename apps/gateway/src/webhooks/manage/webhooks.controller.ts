import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import {
  createWebhookRequestSchema,
  deliveryLogSchema,
  listQuerySchema,
  redeliveryAcceptedSchema,
  WEBHOOK_HEADERS,
  webhookCreatedSchema,
  webhookListSchema,
  type WebhookCreated,
} from '@starminer/events';
import { IdPipe, ZodPipe } from '@starminer/service-kit';
import { ApiKeyGuard, type OrgRequest } from '../../auth/guards';
import { Operation } from '../../openapi';
import { WebhookDispatch } from '../deliver/webhook-dispatch.service';
import { Webhooks } from './webhooks';

const WIRE_FORMAT =
  'Each update of the org\'s jobs (the JobUpdate of GET /v1/jobs/{jobId}/events) is POSTed to the URL as a WebhookDelivery ' +
  '(`{ deliveryId, webhookId, event }`, content-type application/json) with the headers ' +
  `\`${WEBHOOK_HEADERS.webhookId}\`, \`${WEBHOOK_HEADERS.deliveryId}\`, \`${WEBHOOK_HEADERS.event}\` (the update's type) and ` +
  `\`${WEBHOOK_HEADERS.signature}: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>\`. ` +
  'Verify the signature over the raw body before parsing it, and refuse an old t (e.g. more than 5 minutes from your clock). ' +
  'Answer 2xx to acknowledge; anything else, a redirect or no answer within the timeout is retried with exponential backoff until ' +
  'the delivery has been pending a day (then it is failed, and POST .../redeliver tries it again). A webhook\'s deliveries are sent ' +
  'in log order, one at a time. A delivery may arrive more than once (a lost acknowledgement, a redelivery, a gateway restart): ' +
  'de-duplicate on deliveryId (or event.eventId).';

const EXAMPLE_WEBHOOK = {
  webhookId: 'wh_Zq3b1xYv9c2LmNp4Qr7sTw',
  url: 'https://hooks.example.com/starminer',
  description: 'job status to our scheduler',
  createdAt: '2026-11-27T12:00:00.000Z',
  consecutiveFailures: 0,
  retryAt: null,
};
const EXAMPLE_CREATED: WebhookCreated = { ...EXAMPLE_WEBHOOK, secret: `whsec_${'A'.repeat(43)}` };
const EXAMPLE_DELIVERY = {
  deliveryId: 'dlv_Yk2n8q0cW1d3e5f7g9h0i2j4k6l',
  webhookId: EXAMPLE_WEBHOOK.webhookId,
  jobId: 'job-7',
  eventId: '0194f6a2-7c1e-7b3a-9d2e-5f6a7b8c9d0e',
  seq: '1042',
  eventType: 'job.settled',
  status: 'delivered',
  createdAt: '2026-11-27T12:01:00.000Z',
  deliveredAt: '2026-11-27T12:01:30.120Z',
  failure: null,
  attemptCount: 2,
  attempts: [
    { at: '2026-11-27T12:01:00.050Z', statusCode: null, error: 'ECONNREFUSED', durationMs: 3 },
    { at: '2026-11-27T12:01:30.100Z', statusCode: 200, error: null, durationMs: 20 },
  ],
};

@ApiTags('webhooks')
@Controller('v1/webhooks')
@UseGuards(ApiKeyGuard)
export class WebhooksController {
  constructor(
    private readonly webhooks: Webhooks,
    private readonly dispatch: WebhookDispatch,
  ) {}

  @Post()
  @Operation({
    operationId: 'createWebhook',
    summary: "Create a webhook: every update of the org's jobs from now on is POSTed to its URL, signed with its secret (shown once)",
    description: WIRE_FORMAT,
    auth: 'apiKey',
    body: createWebhookRequestSchema,
    bodyExample: { url: EXAMPLE_WEBHOOK.url, description: EXAMPLE_WEBHOOK.description },
    answers: { 201: { schema: webhookCreatedSchema, description: 'the webhook, with its signing secret: keep it, it is never shown again', example: EXAMPLE_CREATED } },
    errors: ['WEBHOOK_LIMIT_REACHED', 'WEBHOOK_URL_NOT_ALLOWED'],
  })
  create(@Req() req: OrgRequest, @Body(new ZodPipe(createWebhookRequestSchema)) body: z.output<typeof createWebhookRequestSchema>) {
    return this.webhooks.create(req.orgId, body);
  }

  @Get()
  @Operation({
    operationId: 'listWebhooks',
    summary: "The org's webhooks (without their secrets), oldest first",
    auth: 'apiKey',
    answers: { 200: { schema: webhookListSchema, description: "the org's webhooks", example: { webhooks: [EXAMPLE_WEBHOOK] } } },
    errors: [],
  })
  list(@Req() req: OrgRequest) {
    return this.webhooks.list(req.orgId);
  }

  @Delete(':webhookId')
  @HttpCode(204)
  @Operation({
    operationId: 'deleteWebhook',
    summary: 'Delete a webhook: nothing more is sent to it, its pending deliveries included',
    auth: 'apiKey',
    answers: { 204: { description: 'deleted' } },
    errors: ['BAD_ID', 'WEBHOOK_NOT_FOUND'],
  })
  async delete(@Req() req: OrgRequest, @Param('webhookId', IdPipe) webhookId: string): Promise<void> {
    await this.webhooks.delete(req.orgId, webhookId);
  }

  @Get(':webhookId/deliveries')
  @Operation({
    operationId: 'listWebhookDeliveries',
    summary: "The webhook's delivery log, newest first: each delivery's status and its latest attempts (status code or error, duration, time)",
    auth: 'apiKey',
    query: listQuerySchema,
    answers: { 200: { schema: deliveryLogSchema, description: 'a page of deliveries; nextCursor pages on to older ones', example: { deliveries: [EXAMPLE_DELIVERY], nextCursor: null } } },
    errors: ['BAD_ID', 'BAD_CURSOR', 'WEBHOOK_NOT_FOUND'],
  })
  deliveries(@Req() req: OrgRequest, @Param('webhookId', IdPipe) webhookId: string, @Query(new ZodPipe(listQuerySchema)) q: z.output<typeof listQuerySchema>) {
    return this.webhooks.deliveries(req.orgId, webhookId, q);
  }

  @Post(':webhookId/deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  @Operation({
    operationId: 'redeliverWebhook',
    summary: 'Send a delivery again now, whatever its state (delivered, pending or failed); the attempt appears in the delivery log',
    auth: 'apiKey',
    answers: { 202: { schema: redeliveryAcceptedSchema, description: 'the delivery is pending again and is sent at once', example: { deliveryId: EXAMPLE_DELIVERY.deliveryId, status: 'pending' } } },
    errors: ['BAD_ID', 'WEBHOOK_NOT_FOUND', 'WEBHOOK_DELIVERY_NOT_FOUND'],
  })
  async redeliver(@Req() req: OrgRequest, @Param('webhookId', IdPipe) webhookId: string, @Param('deliveryId', IdPipe) deliveryId: string) {
    const answer = await this.webhooks.redeliver(req.orgId, webhookId, deliveryId);
    this.dispatch.wake();
    return answer;
  }
}
