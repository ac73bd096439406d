import { EXAMPLE_EVENT_DATA, webhookDeliverySchema, type EventData, type EventType } from '@starminer/events';
import { applyStored, readModelPerSpec, storedEvent } from '../../testing/read-model.testing';
import { WEBHOOK_ENTITIES, WebhookDeliveryRow, WebhookRow } from '../entities';
import { applyToWebhooks, deliveryIdOf } from './webhooks.projection';

/** The webhooks projection on a real Postgres, each event applied twice (at-least-once delivery of the log). */
const model = readModelPerSpec(WEBHOOK_ENTITIES);
let seq = 1000;

async function apply<T extends EventType>(type: T, data: EventData<T>): Promise<number> {
  seq += 1;
  await applyStored(model.ds, applyToWebhooks, storedEvent(type, data, seq), 2);
  return seq;
}

async function webhook(webhookId: string, orgId: string, over: Partial<WebhookRow> = {}): Promise<void> {
  const now = new Date();
  await model.ds.getRepository(WebhookRow).insert({ webhookId, orgId, url: 'http://127.0.0.1:1/hook', description: null, secret: 'whsec_x', createdAt: now, afterSeq: String(seq), deletedAt: null, consecutiveFailures: 0, nextAttemptAt: now, leaseUntil: null, leaseOwner: null, ...over });
}

const deliveriesOf = (webhookId: string) => model.ds.getRepository(WebhookDeliveryRow).find({ where: { webhookId }, order: { seq: 'ASC' } });

async function settled(jobId: string, orgId: string): Promise<void> {
  await apply('JobSubmitted', { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId, orgId });
  await apply('JobMatched', { ...EXAMPLE_EVENT_DATA.JobMatched, jobId });
  await apply('ContractOpened', { ...EXAMPLE_EVENT_DATA.ContractOpened, jobId });
  await apply('JobStarted', { ...EXAMPLE_EVENT_DATA.JobStarted, jobId });
  await apply('ResultSubmitted', { ...EXAMPLE_EVENT_DATA.ResultSubmitted, jobId });
  await apply('SettlementDecided', { jobId, outcome: 'release', reason: 'result and proof verified' });
  await apply('ContractReleased', { ...EXAMPLE_EVENT_DATA.ContractReleased, jobId });
}

describe('the webhooks projection: job updates into pending deliveries', () => {
  it('given a webhook of the org, when a job runs to settled (each event twice), then one pending delivery per update, in log order, each body a WebhookDelivery', async () => {
    await webhook('wh-a', 'org-a');
    await settled('job-a1', 'org-a');
    const rows = await deliveriesOf('wh-a');
    expect(rows.map((r) => r.eventType)).toEqual(['job.queued', 'job.matched', 'job.contracted', 'job.running', 'job.result-submitted', 'job.completed', 'job.settled']);
    expect(new Set(rows.map((r) => r.status))).toEqual(new Set(['pending']));
    for (const r of rows) {
      const body = webhookDeliverySchema.parse(JSON.parse(r.body));
      expect(body).toMatchObject({ deliveryId: r.deliveryId, webhookId: 'wh-a', event: { jobId: 'job-a1', eventId: r.eventId, seq: r.seq, type: r.eventType } });
      expect(r.deliveryId).toBe(deliveryIdOf('wh-a', r.eventId));
    }
  });

  it("given webhooks of two orgs, then each gets only its own org's jobs", async () => {
    await webhook('wh-b', 'org-b');
    await webhook('wh-c', 'org-c');
    await settled('job-b1', 'org-b');
    expect((await deliveriesOf('wh-b')).map((r) => r.jobId)).toEqual(Array(7).fill('job-b1'));
    expect(await deliveriesOf('wh-c')).toEqual([]);
  });

  it('given two webhooks of one org, then every update goes to both, with a delivery id of its own', async () => {
    await webhook('wh-d1', 'org-d');
    await webhook('wh-d2', 'org-d');
    await apply('JobSubmitted', { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId: 'job-d1', orgId: 'org-d' });
    const [d1, d2] = [await deliveriesOf('wh-d1'), await deliveriesOf('wh-d2')];
    expect(d1).toHaveLength(1);
    expect(d2).toHaveLength(1);
    expect(d1[0].eventId).toBe(d2[0].eventId);
    expect(d1[0].deliveryId).not.toBe(d2[0].deliveryId);
  });

  it('given a webhook created after an update was appended, or deleted, then it gets no delivery of it', async () => {
    await apply('JobSubmitted', { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId: 'job-e1', orgId: 'org-e' });
    // created while the projection is behind: the update is older than the webhook
    await webhook('wh-e-late', 'org-e', { afterSeq: String(seq) });
    await webhook('wh-e-gone', 'org-e', { afterSeq: '0', deletedAt: new Date(), secret: null });
    await applyStored(model.ds, applyToWebhooks, storedEvent('JobWaiting', { jobId: 'job-e1', reason: 'capacity' }, seq));
    expect(await deliveriesOf('wh-e-late')).toEqual([]);
    await apply('JobWaiting', { jobId: 'job-e1', reason: 'capacity' });
    expect((await deliveriesOf('wh-e-late')).map((r) => r.eventType)).toEqual(['job.waiting']);
    expect(await deliveriesOf('wh-e-gone')).toEqual([]);
  });

  it('given a chain effect restored after settlement, then its update carries the status the job had (settled)', async () => {
    await webhook('wh-f', 'org-f');
    await settled('job-f1', 'org-f');
    await apply('ChainEffectRestored', { ...EXAMPLE_EVENT_DATA.ChainEffectRestored, jobId: 'job-f1' });
    const last = (await deliveriesOf('wh-f')).at(-1)!;
    expect(JSON.parse(last.body).event).toMatchObject({ type: 'job.chain-effect-restored', status: 'settled' });
  });

  it('given events a client does not see (a refund decision, another aggregate), then nothing is written', async () => {
    await webhook('wh-g', 'org-g');
    await apply('JobSubmitted', { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId: 'job-g1', orgId: 'org-g' });
    await apply('SettlementDecided', { jobId: 'job-g1', outcome: 'refund', reason: 'no result before the deadline' });
    await apply('NodeRegistered', { ...EXAMPLE_EVENT_DATA.NodeRegistered });
    expect((await deliveriesOf('wh-g')).map((r) => r.eventType)).toEqual(['job.queued']);
  });
});
