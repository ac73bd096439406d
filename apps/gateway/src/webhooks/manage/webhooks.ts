import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { DomainError } from '@starminer/domain';
import { LIMITS, type CreateWebhookRequest, type Webhook, type WebhookCreated } from '@starminer/events';
import { InjectConfig, ServiceRuntime } from '@starminer/service-kit';
import type { GatewayConfig } from '../../gateway.config';
import { targetRefusal } from '../deliver/target';
import { WEBHOOKS_PROJECTION } from '../follow/webhooks-follower';
import { WebhookAttemptRow, WebhookDeliveryRow, WebhookRow } from '../entities';
import { newWebhookSecret } from '../deliver/signature';

/** Attempts shown per delivery in the delivery log (the latest); attemptCount counts them all. */
export const WEBHOOK_ATTEMPTS_SHOWN_MAX = 20;

export const newWebhookId = (): string => `wh_${randomBytes(16).toString('base64url')}`;

export function webhookToResponse(w: WebhookRow, nowMs: number): Webhook {
  return {
    webhookId: w.webhookId,
    url: w.url,
    description: w.description,
    createdAt: w.createdAt.toISOString(),
    consecutiveFailures: w.consecutiveFailures,
    retryAt: w.consecutiveFailures > 0 && w.nextAttemptAt.getTime() > nowMs ? w.nextAttemptAt.toISOString() : null,
  };
}

/** An org's webhooks and their delivery log: create, list, delete, read the log, redeliver. */
@Injectable()
export class Webhooks {
  constructor(
    private readonly rt: ServiceRuntime,
    @InjectConfig() private readonly config: GatewayConfig,
  ) {}

  /**
   * A new webhook of the org, receiving every update appended to the log after this moment (the
   * log's last sequence is read first), with its secret, answered this once. The count per org is
   * checked under a lock of the org, so two creations at once cannot pass the limit together.
   *
   * The row is inserted holding the webhooks projection's checkpoint lock, and its position is at
   * least that checkpoint: a batch the projection applied meanwhile (which could not see the row)
   * is below the webhook's position, and every later batch waits for the lock and sees the row, so
   * no update after the position is skipped.
   */
  async create(orgId: string, req: CreateWebhookRequest, nowMs = Date.now()): Promise<WebhookCreated> {
    // checked again before every attempt (a name may point elsewhere later); refused here so the org learns it now
    const refused = await targetRefusal(req.url, this.config.WEBHOOK_ALLOW_PRIVATE_TARGETS);
    if (refused) throw new DomainError('WEBHOOK_URL_NOT_ALLOWED', `the webhook URL is refused: ${refused}`);
    const logSeq = await this.rt.tradeLog.lastSeq();
    const secret = newWebhookSecret();
    const row = await this.rt.db.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`starminer.webhooks.${orgId}`]);
      const checkpoint = (await em.query(`SELECT last_seq FROM "${this.rt.service}".projection_checkpoint WHERE name = $1 FOR UPDATE`, [WEBHOOKS_PROJECTION])) as { last_seq: string }[];
      const afterSeq = Math.max(logSeq, Number(checkpoint[0]?.last_seq ?? 0));
      const active = await em.getRepository(WebhookRow).countBy({ orgId, deletedAt: IsNull() });
      if (active >= LIMITS.webhooksPerOrgMax) throw new DomainError('WEBHOOK_LIMIT_REACHED', `an org has at most ${LIMITS.webhooksPerOrgMax} webhooks; delete one first`, { limit: LIMITS.webhooksPerOrgMax });
      const now = new Date(nowMs);
      const w: WebhookRow = {
        webhookId: newWebhookId(),
        orgId,
        url: req.url,
        description: req.description ?? null,
        secret,
        createdAt: now,
        afterSeq: String(afterSeq),
        deletedAt: null,
        consecutiveFailures: 0,
        nextAttemptAt: now,
        leaseUntil: null,
        leaseOwner: null,
      };
      await em.insert(WebhookRow, w);
      return w;
    });
    return { ...webhookToResponse(row, nowMs), secret };
  }

  async list(orgId: string, nowMs = Date.now()): Promise<{ webhooks: Webhook[] }> {
    const rows = await this.rt.db.getRepository(WebhookRow).find({ where: { orgId, deletedAt: IsNull() }, order: { createdAt: 'ASC', webhookId: 'ASC' }, take: LIMITS.webhooksPerOrgMax });
    return { webhooks: rows.map((w) => webhookToResponse(w, nowMs)) };
  }

  /**
   * Deletes the webhook: nothing more is sent to it, and its secret is forgotten. Its pending
   * deliveries are failed with it (a turn in flight stops at its next lease renewal), so they leave
   * the pending count and its alert.
   */
  async delete(orgId: string, webhookId: string, nowMs = Date.now()): Promise<void> {
    await this.rt.db.transaction(async (em) => {
      const res = await em.getRepository(WebhookRow).update({ orgId, webhookId, deletedAt: IsNull() }, { deletedAt: new Date(nowMs), secret: null });
      if (!res.affected) throw notFound(webhookId);
      await em.getRepository(WebhookDeliveryRow).update({ webhookId, status: 'pending' }, { status: 'failed', failure: 'the webhook was deleted' });
    });
  }

  /** One active webhook of the org; another org's webhook does not exist for it. */
  async get(orgId: string, webhookId: string): Promise<WebhookRow> {
    const w = await this.rt.db.getRepository(WebhookRow).findOneBy({ orgId, webhookId, deletedAt: IsNull() });
    if (!w) throw notFound(webhookId);
    return w;
  }

  /**
   * The webhook's deliveries, newest first (by log sequence, then id), after the delivery named by
   * `cursor`, at most `limit`, each with its latest attempts. A cursor that names no delivery of
   * this webhook is BAD_CURSOR.
   */
  async deliveries(orgId: string, webhookId: string, page: { limit?: number; cursor?: string }) {
    await this.get(orgId, webhookId);
    const limit = page.limit ?? LIMITS.pageSizeDefault;
    const repo = this.rt.db.getRepository(WebhookDeliveryRow);
    const q = repo.createQueryBuilder('d').where('d.webhookId = :webhookId', { webhookId });
    if (page.cursor) {
      const after = await repo.findOne({ where: { webhookId, deliveryId: page.cursor }, select: { deliveryId: true, seq: true } });
      if (!after) throw new DomainError('BAD_CURSOR', 'the cursor is not one this endpoint handed out');
      q.andWhere('(d.seq, d.deliveryId) < (:seq, :id)', { seq: after.seq, id: after.deliveryId });
    }
    const rows = await q.orderBy('d.seq', 'DESC').addOrderBy('d.deliveryId', 'DESC').limit(limit).getMany();
    const attempts = await this.latestAttempts(rows.map((d) => d.deliveryId));
    return {
      deliveries: rows.map((d) => ({
        deliveryId: d.deliveryId,
        webhookId: d.webhookId,
        jobId: d.jobId,
        eventId: d.eventId,
        seq: d.seq,
        eventType: d.eventType,
        status: d.status,
        createdAt: d.createdAt.toISOString(),
        deliveredAt: d.deliveredAt?.toISOString() ?? null,
        failure: d.failure,
        attemptCount: d.attemptCount,
        attempts: (attempts.get(d.deliveryId) ?? []).map((a) => ({ at: a.at.toISOString(), statusCode: a.statusCode, error: a.error, durationMs: a.durationMs })),
      })),
      nextCursor: rows.length === limit ? rows[rows.length - 1].deliveryId : null,
    };
  }

  /**
   * Makes the delivery pending again whatever its state, with a fresh give-up age, and the
   * webhook due now (the request overrides its backoff): the dispatcher sends it at its next look.
   */
  async redeliver(orgId: string, webhookId: string, deliveryId: string, nowMs = Date.now()): Promise<{ deliveryId: string; status: 'pending' }> {
    await this.rt.db.transaction(async (em) => {
      const w = await em.getRepository(WebhookRow).findOneBy({ orgId, webhookId, deletedAt: IsNull() });
      if (!w) throw notFound(webhookId);
      const res = await em.update(WebhookDeliveryRow, { webhookId, deliveryId }, { status: 'pending', pendingSince: new Date(nowMs), deliveredAt: null, failure: null });
      if (!res.affected) throw new DomainError('WEBHOOK_DELIVERY_NOT_FOUND', `no delivery ${deliveryId} of webhook ${webhookId}`);
      await em.update(WebhookRow, { webhookId }, { nextAttemptAt: new Date(nowMs) });
    });
    return { deliveryId, status: 'pending' };
  }

  /** The latest WEBHOOK_ATTEMPTS_SHOWN_MAX attempts of each delivery, oldest first. */
  private async latestAttempts(deliveryIds: string[]): Promise<Map<string, WebhookAttemptRow[]>> {
    const out = new Map<string, WebhookAttemptRow[]>();
    if (deliveryIds.length === 0) return out;
    const table = this.rt.db.getMetadata(WebhookAttemptRow);
    const rows: { deliveryId: string; at: Date; statusCode: number | null; error: string | null; durationMs: number; id: string }[] = await this.rt.db.query(
      `SELECT a."id", a."deliveryId", a."at", a."statusCode", a."error", a."durationMs"
         FROM unnest($1::text[]) AS d("deliveryId")
         CROSS JOIN LATERAL (
           SELECT * FROM "${table.schema ?? this.rt.service}"."${table.tableName}" x
            WHERE x."deliveryId" = d."deliveryId" ORDER BY x."id" DESC LIMIT $2
         ) a`,
      [deliveryIds, WEBHOOK_ATTEMPTS_SHOWN_MAX],
    );
    for (const r of rows) out.set(r.deliveryId, [...(out.get(r.deliveryId) ?? []), { ...r, at: new Date(r.at) }]);
    for (const list of out.values()) list.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
    return out;
  }
}

const notFound = (webhookId: string): DomainError => new DomainError('WEBHOOK_NOT_FOUND', `no webhook ${webhookId} in your org`);
