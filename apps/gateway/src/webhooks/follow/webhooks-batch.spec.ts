import type { DataSource } from 'typeorm';
import { EXAMPLE_EVENT_DATA, type EventData, type EventType } from '@starminer/events';
import type { StoredEvent } from '@starminer/trade-log';
import { applyInBatches, cleared, redelivered, rowsOf as rowsIn, spreadThrough, itWritesWhatThePerEventPathWrites, type BatchPath } from '@starminer/service-testing';
import { readModelPerSpec, storedEvent } from '../../testing/read-model.testing';
import { jobLife, storedStream, viewsEvents, type PendingEvent } from '../../views/views-stream.testing';
import { WEBHOOK_ENTITIES, WebhookDeliveryRow, WebhookJobRow, WebhookRow } from '../entities';
import { applyWebhooksBatch, deliveriesOfBatch, foldWebhooksBatch } from './webhooks-batch';
import { applyToWebhooks, webhooksStepOf, type WebhookJob } from './webhooks.projection';

/**
 * The batch path of the webhooks projection (applyWebhooksBatch) against the per-event path
 * (applyToWebhooks), on a real Postgres: the same log (jobs of four orgs through every end, a job
 * whose submission the gateway never saw, events delivered twice) and the same webhooks (an org
 * with none, one with one, one with three: one created mid-log, one deleted), applied once per
 * event into one database and in batches into another, leaves every table the same, row for row.
 * Both paths run on one fixed clock, so `pendingSince` compares too.
 */
const perEvent = readModelPerSpec(WEBHOOK_ENTITIES);
const batched = readModelPerSpec(WEBHOOK_ENTITIES);
const NOW = new Date('2026-03-01T12:00:00.000Z');

/** The market's log, with what a log at least once delivered also holds. */
function logUnderTest(): StoredEvent[] {
  const market = viewsEvents({ jobs: 40, seed: 7, inFlight: 8, nodes: 4, orgs: 4, priceEvery: 6 });
  // a job whose submission the gateway never saw (another deployment's, or a log cut short): every other event of its life
  const lives = ['settled-restored', 'settled-lost', 'refunded', 'open-failed'] as const;
  const ghostEvents = lives.flatMap((outcome, i) => jobLife('job-ghost', 'org-3', 'node-1', EXAMPLE_EVENT_DATA.NodeRegistered.nodeAddress, outcome, 900 + i).slice(1));
  const pending: PendingEvent[] = spreadThrough(market, ghostEvents);
  const stored = storedStream(pending);

  // deliveries again, with the seq of the first: one at once, one later, a submission after its job's last event
  const { log, at, insertAfter } = redelivered(stored, 'job-ghost');
  insertAfter(at('JobMatched', 2), at('JobMatched', 2), 0);
  insertAfter(at('JobWaiting', 1), at('JobWaiting', 1), 20);
  const settledJob = (at('ContractReleased', 0).event.data as { jobId: string }).jobId;
  const ofSettledJob = stored.filter((s) => (s.event.data as { jobId?: string }).jobId === settledJob);
  insertAfter(ofSettledJob.at(-1)!, ofSettledJob[0]!, 3);
  insertAfter(at('ResultRejected', 0), at('ChainEffectRestored', 0), 2);
  // a waiting update of a job of an org with webhooks delivered again once the job has ended: its
  // update now says another status, but the delivery is the first one (its id is the same)
  const waitedJob = stored.find((s) => s.event.type === 'JobWaiting' && (s.event.data as { jobId: string }).jobId !== 'job-ghost' && orgOf(stored, s) === 'org-3')!;
  const ofWaitedJob = stored.filter((s) => (s.event.data as { jobId?: string }).jobId === (waitedJob.event.data as { jobId: string }).jobId);
  insertAfter(ofWaitedJob.at(-1)!, waitedJob, 0);
  insertAfter(at('ContractRefunded', 1), at('ContractRefunded', 1), 1);
  return log;
}

/** The org of the job an event names, from the job's submission on the log. */
function orgOf(stored: readonly StoredEvent[], s: StoredEvent): string | undefined {
  const jobId = (s.event.data as { jobId?: string }).jobId;
  const submitted = stored.find((x) => x.event.type === 'JobSubmitted' && (x.event.data as { jobId: string }).jobId === jobId);
  return (submitted?.event.data as { orgId?: string } | undefined)?.orgId;
}

const LOG = logUnderTest();
const MID_SEQ = Math.floor(LOG.length / 2);

/** org-1 has none; org-2 one; org-3 three: one from the start, one created mid-log, one deleted; org-4 one. */
function webhooksUnderTest(): WebhookRow[] {
  const created = new Date('2026-01-01T00:00:00.000Z');
  const row = (webhookId: string, orgId: string, over: Partial<WebhookRow> = {}): WebhookRow => ({
    webhookId,
    orgId,
    url: `https://hooks.example/${webhookId}`,
    description: null,
    secret: 'whsec_x',
    createdAt: created,
    afterSeq: '0',
    deletedAt: null,
    consecutiveFailures: 0,
    nextAttemptAt: created,
    leaseUntil: null,
    leaseOwner: null,
    ...over,
  });
  return [
    row('wh-2', 'org-2'),
    row('wh-3-first', 'org-3'),
    row('wh-3-late', 'org-3', { afterSeq: String(MID_SEQ) }),
    row('wh-3-gone', 'org-3', { deletedAt: created, secret: null }),
    row('wh-4', 'org-4'),
  ];
}

async function applyPerEvent(ds: DataSource, events: readonly StoredEvent[]): Promise<void> {
  for (const e of events) await ds.transaction((em) => applyToWebhooks(em, e, NOW));
}

/** The projection's rows go between checks; the webhooks (the orgs' configuration) stay. */
const WEBHOOKS: BatchPath = { apply: (em, events) => applyWebhooksBatch(em, events, NOW), entities: WEBHOOK_ENTITIES, written: [WebhookJobRow, WebhookDeliveryRow] };
const rowsOf = (ds: DataSource) => rowsIn(WEBHOOKS, ds);

type Delivery = { webhookId: string; jobId: string; seq: string; eventType: string; body: string };
let expected: Record<string, unknown[]>;

beforeAll(async () => {
  for (const ds of [perEvent.ds, batched.ds]) await ds.getRepository(WebhookRow).insert(webhooksUnderTest());
  await applyPerEvent(perEvent.ds, LOG);
  expected = await rowsOf(perEvent.ds);
}, 120_000);

describe('the webhooks projection written a batch at a time', () => {
  it('given the log applied per event, then it is a log worth comparing: every end a job reaches, each webhook its own share, the ghost job unseen', () => {
    const jobs = expected.webhook_jobs as { jobId: string; status: string }[];
    const deliveries = expected.webhook_deliveries as Delivery[];
    const of = (webhookId: string): Delivery[] => deliveries.filter((d) => d.webhookId === webhookId);
    // queued: the job whose submission was delivered again after it settled (as the per-event path leaves it)
    expect(new Set(jobs.map((j) => j.status))).toEqual(new Set(['settled', 'refunded', 'failed', 'cancelled', 'queued']));
    expect(jobs.find((j) => j.jobId === 'job-ghost')).toBeUndefined();
    expect(deliveries.filter((d) => d.jobId === 'job-ghost')).toEqual([]);
    expect(new Set(deliveries.map((d) => d.webhookId))).toEqual(new Set(['wh-2', 'wh-3-first', 'wh-3-late', 'wh-4']));
    expect(of('wh-3-late').length).toBeGreaterThan(0);
    expect(of('wh-3-late').every((d) => Number(d.seq) > MID_SEQ)).toBe(true);
    expect(of('wh-3-first').some((d) => Number(d.seq) <= MID_SEQ)).toBe(true);
    expect(deliveries.some((d) => d.eventType === 'job.chain-effect-restored')).toBe(true);
    expect(deliveries.some((d) => d.eventType === 'job.refunded')).toBe(true);
    expect(LOG.length).toBeGreaterThan(250);
  });

  itWritesWhatThePerEventPathWrites(WEBHOOKS, () => batched.ds, LOG, () => expected);

  it('given the first events applied, when the rest of the log is one batch, then it takes five statements: two reads, then one a kind of write', async () => {
    const FIRST = 120;
    await cleared(WEBHOOKS, batched.ds);
    await applyInBatches(WEBHOOKS, batched.ds, LOG.slice(0, FIRST), []);
    const statements = await batched.ds.transaction(async (em) => {
      const query = jest.spyOn(em, 'query');
      await applyWebhooksBatch(em, LOG.slice(FIRST), NOW);
      return query.mock.calls.length;
    });
    // the jobs read; jobs inserted (those submitted in the batch); statuses updated (those submitted before); webhooks read; deliveries inserted
    expect(statements).toBe(5);
    expect(await rowsOf(batched.ds)).toEqual(expected);
  });

  it('given a batch, then the fold writes one row a job and one a delivery, and sends nothing of a job it does not have', () => {
    const fold = foldWebhooksBatch(LOG, new Map());
    const rows = deliveriesOfBatch(fold.updates, webhooksUnderTest().filter((w) => w.deletedAt === null), NOW);
    expect(new Set(fold.jobsCreated.map((j) => j.jobId)).size).toBe(fold.jobsCreated.length);
    expect(fold.statusesChanged.size).toBe(0); // every job is new to an empty table
    expect(new Set(rows.map((r) => r.deliveryId)).size).toBe(rows.length);
    expect(rows).toHaveLength((expected.webhook_deliveries as unknown[]).length);
    expect(fold.updates.some((u) => u.update.jobId === 'job-ghost')).toBe(false);
  });
});

describe('the one decision per event (webhooksStepOf), shared by both paths', () => {
  const job = (status: string, orgId = 'org-a'): WebhookJob => ({ jobId: 'job-1', orgId, status });
  const at = <T extends EventType>(type: T, data: EventData<T>): StoredEvent => storedEvent(type, data, 42);

  it('given no row, when the job is submitted, then it is created queued and its org is sent job.queued', () => {
    const step = webhooksStepOf(at('JobSubmitted', { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId: 'job-1', orgId: 'org-a' }), undefined);
    expect(step.job).toEqual(job('queued'));
    expect(step.update).toMatchObject({ type: 'job.queued', status: 'queued', seq: '42' });
  });

  it('given a row, when its submission comes again, then the row keeps its org and the update moves it to queued', () => {
    const step = webhooksStepOf(at('JobSubmitted', { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId: 'job-1', orgId: 'org-other' }), job('settled'));
    expect(step.job).toEqual(job('queued'));
  });

  it('given no row, when an event of the job comes, then nobody is told and nothing is created', () => {
    expect(webhooksStepOf(at('JobMatched', { ...EXAMPLE_EVENT_DATA.JobMatched, jobId: 'job-1' }), undefined)).toEqual({ job: undefined, update: null });
  });

  it('given a settled job, when a chain effect is restored, then the update reports settled and the status stays', () => {
    const step = webhooksStepOf(at('ChainEffectRestored', { ...EXAMPLE_EVENT_DATA.ChainEffectRestored, jobId: 'job-1' }), job('settled'));
    expect(step).toMatchObject({ job: job('settled'), update: { type: 'job.chain-effect-restored', status: 'settled' } });
  });

  it('given a contracted job, when a refund is decided, then nothing is sent and the status stays', () => {
    expect(webhooksStepOf(at('SettlementDecided', { jobId: 'job-1', outcome: 'refund', reason: 'result rejected' }), job('contracted'))).toEqual({ job: job('contracted'), update: null });
  });

  it('given a row whose status is not one, when an event of the job comes, then it throws (the runner parks the event)', () => {
    expect(() => webhooksStepOf(at('JobStarted', { jobId: 'job-1', nodeId: 'node-1' }), job('lost'))).toThrow();
  });

  it('given a webhook created at the event, then it does not receive it; one created before does', () => {
    const fold = foldWebhooksBatch([at('JobSubmitted', { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId: 'job-1', orgId: 'org-a' })], new Map());
    const hooks = [
      { webhookId: 'wh-at', orgId: 'org-a', afterSeq: '42' },
      { webhookId: 'wh-before', orgId: 'org-a', afterSeq: '41' },
      { webhookId: 'wh-other-org', orgId: 'org-b', afterSeq: '0' },
    ];
    expect(deliveriesOfBatch(fold.updates, hooks, NOW).map((r) => r.webhookId)).toEqual(['wh-before']);
  });
});
