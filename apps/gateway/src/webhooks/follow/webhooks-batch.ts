import type { EntityManager } from 'typeorm';
import type { JobUpdate, TradeEvent } from '@starminer/events';
import { chunks, jobIdOf, tableOf } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import { WebhookDeliveryRow, WebhookJobRow, WebhookRow } from '../entities';
import { deliveryRowsOf, webhooksStepOf, type ActiveWebhook, type NewDeliveryRow, type WebhookJob } from './webhooks.projection';

/** One update of the batch to deliver: the event, what a client sees of it, and the org of its job. */
export interface UpdateToDeliver {
  readonly stored: Pick<StoredEvent, 'event' | 'seq'>;
  readonly update: JobUpdate;
  readonly orgId: string;
}

/** What a batch does to the job table, and the updates it sends, folded in log order. */
export interface WebhooksBatchFold {
  /** jobs the table does not have, as the batch leaves them (one row a job) */
  readonly jobsCreated: WebhookJob[];
  /** jobs the table has whose status the batch moves: the last status of each */
  readonly statusesChanged: Map<string, string>;
  /** in log order */
  readonly updates: UpdateToDeliver[];
}

/** The jobs whose rows a batch reads: every job an event of it names (a submission's too: a row that is there wins). */
export function jobsNamedBy(events: readonly Pick<StoredEvent, 'event'>[]): string[] {
  const ids = new Set<string>();
  for (const { event } of events) {
    const jobId = jobIdOf(event as TradeEvent);
    if (jobId !== undefined) ids.add(jobId);
  }
  return [...ids];
}

/**
 * Folds a batch in log order, given the rows the table holds of the jobs it names: what applying
 * `applyToWebhooks` to each event in turn does to the job table, and the updates it sends. Each
 * event goes through `webhooksStepOf` with the job as the fold has it just before the event. Pure.
 */
export function foldWebhooksBatch(events: readonly Pick<StoredEvent, 'event' | 'seq'>[], jobsBefore: ReadonlyMap<string, WebhookJob>): WebhooksBatchFold {
  const jobs = new Map<string, WebhookJob>(jobsBefore);
  const updates: UpdateToDeliver[] = [];
  for (const stored of events) {
    const jobId = jobIdOf(stored.event as TradeEvent);
    if (jobId === undefined) continue;
    const { job, update } = webhooksStepOf(stored, jobs.get(jobId));
    if (!job) continue;
    jobs.set(jobId, job);
    if (update) updates.push({ stored, update, orgId: job.orgId });
  }
  const jobsCreated: WebhookJob[] = [];
  const statusesChanged = new Map<string, string>();
  for (const [jobId, job] of jobs) {
    const before = jobsBefore.get(jobId);
    if (!before) jobsCreated.push(job);
    else if (job.status !== before.status) statusesChanged.set(jobId, job.status);
  }
  return { jobsCreated, statusesChanged, updates };
}

/**
 * The deliveries of a batch's updates, given the active webhooks of their orgs: `deliveryRowsOf`
 * each, in log order, one row a delivery id (the first: an event delivered twice in one batch is
 * one delivery, as the per-event path's second insert ignores it). Pure.
 */
export function deliveriesOfBatch(updates: readonly UpdateToDeliver[], webhooks: readonly ActiveWebhook[], now: Date): NewDeliveryRow[] {
  const byOrg = new Map<string, ActiveWebhook[]>();
  for (const w of webhooks) {
    const ofOrg = byOrg.get(w.orgId);
    if (ofOrg) ofOrg.push(w);
    else byOrg.set(w.orgId, [w]);
  }
  const rows = new Map<string, NewDeliveryRow>();
  for (const { stored, update, orgId } of updates) {
    const ofOrg = byOrg.get(orgId);
    if (!ofOrg) continue;
    for (const row of deliveryRowsOf(stored, update, orgId, ofOrg, now)) if (!rows.has(row.deliveryId)) rows.set(row.deliveryId, row);
  }
  return [...rows.values()];
}

/**
 * Writes a whole batch of the webhooks projection in a handful of statements, where
 * `applyToWebhooks` writes two to four per job event: one SELECT of the jobs the batch names, one
 * of the active webhooks of the orgs it updates, then one INSERT ... ON CONFLICT DO NOTHING of the
 * jobs it creates, one UPDATE of the statuses it moves, and one INSERT ... ON CONFLICT DO NOTHING
 * of its deliveries (each a statement per ROWS_PER_STATEMENT_MAX rows). The rows are those
 * `applyToWebhooks` leaves applying each event in order (foldWebhooksBatch), so an event applied
 * twice still leaves the same rows. Inside the runner's transaction, under its checkpoint lock,
 * which a webhook's creation takes too: no webhook appears meanwhile that the batch should see.
 */
export async function applyWebhooksBatch(em: EntityManager, events: readonly StoredEvent[], now: Date = new Date()): Promise<void> {
  if (events.length === 0) return;
  const fold = foldWebhooksBatch(events, await readJobs(em, jobsNamedBy(events)));
  await insertJobs(em, fold.jobsCreated);
  await updateStatuses(em, fold.statusesChanged);
  if (fold.updates.length === 0) return;
  const webhooks = await readActiveWebhooks(em, [...new Set(fold.updates.map((u) => u.orgId))]);
  if (webhooks.length === 0) return;
  await insertDeliveries(em, deliveriesOfBatch(fold.updates, webhooks, now));
}

async function readJobs(em: EntityManager, jobIds: readonly string[]): Promise<Map<string, WebhookJob>> {
  const jobs = new Map<string, WebhookJob>();
  if (jobIds.length === 0) return jobs;
  const t = tableOf(em, WebhookJobRow);
  const rows = (await em.query(`SELECT ${t.col('jobId')} AS "jobId", ${t.col('orgId')} AS "orgId", ${t.col('status')} AS status FROM ${t.name} WHERE ${t.col('jobId')} = ANY($1::text[])`, [
    jobIds,
  ])) as WebhookJob[];
  for (const r of rows) jobs.set(r.jobId, r);
  return jobs;
}

async function readActiveWebhooks(em: EntityManager, orgIds: readonly string[]): Promise<ActiveWebhook[]> {
  const t = tableOf(em, WebhookRow);
  return (await em.query(
    `SELECT ${t.col('webhookId')} AS "webhookId", ${t.col('orgId')} AS "orgId", ${t.col('afterSeq')}::text AS "afterSeq" FROM ${t.name} WHERE ${t.col('orgId')} = ANY($1::text[]) AND ${t.col('deletedAt')} IS NULL`,
    [orgIds],
  )) as ActiveWebhook[];
}

async function insertJobs(em: EntityManager, jobs: readonly WebhookJob[]): Promise<void> {
  const t = tableOf(em, WebhookJobRow);
  const sql = `INSERT INTO ${t.name} (${t.col('jobId')}, ${t.col('orgId')}, ${t.col('status')}) SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING`;
  for (const chunk of chunks(jobs)) {
    await em.query(sql, [chunk.map((j) => j.jobId), chunk.map((j) => j.orgId), chunk.map((j) => j.status)]);
  }
}

async function updateStatuses(em: EntityManager, statuses: ReadonlyMap<string, string>): Promise<void> {
  const t = tableOf(em, WebhookJobRow);
  const sql = `UPDATE ${t.name} AS t SET ${t.col('status')} = p.status FROM unnest($1::text[], $2::text[]) AS p(job_id, status) WHERE t.${t.col('jobId')} = p.job_id`;
  for (const chunk of chunks([...statuses])) {
    await em.query(sql, [chunk.map(([jobId]) => jobId), chunk.map(([, status]) => status)]);
  }
}

/** The columns of a delivery the projection writes, with their Postgres types (the unnest arrays'). */
const DELIVERY_COLUMNS = [
  ['deliveryId', 'text'],
  ['webhookId', 'text'],
  ['orgId', 'text'],
  ['jobId', 'text'],
  ['eventId', 'text'],
  ['seq', 'bigint'],
  ['eventType', 'text'],
  ['body', 'text'],
  ['status', 'text'],
  ['createdAt', 'timestamptz'],
  ['pendingSince', 'timestamptz'],
  ['attemptCount', 'int'],
] as const satisfies readonly (readonly [keyof NewDeliveryRow, string])[];

/** No conflict target, as `orIgnore()` of the per-event path: a row that is there by its id or by (webhook, event) stays. */
async function insertDeliveries(em: EntityManager, rows: readonly NewDeliveryRow[]): Promise<void> {
  const t = tableOf(em, WebhookDeliveryRow);
  const names = DELIVERY_COLUMNS.map(([p]) => t.col(p)).join(', ');
  const arrays = DELIVERY_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
  const sql = `INSERT INTO ${t.name} (${names}) SELECT * FROM unnest(${arrays}) ON CONFLICT DO NOTHING`;
  for (const chunk of chunks(rows)) {
    await em.query(
      sql,
      DELIVERY_COLUMNS.map(([p]) => chunk.map((row) => sqlValueOf(row[p]))),
    );
  }
}

const sqlValueOf = (v: string | number | Date): string | number => (v instanceof Date ? v.toISOString() : v);
