import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WEBHOOK_HEADERS } from '@starminer/events';
import { readModelPerSpec } from '../../testing/read-model.testing';
import { WEBHOOK_ENTITIES, WebhookAttemptRow, WebhookDeliveryRow, WebhookRow } from '../entities';
import { WebhookDispatcher, WEBHOOK_LEASE_MARGIN_MS } from './dispatcher';
import type { RetryPolicy } from './policy';

/** The dispatcher on a real Postgres, sending to real HTTP receivers on 127.0.0.1; time is a clock the spec moves. */
const model = readModelPerSpec(WEBHOOK_ENTITIES, 4);
// each case on its own webhooks: what an earlier case left pending must not be claimed in a later one
beforeEach(async () => {
  for (const entity of WEBHOOK_ENTITIES) await model.ds.getRepository(entity).clear();
});

const SECRET = 'whsec_spec-secret';
const policy: RetryPolicy = { retryBaseMs: 1_000, retryMaxMs: 8_000, giveUpAfterMs: 60_000 };
const TIMEOUT_MS = 300;

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A receiver answering `status()` (or never, when it returns 'hang'), keeping what it got. */
async function receiver(status: () => number | 'hang' = () => 200): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const s = status();
      if (s !== 'hang') res.writeHead(s).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    got,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let clockMs = Date.UTC(2030, 0, 1);
const clock = () => clockMs;

// the receivers listen on 127.0.0.1: private targets allowed, as in the dev stack
function dispatcher(owner = 'replica-1', allowPrivateTargets = true): WebhookDispatcher {
  return new WebhookDispatcher({ dataSource: model.ds, policy, deliveryTimeoutMs: TIMEOUT_MS, owner, now: clock, random: () => 0, allowPrivateTargets });
}

let n = 0;
async function webhookWith(url: string, deliveries: number, over: Partial<WebhookRow> = {}): Promise<{ webhookId: string; deliveryIds: string[] }> {
  const webhookId = `wh-${++n}`;
  const now = new Date(clockMs);
  await model.ds.getRepository(WebhookRow).insert({ webhookId, orgId: 'org', url, description: null, secret: SECRET, createdAt: now, afterSeq: '0', deletedAt: null, consecutiveFailures: 0, nextAttemptAt: now, leaseUntil: null, leaseOwner: null, ...over });
  const deliveryIds: string[] = [];
  // written out of order: the dispatcher sends by log sequence
  for (const i of Array.from({ length: deliveries }, (_, k) => deliveries - 1 - k)) {
    const deliveryId = `dlv-${webhookId}-${i}`;
    deliveryIds.unshift(deliveryId);
    await model.ds.getRepository(WebhookDeliveryRow).insert({
      deliveryId,
      webhookId,
      orgId: 'org',
      jobId: 'job-1',
      eventId: `ev-${webhookId}-${i}`,
      seq: String(100 + i),
      eventType: 'job.queued',
      body: JSON.stringify({ deliveryId, webhookId, event: { seq: String(100 + i) } }),
      status: 'pending',
      createdAt: now,
      pendingSince: now,
      attemptCount: 0,
    });
  }
  return { webhookId, deliveryIds };
}

const deliveryRows = (webhookId: string) => model.ds.getRepository(WebhookDeliveryRow).find({ where: { webhookId }, order: { seq: 'ASC' } });
const attemptsOf = (deliveryId: string) => model.ds.getRepository(WebhookAttemptRow).find({ where: { deliveryId }, order: { id: 'ASC' } });
const webhookRow = (webhookId: string) => model.ds.getRepository(WebhookRow).findOneByOrFail({ webhookId });

async function runOnce(d: WebhookDispatcher): Promise<number> {
  const claimed = await d.round();
  await d.drain();
  return claimed;
}

function verifies(r: Received): boolean {
  const m = /^t=([0-9]+),v1=([0-9a-f]{64})$/.exec(String(r.headers[WEBHOOK_HEADERS.signature]));
  return !!m && createHmac('sha256', SECRET).update(`${m[1]}.${r.body}`).digest('hex') === m[2];
}

describe('the webhook dispatcher', () => {
  it('given pending deliveries, then it POSTs each in log order, signed, with the headers, and records them delivered', async () => {
    const rx = await receiver();
    const { webhookId, deliveryIds } = await webhookWith(rx.url, 3);
    expect(await runOnce(dispatcher())).toBe(1);
    expect(rx.got.map((r) => r.headers[WEBHOOK_HEADERS.deliveryId])).toEqual(deliveryIds);
    for (const r of rx.got) {
      expect(verifies(r)).toBe(true);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers[WEBHOOK_HEADERS.webhookId]).toBe(webhookId);
      expect(r.headers[WEBHOOK_HEADERS.event]).toBe('job.queued');
      expect(String(r.headers[WEBHOOK_HEADERS.signature])).toMatch(new RegExp(`^t=${Math.floor(clockMs / 1000)},`));
    }
    const rows = await deliveryRows(webhookId);
    expect(rows.map((r) => [r.status, r.attemptCount])).toEqual(deliveryIds.map(() => ['delivered', 1]));
    expect((await attemptsOf(deliveryIds[0])).map((a) => [a.statusCode, a.error])).toEqual([[200, null]]);
    // the lease is let go, nothing is due any more
    expect(await webhookRow(webhookId)).toMatchObject({ leaseUntil: null, leaseOwner: null, consecutiveFailures: 0 });
    expect(await runOnce(dispatcher())).toBe(0);
    await rx.close();
  });

  it('given private targets refused, then a receiver on 127.0.0.1 is never called: the attempt is recorded as not sent and the webhook backs off', async () => {
    const rx = await receiver();
    const { webhookId, deliveryIds } = await webhookWith(rx.url, 1);
    await runOnce(dispatcher('replica-1', false));
    expect(rx.got).toHaveLength(0);
    expect((await attemptsOf(deliveryIds[0])).map((a) => [a.statusCode, a.error])).toEqual([[null, 'not sent: 127.0.0.1 is not a public address']]);
    expect((await deliveryRows(webhookId)).map((r) => r.status)).toEqual(['pending']);
    expect((await webhookRow(webhookId)).consecutiveFailures).toBe(1);
    await rx.close();
  });

  it('given a receiver answering 500, then the first delivery is tried once, the webhook backs off, and after the backoff all go once it answers 2xx', async () => {
    let status = 500;
    const rx = await receiver(() => status);
    const { webhookId, deliveryIds } = await webhookWith(rx.url, 2);
    await runOnce(dispatcher());
    expect(rx.got).toHaveLength(1);
    expect(await webhookRow(webhookId)).toMatchObject({ consecutiveFailures: 1, nextAttemptAt: new Date(clockMs + policy.retryBaseMs / 2) });
    expect((await attemptsOf(deliveryIds[0])).map((a) => a.statusCode)).toEqual([500]);
    expect((await deliveryRows(webhookId)).map((r) => r.status)).toEqual(['pending', 'pending']);

    // not before its backoff
    clockMs += policy.retryBaseMs / 2 - 1;
    expect(await runOnce(dispatcher())).toBe(0);
    clockMs += 1;
    await runOnce(dispatcher());
    expect(await webhookRow(webhookId)).toMatchObject({ consecutiveFailures: 2, nextAttemptAt: new Date(clockMs + policy.retryBaseMs) });

    status = 204;
    clockMs += policy.retryBaseMs;
    await runOnce(dispatcher());
    expect(rx.got.map((r) => r.headers[WEBHOOK_HEADERS.deliveryId])).toEqual([deliveryIds[0], deliveryIds[0], deliveryIds[0], deliveryIds[1]]);
    expect((await deliveryRows(webhookId)).map((r) => [r.status, r.attemptCount])).toEqual([
      ['delivered', 3],
      ['delivered', 1],
    ]);
    expect(await webhookRow(webhookId)).toMatchObject({ consecutiveFailures: 0 });
    await rx.close();
  });

  it('given a receiver that is down or hangs, then the attempt records why, and a dead receiver does not hold back another webhook', async () => {
    const gone = await receiver();
    const deadUrl = gone.url;
    await gone.close();
    const slow = await receiver(() => 'hang');
    const healthy = await receiver();
    const dead = await webhookWith(deadUrl, 2);
    const hanging = await webhookWith(slow.url, 1);
    const fine = await webhookWith(healthy.url, 2);
    await runOnce(dispatcher());
    expect((await attemptsOf(dead.deliveryIds[0])).map((a) => [a.statusCode, a.error])).toEqual([[null, expect.stringMatching(/^ECONNREFUSED/)]]);
    expect(await attemptsOf(dead.deliveryIds[1])).toEqual([]);
    expect((await attemptsOf(hanging.deliveryIds[0])).map((a) => a.error)).toEqual([`timed out after ${TIMEOUT_MS} ms`]);
    expect((await deliveryRows(fine.webhookId)).map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect(healthy.got).toHaveLength(2);
    await slow.close();
    await healthy.close();
  });

  it('given deliveries pending past the give-up age when their turn comes, then they are failed without another attempt, and the younger ones are still tried', async () => {
    const rx = await receiver(() => 503);
    const { webhookId, deliveryIds } = await webhookWith(rx.url, 3);
    // the third became pending later (e.g. a redelivery): it is still within its age
    await model.ds.getRepository(WebhookDeliveryRow).update({ deliveryId: deliveryIds[2] }, { pendingSince: new Date(clockMs + policy.giveUpAfterMs) });
    clockMs += policy.giveUpAfterMs - 1;
    await runOnce(dispatcher());
    expect((await deliveryRows(webhookId)).map((r) => [r.status, r.attemptCount])).toEqual([
      ['pending', 1],
      ['pending', 0],
      ['pending', 0],
    ]);
    clockMs += policy.retryBaseMs / 2;
    await runOnce(dispatcher());
    const after = await deliveryRows(webhookId);
    expect(after.map((r) => [r.status, r.attemptCount])).toEqual([
      ['failed', 1],
      ['failed', 0],
      ['pending', 1],
    ]);
    expect(after[0].failure).toMatch(/^given up after 60 s pending/);
    expect(rx.got.map((r) => r.headers[WEBHOOK_HEADERS.deliveryId])).toEqual([deliveryIds[0], deliveryIds[2]]);
    await rx.close();
  });

  it('given a webhook leased by a replica that crashed mid-send, then nobody sends to it until the lease runs out, then another replica does', async () => {
    const rx = await receiver();
    const { webhookId } = await webhookWith(rx.url, 1, { leaseUntil: new Date(clockMs + TIMEOUT_MS + WEBHOOK_LEASE_MARGIN_MS), leaseOwner: 'crashed' });
    expect(await runOnce(dispatcher('replica-2'))).toBe(0);
    clockMs += TIMEOUT_MS + WEBHOOK_LEASE_MARGIN_MS + 1;
    expect(await runOnce(dispatcher('replica-2'))).toBe(1);
    expect((await deliveryRows(webhookId)).map((r) => r.status)).toEqual(['delivered']);
    expect(rx.got).toHaveLength(1);
    await rx.close();
  });

  it('given two replicas looking at once, then each webhook is sent by one of them, and each delivery once', async () => {
    const rx = await receiver();
    const hooks = await Promise.all(Array.from({ length: 6 }, () => webhookWith(rx.url, 3)));
    const [a, b] = [dispatcher('replica-a'), dispatcher('replica-b')];
    const claimed = await Promise.all([a.round(), b.round()]);
    await Promise.all([a.drain(), b.drain()]);
    // the one that came second may find some of them taken (skip locked) or done: together they did all, no more
    await Promise.all([runOnce(a), runOnce(b)]);
    expect(claimed[0] + claimed[1]).toBeGreaterThanOrEqual(1);
    const ids = rx.got.map((r) => String(r.headers[WEBHOOK_HEADERS.deliveryId]));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(hooks.flatMap((h) => h.deliveryIds).sort());
    await rx.close();
  });

  it('given a deleted webhook, then its pending deliveries are not sent', async () => {
    const rx = await receiver();
    await webhookWith(rx.url, 1, { deletedAt: new Date(clockMs), secret: null });
    expect(await runOnce(dispatcher())).toBe(0);
    expect(rx.got).toEqual([]);
    await rx.close();
  });
});
