import { createHash } from 'node:crypto';
import { IsNull, LessThan, type EntityManager } from 'typeorm';
import { jobStatusSchema, jobUpdateOf, webhookDeliverySchema, type TradeEvent } from '@starminer/events';
import type { StoredEvent } from '@starminer/trade-log';
import { WebhookDeliveryRow, WebhookJobRow, WebhookRow } from '../entities';

/**
 * A delivery's id: derived from the webhook and the event, so the same event for the same webhook
 * is the same delivery however often the log is replayed (and a receiver's de-duplication key).
 */
export function deliveryIdOf(webhookId: string, eventId: string): string {
  return `dlv_${createHash('sha256').update(`${webhookId}\n${eventId}`).digest('base64url').slice(0, 27)}`;
}

/**
 * The webhooks projection: for each job and contract event that a client sees as an update
 * (jobUpdateOf), one pending delivery per active webhook of the job's org that was created before
 * the event was appended, written in the batch's transaction with the checkpoint. The job's org
 * comes from its JobSubmitted, kept with the job's status (which a restored chain effect reports)
 * in this projection's own table. Every write is an upsert or an insert that ignores what is
 * there, so an event applied twice leaves the same rows.
 */
export async function applyToWebhooks(em: EntityManager, stored: StoredEvent): Promise<void> {
  const e = stored.event as TradeEvent;
  const jobs = em.getRepository(WebhookJobRow);
  if (e.type === 'JobSubmitted') {
    await jobs.createQueryBuilder().insert().values({ jobId: e.data.jobId, orgId: e.data.orgId, status: 'queued' }).orIgnore().execute();
  }
  const jobId = jobIdOf(e);
  if (!jobId) return;
  const job = await jobs.findOneBy({ jobId });
  // a job this gateway never saw submitted (the log trimmed before it): nobody to tell
  if (!job) return;
  const update = jobUpdateOf({ event: e, seq: stored.seq }, jobStatusSchema.parse(job.status));
  if (!update) return;
  if (update.status !== job.status) await jobs.update({ jobId }, { status: update.status });

  const webhooks = await em.getRepository(WebhookRow).find({
    where: { orgId: job.orgId, deletedAt: IsNull(), afterSeq: LessThan(String(stored.seq)) },
    select: { webhookId: true },
  });
  if (webhooks.length === 0) return;
  const at = new Date(e.occurredAt);
  const rows = webhooks.map(({ webhookId }) => {
    const deliveryId = deliveryIdOf(webhookId, e.id);
    // checked against the API's own schema: what a receiver gets is what the OpenAPI document says
    const body = JSON.stringify(webhookDeliverySchema.parse({ deliveryId, webhookId, event: update }));
    // the give-up age counts from when the gateway learned of the update: the row is written once (a replay inserts nothing)
    return { deliveryId, webhookId, orgId: job.orgId, jobId, eventId: e.id, seq: String(stored.seq), eventType: update.type, body, status: 'pending', createdAt: at, pendingSince: new Date(), attemptCount: 0 };
  });
  await em.getRepository(WebhookDeliveryRow).createQueryBuilder().insert().values(rows).orIgnore().execute();
}

function jobIdOf(e: TradeEvent): string | undefined {
  const data = e.data as { jobId?: unknown };
  return typeof data.jobId === 'string' ? data.jobId : undefined;
}
