import { createHash } from 'node:crypto';
import { IsNull, type EntityManager } from 'typeorm';
import { jobStatusSchema, jobUpdateOf, webhookDeliverySchema, type JobUpdate, type TradeEvent } from '@starminer/events';
import { jobIdOf } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import { WebhookDeliveryRow, WebhookJobRow, WebhookRow } from '../entities';

/**
 * A delivery's id: derived from the webhook and the event, so the same event for the same webhook
 * is the same delivery however often the log is replayed (and a receiver's de-duplication key).
 */
export function deliveryIdOf(webhookId: string, eventId: string): string {
  return `dlv_${createHash('sha256').update(`${webhookId}\n${eventId}`).digest('base64url').slice(0, 27)}`;
}

/** A job as this projection's table holds it: whose it is, and its status. */
export type WebhookJob = Pick<WebhookJobRow, 'jobId' | 'orgId' | 'status'>;

/** An active (not deleted) webhook, as the projection reads it: whose it is, and from which log position it receives updates. */
export type ActiveWebhook = Pick<WebhookRow, 'webhookId' | 'orgId' | 'afterSeq'>;

/** The columns the projection writes of a delivery; the others take their defaults (null, 0). */
export type NewDeliveryRow = Omit<WebhookDeliveryRow, 'deliveredAt' | 'failure'>;

/** What one event does to the projection, given the job's row before it. */
export interface WebhooksStep {
  /** the job's row after the event (a submission of a job not there creates it, an update moves its status); undefined: no job to tell anyone of */
  readonly job: WebhookJob | undefined;
  /** the update the job's org is sent, or null */
  readonly update: JobUpdate | null;
}


/**
 * The one decision of the projection for one event, given the job's row before it (undefined: the
 * table has none). Pure: `applyToWebhooks` writes what it returns per event, `applyWebhooksBatch`
 * folds a batch of them (webhooks-batch.ts).
 * - A submission creates the job, queued, unless its row is there (a replay: the row wins).
 * - An event of a job the table does not have (its submission before the log was trimmed) tells nobody.
 * - The update reads the status before the event (a restored chain effect reports it; waiting and
 *   result updates keep it), and the job takes the update's status.
 * Throws (ZodError) when the row holds a status that is not one: the runner parks the event.
 */
export function webhooksStepOf(stored: Pick<StoredEvent, 'event' | 'seq'>, before: WebhookJob | undefined): WebhooksStep {
  const e = stored.event as TradeEvent;
  const job = before ?? (e.type === 'JobSubmitted' ? { jobId: e.data.jobId, orgId: e.data.orgId, status: 'queued' } : undefined);
  if (!job) return { job: undefined, update: null };
  const update = jobUpdateOf({ event: e, seq: stored.seq }, jobStatusSchema.parse(job.status));
  if (!update || update.status === job.status) return { job, update };
  return { job: { ...job, status: update.status }, update };
}

/**
 * Whether a webhook receives the update of the event at `seq`: only those created before the event
 * was appended (`afterSeq` below it). The caller reads active webhooks only (`deletedAt` null).
 */
export const webhookReceives = (webhook: Pick<ActiveWebhook, 'afterSeq'>, seq: number): boolean => BigInt(webhook.afterSeq) < BigInt(seq);

/**
 * The pending deliveries of one update of a job of `orgId`: one per webhook of `webhooks` (the
 * org's active ones) that receives it. `now` starts the give-up age (`pendingSince`): the gateway
 * learned of the update then; `createdAt` is the event's own time. Pure.
 */
export function deliveryRowsOf(stored: Pick<StoredEvent, 'event' | 'seq'>, update: JobUpdate, orgId: string, webhooks: readonly ActiveWebhook[], now: Date): NewDeliveryRow[] {
  const e = stored.event as TradeEvent;
  const at = new Date(e.occurredAt);
  const rows: NewDeliveryRow[] = [];
  for (const { webhookId } of webhooks.filter((w) => w.orgId === orgId && webhookReceives(w, stored.seq))) {
    const deliveryId = deliveryIdOf(webhookId, e.id);
    // checked against the API's own schema: what a receiver gets is what the OpenAPI document says
    const body = JSON.stringify(webhookDeliverySchema.parse({ deliveryId, webhookId, event: update }));
    rows.push({ deliveryId, webhookId, orgId, jobId: update.jobId, eventId: e.id, seq: String(stored.seq), eventType: update.type, body, status: 'pending', createdAt: at, pendingSince: now, attemptCount: 0 });
  }
  return rows;
}

/**
 * The webhooks projection: for each job and contract event that a client sees as an update
 * (jobUpdateOf), one pending delivery per active webhook of the job's org that was created before
 * the event was appended, written in the batch's transaction with the checkpoint. The job's org
 * comes from its JobSubmitted, kept with the job's status (which a restored chain effect reports)
 * in this projection's own table. Every write is an insert that ignores what is there or an update
 * to the value the event gives, so an event applied twice leaves the same rows. `now` (the clock
 * of `pendingSince`) is passed in by tests; the runner leaves it to the wall clock.
 */
export async function applyToWebhooks(em: EntityManager, stored: StoredEvent, now: Date = new Date()): Promise<void> {
  const jobId = jobIdOf(stored.event as TradeEvent);
  if (jobId === undefined) return;
  const jobs = em.getRepository(WebhookJobRow);
  const before = (await jobs.findOne({ where: { jobId }, select: { jobId: true, orgId: true, status: true } })) ?? undefined;
  const { job, update } = webhooksStepOf(stored, before);
  if (!job) return;
  if (!before) await jobs.createQueryBuilder().insert().values(job).orIgnore().execute();
  else if (job.status !== before.status) await jobs.update({ jobId }, { status: job.status });
  if (!update) return;

  const webhooks = await em.getRepository(WebhookRow).find({ where: { orgId: job.orgId, deletedAt: IsNull() }, select: { webhookId: true, orgId: true, afterSeq: true } });
  // the give-up age counts from when the gateway learned of the update: the row is written once (a replay inserts nothing)
  const rows = deliveryRowsOf(stored, update, job.orgId, webhooks, now);
  if (rows.length === 0) return;
  await em.getRepository(WebhookDeliveryRow).createQueryBuilder().insert().values(rows).orIgnore().execute();
}
