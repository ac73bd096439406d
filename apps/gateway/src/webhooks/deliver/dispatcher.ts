import { In, IsNull, type DataSource, type EntityManager } from 'typeorm';
import { LIMITS, truncateText, WEBHOOK_HEADERS } from '@starminer/events';
import { WebhookAttemptRow, WebhookDeliveryRow, WebhookRow } from '../entities';
import { afterAttempt, expiredBeforeAttempt, isAcknowledged, type AttemptDecision, type AttemptOutcome, type RetryPolicy } from './policy';
import { webhookSignatureHeader } from './signature';
import type { LookupFunction } from 'node:net';
import { postWebhook } from './post';
import { guardedLookup, literalRefusal, TargetRefusedError, type Resolve } from './target';

/** How often a replica looks for webhooks with due deliveries: the added latency of a delivery, against one indexed query per interval. */
export const WEBHOOK_POLL_INTERVAL_MS = 500;
/** Webhooks one replica sends to at once (one request in flight each): bounds its sockets and its share of the work. */
export const WEBHOOK_TURNS_CONCURRENT_MAX = 16;
/** Deliveries one turn sends to a webhook before it lets go: a busy webhook cannot keep its lease, and other replicas a share, forever. */
export const WEBHOOK_DELIVERIES_PER_TURN_MAX = 100;
/**
 * A lease outlasts the delivery in hand by this much (time for its writes, a GC pause); a replica
 * that crashed mid-send is replaced after at most the delivery timeout plus this.
 */
export const WEBHOOK_LEASE_MARGIN_MS = 15_000;

export interface DispatcherOptions {
  readonly dataSource: DataSource;
  readonly policy: RetryPolicy;
  readonly deliveryTimeoutMs: number;
  /** Names this replica in the leases it takes. */
  readonly owner: string;
  readonly now?: () => number;
  readonly random?: () => number;
  /** Told about a turn that failed for a reason of ours (the database away): the webhook's lease runs out and it is taken again. */
  readonly onError?: (err: unknown) => void;
  /** Reach loopback/private/link-local targets too (WEBHOOK_ALLOW_PRIVATE_TARGETS); otherwise each attempt checks the target first (target.ts). */
  readonly allowPrivateTargets?: boolean;
  /** How names are resolved when private targets are refused (tests). */
  readonly resolve?: Resolve;
  /** Told about every attempt, once it is recorded (metrics). */
  readonly onAttempt?: (outcome: AttemptOutcome, decision: AttemptDecision) => void;
}

/**
 * Sends webhook deliveries. The unit of work is a webhook (its receiver): a replica claims due
 * webhooks with SELECT ... FOR UPDATE SKIP LOCKED and a lease, so replicas share the work and no
 * two send to one webhook at once; a turn sends the webhook's pending deliveries in log order,
 * each signed anew, records every attempt, and stops at the first that is not acknowledged (the
 * webhook then backs off: policy.ts). A crash mid-send leaves the delivery pending and the lease
 * running out, so another replica (or this one, restarted) sends it again: delivery is at least
 * once, and receivers de-duplicate on the delivery id.
 */
export class WebhookDispatcher {
  private readonly ds: DataSource;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly lookup: LookupFunction | undefined;
  private readonly leaseMs: number;
  /** Turns in progress, by webhook id. */
  private readonly turns = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly opts: DispatcherOptions) {
    this.ds = opts.dataSource;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.lookup = opts.allowPrivateTargets ? undefined : guardedLookup(opts.resolve);
    this.leaseMs = opts.deliveryTimeoutMs + WEBHOOK_LEASE_MARGIN_MS;
  }

  /** Webhooks being sent to now. */
  get busy(): number {
    return this.turns.size;
  }

  /** Claims due webhooks for the free slots and starts a turn on each; resolves once they are claimed (not sent). Returns how many. */
  async round(): Promise<number> {
    if (this.stopped) return 0;
    const free = WEBHOOK_TURNS_CONCURRENT_MAX - this.turns.size;
    if (free <= 0) return 0;
    const claimed = await this.claim(free);
    for (const w of claimed) {
      const turn = this.turn(w)
        .catch((err: unknown) => this.opts.onError?.(err))
        .finally(() => this.turns.delete(w.webhookId));
      this.turns.set(w.webhookId, turn);
    }
    return claimed.length;
  }

  /** Resolves once every turn in progress has ended. */
  async drain(): Promise<void> {
    while (this.turns.size > 0) await Promise.all([...this.turns.values()]);
  }

  /** No new turn or delivery starts; the request in flight is awaited (bounded by the delivery timeout) and recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.drain();
  }

  /** Due webhooks (healthy or past their backoff, not leased, with a pending delivery), locked past other replicas and leased to this one. */
  private claim(max: number): Promise<WebhookRow[]> {
    const nowMs = this.now();
    const now = new Date(nowMs);
    return this.ds.transaction(async (em) => {
      const q = em
        .getRepository(WebhookRow)
        .createQueryBuilder('w')
        .where('w.deletedAt IS NULL')
        .andWhere('w.nextAttemptAt <= :now', { now })
        .andWhere('(w.leaseUntil IS NULL OR w.leaseUntil < :now)');
      if (this.turns.size > 0) q.andWhere('w.webhookId NOT IN (:...mine)', { mine: [...this.turns.keys()] });
      const due = await q
        .andWhere((sub) => `EXISTS ${sub.subQuery().select('1').from(WebhookDeliveryRow, 'd').where('d.webhookId = w.webhookId').andWhere(`d.status = 'pending'`).getQuery()}`)
        .orderBy('w.nextAttemptAt', 'ASC')
        .limit(max)
        .setLock('pessimistic_write')
        .setOnLocked('skip_locked')
        .getMany();
      if (due.length > 0) {
        await em.update(WebhookRow, { webhookId: In(due.map((w) => w.webhookId)) }, { leaseUntil: new Date(nowMs + this.leaseMs), leaseOwner: this.opts.owner });
      }
      return due;
    });
  }

  /** One webhook's turn: its pending deliveries in log order until one is not acknowledged; the lease is let go at the end. */
  private async turn(w: WebhookRow): Promise<void> {
    try {
      if (!w.secret) return;
      const pending = await this.ds.getRepository(WebhookDeliveryRow).find({
        where: { webhookId: w.webhookId, status: 'pending' },
        order: { seq: 'ASC', deliveryId: 'ASC' },
        take: WEBHOOK_DELIVERIES_PER_TURN_MAX,
      });
      let failures = w.consecutiveFailures;
      for (const d of pending) {
        if (this.stopped) return;
        const startMs = this.now();
        const expired = expiredBeforeAttempt(startMs, d.pendingSince.getTime(), this.opts.policy);
        if (expired) {
          await this.ds.getRepository(WebhookDeliveryRow).update({ deliveryId: d.deliveryId, status: 'pending', pendingSince: d.pendingSince }, { status: 'failed', failure: expired });
          continue;
        }
        // the lease renewed, or the turn ends: another replica took the webhook (a lease that ran out) or it was deleted
        const renewed = await this.ds.getRepository(WebhookRow).update({ webhookId: w.webhookId, leaseOwner: this.opts.owner, deletedAt: IsNull() }, { leaseUntil: new Date(startMs + this.leaseMs) });
        if (!renewed.affected) return;
        const outcome = await this.send(w.url, w.secret, d, startMs);
        const endMs = this.now();
        const decision = afterAttempt({ outcome, nowMs: endMs, pendingSinceMs: d.pendingSince.getTime(), consecutiveFailures: failures, policy: this.opts.policy, random: this.random() });
        await this.ds.transaction((em) => this.record(em, w, d, outcome, decision, startMs, endMs));
        this.opts.onAttempt?.(outcome, decision);
        failures = decision.consecutiveFailures;
        if (!decision.continueTurn) return;
      }
    } finally {
      await this.ds
        .getRepository(WebhookRow)
        .update({ webhookId: w.webhookId, leaseOwner: this.opts.owner }, { leaseUntil: null, leaseOwner: null })
        .catch((err: unknown) => this.opts.onError?.(err)); // the lease runs out by itself
    }
  }

  /** One signed POST of the delivery's body; never throws. Redirects are not followed: deliveries go to the configured URL only. */
  private async send(url: string, secret: string, d: WebhookDeliveryRow, nowMs: number): Promise<AttemptOutcome> {
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'StarMiner-Webhooks/1',
      [WEBHOOK_HEADERS.webhookId]: d.webhookId,
      [WEBHOOK_HEADERS.deliveryId]: d.deliveryId,
      [WEBHOOK_HEADERS.event]: d.eventType,
      [WEBHOOK_HEADERS.signature]: webhookSignatureHeader(secret, Math.floor(nowMs / 1000), d.body),
    };
    // an IP literal never reaches the lookup: checked here; a name is checked on the addresses the connection uses
    const refused = literalRefusal(url, this.opts.allowPrivateTargets ?? false);
    if (refused) return { kind: 'no-answer', error: truncateText(`not sent: ${refused}`, LIMITS.reasonLengthMax) };
    try {
      const statusCode = await postWebhook(url, headers, d.body, { timeoutMs: this.opts.deliveryTimeoutMs, lookup: this.lookup });
      return { kind: 'answered', statusCode };
    } catch (err) {
      return { kind: 'no-answer', error: truncateText(describeSendError(err, this.opts.deliveryTimeoutMs), LIMITS.reasonLengthMax) };
    }
  }

  /**
   * The attempt, the delivery's new status and the webhook's backoff, together. A delivery
   * redelivered while it was in flight (its pendingSince moved) keeps the new request pending.
   */
  private async record(em: EntityManager, w: WebhookRow, d: WebhookDeliveryRow, outcome: AttemptOutcome, decision: AttemptDecision, startMs: number, endMs: number): Promise<void> {
    await em.insert(WebhookAttemptRow, {
      deliveryId: d.deliveryId,
      at: new Date(startMs),
      statusCode: outcome.kind === 'answered' ? outcome.statusCode : null,
      error: outcome.kind === 'no-answer' ? outcome.error : null,
      durationMs: Math.max(0, endMs - startMs),
    });
    await em.increment(WebhookDeliveryRow, { deliveryId: d.deliveryId }, 'attemptCount', 1);
    if (decision.delivery !== 'pending') {
      await em.update(
        WebhookDeliveryRow,
        { deliveryId: d.deliveryId, status: 'pending', pendingSince: d.pendingSince },
        isAcknowledged(outcome) ? { status: 'delivered', deliveredAt: new Date(endMs), failure: null } : { status: 'failed', failure: decision.failure },
      );
    }
    await em.update(WebhookRow, { webhookId: w.webhookId }, { consecutiveFailures: decision.consecutiveFailures, nextAttemptAt: new Date(decision.nextAttemptAtMs) });
  }
}

/** Why an attempt got no answer, in a few words: a refused target as such, a timeout as such, else the system's code (ECONNREFUSED). */
export function describeSendError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; code?: string; cause?: { name?: string; code?: string; message?: string } };
  if (err instanceof TargetRefusedError) return `not sent: ${err.message}`;
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError' || e?.name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  const code = e?.code ?? e?.cause?.code;
  if (code) return code;
  return e?.cause?.message ?? e?.message ?? String(err);
}
