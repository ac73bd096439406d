import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import {
  deliveryLogSchema,
  LIMITS,
  WEBHOOK_HEADERS,
  webhookCreatedSchema,
  webhookDeliverySchema,
  webhookListSchema,
  type JobUpdate,
  type WebhookDelivery,
} from '@starminer/events';
import { listen } from '@starminer/service-kit';
import { eventually } from '@starminer/service-testing';
import { verifyWebhookSignature } from '@starminer/sdk';
import { createGateway } from '../src/main';
import { jobRequest, jobUpdatesOnLog, OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

/**
 * Webhooks end to end: the whole market in one process, a receiver on 127.0.0.1 that goes down
 * for a minute while a job runs to settled, and the gateway's dispatcher delivering every update
 * of the job once it is back, each signed with the webhook's secret. Backoff is shortened by the
 * gateway's configuration so the test waits seconds after the outage, not minutes.
 */
const AGPU = 10n ** 18n;
const OUTAGE_MS = 60_000;
const WEBHOOK_ENV = {
  WEBHOOK_RETRY_BASE_MS: '500',
  WEBHOOK_RETRY_MAX_MS: '4000',
  WEBHOOK_GIVE_UP_AFTER_MS: '600000',
  WEBHOOK_DELIVERY_TIMEOUT_MS: '2000',
};

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A webhook receiver that can go down and come back on the same port, keeping every request it answered 200. */
class Receiver {
  readonly got: Received[] = [];
  private server?: Server;
  port = 0;

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/starminer`;
  }

  /** The distinct deliveries received (a delivery may arrive more than once), by delivery id. */
  deliveries(): Map<string, WebhookDelivery> {
    return new Map(this.got.map((r) => [String(r.headers[WEBHOOK_HEADERS.deliveryId]), webhookDeliverySchema.parse(JSON.parse(r.body))]));
  }

  /** The updates of one job received, each once, in log order. */
  updatesOf(jobId: string): JobUpdate[] {
    return [...this.deliveries().values()].map((d) => d.event).filter((e) => e.jobId === jobId).sort((a, b) => Number(BigInt(a.seq) - BigInt(b.seq)));
  }
}

/** A receiver's check of one request, with node:crypto: HMAC-SHA256 over "<t>.<raw body>" under the secret. */
function signedWith(secret: string, r: Received): boolean {
  const m = /^t=([0-9]+),v1=([0-9a-f]{64})$/.exec(String(r.headers[WEBHOOK_HEADERS.signature]));
  if (!m) return false;
  return timingSafeEqual(createHmac('sha256', secret).update(`${m[1]}.${r.body}`).digest(), Buffer.from(m[2], 'hex'));
}

describe('webhooks: a receiver that was down gets every update of a job once it is back, signed', () => {
  let market: Market;
  let gatewayUrl: string;
  let restarted: INestApplication | undefined;
  let apiKey: string;
  const rx = new Receiver();
  let webhook: { webhookId: string; secret: string };

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of many shapes, each checked by its schema where it matters
  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
    const res = await fetch(`${gatewayUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async function submitJob(key: string): Promise<string> {
    const res = await call(
      'POST',
      '/v1/jobs',
      jobRequest({ workload: { seed: key } }),
      { 'idempotency-key': key },
    );
    expect(res.status).toBe(202);
    return res.body.jobId as string;
  }

  async function settled(jobId: string): Promise<void> {
    await eventually(async () => (await call('GET', `/v1/jobs/${jobId}`)).body?.status === 'settled', 90_000, 250);
  }

  const updatesOnLog = (jobId: string): Promise<JobUpdate[]> => jobUpdatesOnLog(market.log, jobId);

  const deliveryLog = async (): Promise<ReturnType<typeof deliveryLogSchema.parse>> => {
    const res = await call('GET', `/v1/webhooks/${webhook.webhookId}/deliveries?limit=100`);
    expect(res.status).toBe(200);
    return deliveryLogSchema.parse(res.body);
  };

  beforeAll(async () => {
    market = await startMarket({ env: WEBHOOK_ENV });
    gatewayUrl = market.gatewayUrl;
    const org = await fetch(`${gatewayUrl}/v1/orgs`, { method: 'POST', headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Hooked' }) });
    apiKey = ((await org.json()) as { apiKey: string }).apiKey;
    expect((await call('POST', '/v1/dev/faucet', { amountWei: (1000n * AGPU).toString() }, { 'idempotency-key': 'webhooks-faucet' })).status).toBe(200);
    await market.startAgent({ name: 'hook-agent', gpuModel: 'RTX4090', vramGiB: 24, region: 'eu-west' });
    await rx.start();
    const created = await call('POST', '/v1/webhooks', { url: rx.url, description: 'the test receiver' });
    expect(created.status).toBe(201);
    webhook = webhookCreatedSchema.parse(created.body);
  }, 180_000);

  afterAll(async () => {
    await rx.stop();
    await restarted?.close();
    await market?.stop();
  });

  it('lists the webhook without its secret, and refuses what is not an http(s) URL', async () => {
    const list = await call('GET', '/v1/webhooks');
    expect(list.status).toBe(200);
    expect(webhookListSchema.parse(list.body).webhooks).toEqual([expect.objectContaining({ webhookId: webhook.webhookId, url: rx.url, consecutiveFailures: 0, retryAt: null })]);
    expect(JSON.stringify(list.body)).not.toContain(webhook.secret);
    for (const url of ['ftp://127.0.0.1/x', 'not a url', 'http://user:pw@127.0.0.1/x', `http://127.0.0.1/${'a'.repeat(2048)}`]) {
      const res = await call('POST', '/v1/webhooks', { url });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect((await call('GET', '/v1/webhooks/wh_nope/deliveries')).body.error.code).toBe('WEBHOOK_NOT_FOUND');
  });

  it('keeps to the limit of webhooks per org, deletes, and shows no org the webhooks of another', async () => {
    const more: string[] = [];
    for (let i = 1; i < LIMITS.webhooksPerOrgMax; i++) {
      const res = await call('POST', '/v1/webhooks', { url: `http://127.0.0.1:9/extra-${i}` });
      expect(res.status).toBe(201);
      more.push(res.body.webhookId);
    }
    const over = await call('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/one-too-many' });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('WEBHOOK_LIMIT_REACHED');

    const other = await fetch(`${gatewayUrl}/v1/orgs`, { method: 'POST', headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Other' }) });
    const otherKey = ((await other.json()) as { apiKey: string }).apiKey;
    const asOther = { authorization: `Bearer ${otherKey}` };
    expect(webhookListSchema.parse((await call('GET', '/v1/webhooks', undefined, asOther)).body).webhooks).toEqual([]);
    expect((await call('DELETE', `/v1/webhooks/${webhook.webhookId}`, undefined, asOther)).body.error.code).toBe('WEBHOOK_NOT_FOUND');
    expect((await call('GET', `/v1/webhooks/${webhook.webhookId}/deliveries`, undefined, asOther)).body.error.code).toBe('WEBHOOK_NOT_FOUND');

    for (const id of more) expect((await call('DELETE', `/v1/webhooks/${id}`)).status).toBe(204);
    expect((await call('DELETE', `/v1/webhooks/${more[0]}`)).body.error.code).toBe('WEBHOOK_NOT_FOUND');
    expect(webhookListSchema.parse((await call('GET', '/v1/webhooks')).body).webhooks.map((w) => w.webhookId)).toEqual([webhook.webhookId]);
  });

  it(
    'delivers every update of a job run while the receiver was down for a minute, once it is back, each signature verifying; the log shows the failed attempts; redeliver sends one again',
    async () => {
      await rx.stop();
      const downAt = Date.now();
      const jobId = await submitJob('webhooks-outage');
      await settled(jobId);
      const expected = await updatesOnLog(jobId);
      expect(expected.map((u) => u.type)).toEqual(expect.arrayContaining(['job.queued', 'job.matched', 'job.contracted', 'job.running', 'job.completed', 'job.settled']));

      // while it is down: every update is pending, the first one tried and refused, the webhook backing off
      await eventually(async () => (await deliveryLog()).deliveries.filter((d) => d.jobId === jobId).length === expected.length, 30_000, 250);
      await eventually(async () => (await deliveryLog()).deliveries.some((d) => d.attemptCount >= 2), 30_000, 250);
      const during = (await deliveryLog()).deliveries.filter((d) => d.jobId === jobId);
      expect(new Set(during.map((d) => d.status))).toEqual(new Set(['pending']));
      expect(during.flatMap((d) => d.attempts).every((a) => a.statusCode === null && /ECONNREFUSED/.test(a.error ?? ''))).toBe(true);
      const hook = webhookListSchema.parse((await call('GET', '/v1/webhooks')).body).webhooks[0];
      expect(hook.consecutiveFailures).toBeGreaterThanOrEqual(2);
      expect(rx.got).toEqual([]);

      // a minute down, then back on the same port
      await new Promise((r) => setTimeout(r, Math.max(0, downAt + OUTAGE_MS - Date.now())));
      await rx.start();
      await eventually(() => rx.updatesOf(jobId).length >= expected.length, 30_000, 100);

      // every update the log has for the job, none missing, none made up, in log order
      expect(rx.updatesOf(jobId)).toEqual(expected);
      for (const r of rx.got) {
        expect(signedWith(webhook.secret, r)).toBe(true);
        expect(signedWith(`${webhook.secret}x`, r)).toBe(false);
        // the SDK's verifier (WebCrypto) agrees on the wire format
        expect(await verifyWebhookSignature({ secret: webhook.secret, body: r.body, signatureHeader: String(r.headers[WEBHOOK_HEADERS.signature]) })).toBe(true);
        const body = webhookDeliverySchema.parse(JSON.parse(r.body));
        expect(r.headers[WEBHOOK_HEADERS.webhookId]).toBe(webhook.webhookId);
        expect(r.headers[WEBHOOK_HEADERS.deliveryId]).toBe(body.deliveryId);
        expect(r.headers[WEBHOOK_HEADERS.event]).toBe(body.event.type);
        expect(r.headers['content-type']).toBe('application/json');
      }
      // a webhook's deliveries arrive in log order
      const seqs = rx.got.map((r) => BigInt(webhookDeliverySchema.parse(JSON.parse(r.body)).event.seq));
      expect(seqs).toEqual([...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));

      // the delivery log: all delivered; the first update tried while the receiver was down, then acknowledged
      await eventually(async () => (await deliveryLog()).deliveries.filter((d) => d.jobId === jobId).every((d) => d.status === 'delivered'), 10_000, 250);
      const log = (await deliveryLog()).deliveries.filter((d) => d.jobId === jobId);
      const first = log.find((d) => d.eventType === 'job.queued')!;
      expect(first.attemptCount).toBeGreaterThanOrEqual(3);
      expect(first.attempts.at(-1)).toMatchObject({ statusCode: 200, error: null });
      expect(first.attempts.slice(0, -1).every((a) => a.statusCode === null && /ECONNREFUSED/.test(a.error ?? ''))).toBe(true);
      expect(first.deliveredAt).not.toBeNull();
      expect(webhookListSchema.parse((await call('GET', '/v1/webhooks')).body).webhooks[0]).toMatchObject({ consecutiveFailures: 0, retryAt: null });

      // redelivery on request: the same delivery again, recorded as one more attempt
      const settledDelivery = log.find((d) => d.eventType === 'job.settled')!;
      const before = rx.got.length;
      const again = await call('POST', `/v1/webhooks/${webhook.webhookId}/deliveries/${settledDelivery.deliveryId}/redeliver`);
      expect(again.status).toBe(202);
      expect(again.body).toEqual({ deliveryId: settledDelivery.deliveryId, status: 'pending' });
      await eventually(() => rx.got.length > before, 10_000, 50);
      const resent = rx.got.slice(before);
      expect(resent.map((r) => r.headers[WEBHOOK_HEADERS.deliveryId])).toEqual([settledDelivery.deliveryId]);
      expect(signedWith(webhook.secret, resent[0])).toBe(true);
      await eventually(async () => (await deliveryLog()).deliveries.find((d) => d.deliveryId === settledDelivery.deliveryId)?.attemptCount === settledDelivery.attemptCount + 1, 10_000, 100);
      expect((await call('POST', `/v1/webhooks/${webhook.webhookId}/deliveries/dlv_nope/redeliver`)).body.error.code).toBe('WEBHOOK_DELIVERY_NOT_FOUND');
    },
    240_000,
  );

  it(
    'delivers what was pending when the gateway stopped, from the gateway started again',
    async () => {
      await rx.stop();
      const jobId = await submitJob('webhooks-restart');
      await settled(jobId);
      const expected = await updatesOnLog(jobId);
      await eventually(async () => (await deliveryLog()).deliveries.filter((d) => d.jobId === jobId && d.status === 'pending').length === expected.length, 30_000, 250);

      // the gateway goes away with its deliveries pending; another one starts on the same database and log
      await market.gateway.close();
      restarted = await createGateway({ logger: ['error', 'warn'] });
      gatewayUrl = await listen(restarted);
      await rx.start();
      await eventually(() => rx.updatesOf(jobId).length >= expected.length, 30_000, 100);
      expect(rx.updatesOf(jobId)).toEqual(expected);
      for (const r of rx.got) expect(signedWith(webhook.secret, r)).toBe(true);
      await eventually(async () => (await deliveryLog()).deliveries.filter((d) => d.jobId === jobId).every((d) => d.status === 'delivered'), 10_000, 250);
    },
    180_000,
  );
});
