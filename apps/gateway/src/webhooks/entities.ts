import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/**
 * An org's webhook, and the state of its receiver: failures in a row, when it may be tried again,
 * and the lease of the gateway replica that is sending to it now. Gateway-local data (like API
 * keys), not market events: a webhook is configuration of the edge.
 */
@Entity({ name: 'webhooks' })
@Index(['orgId', 'createdAt'])
export class WebhookRow {
  @PrimaryColumn({ type: 'text' }) webhookId!: string;
  @Column({ type: 'text' }) orgId!: string;
  @Column({ type: 'text' }) url!: string;
  @Column({ type: 'text', nullable: true }) description!: string | null;
  /**
   * The signing secret, as is: an HMAC needs the secret itself (unlike an API key, kept only as
   * its hash), and encrypting it with a key from this gateway's own configuration would protect it
   * only from someone holding the database and not the configuration. It is shown once at
   * creation and never answered again; null once the webhook is deleted.
   */
  @Column({ type: 'text', nullable: true }) secret!: string | null;
  @Column({ type: 'timestamptz' }) createdAt!: Date;
  /** The last trade-log sequence when it was created: it receives the updates after it. */
  @Column({ type: 'bigint' }) afterSeq!: string;
  @Column({ type: 'timestamptz', nullable: true }) deletedAt!: Date | null;
  @Column({ type: 'int', default: 0 }) consecutiveFailures!: number;
  /** Not before this is its receiver asked again (its backoff); now or earlier when it is healthy. */
  @Index() @Column({ type: 'timestamptz' }) nextAttemptAt!: Date;
  /** A replica sending to it holds it until then (renewed per delivery); a crashed one's lease runs out and another takes over. */
  @Column({ type: 'timestamptz', nullable: true }) leaseUntil!: Date | null;
  @Column({ type: 'text', nullable: true }) leaseOwner!: string | null;
}

/**
 * One update of one job for one webhook, written by the webhooks projection with its checkpoint:
 * its id derives from (webhook, event), so a replayed event writes nothing new. `body` is the
 * exact JSON every attempt sends.
 */
@Entity({ name: 'webhook_deliveries' })
@Index(['webhookId', 'eventId'], { unique: true })
@Index(['webhookId', 'seq'])
@Index('webhook_deliveries_pending', ['webhookId', 'seq'], { where: `"status" = 'pending'` })
export class WebhookDeliveryRow {
  @PrimaryColumn({ type: 'text' }) deliveryId!: string;
  @Column({ type: 'text' }) webhookId!: string;
  @Column({ type: 'text' }) orgId!: string;
  @Column({ type: 'text' }) jobId!: string;
  @Column({ type: 'text' }) eventId!: string;
  @Column({ type: 'bigint' }) seq!: string;
  @Column({ type: 'text' }) eventType!: string;
  @Column({ type: 'text' }) body!: string;
  /** pending | delivered | failed */
  @Column({ type: 'text' }) status!: string;
  @Column({ type: 'timestamptz' }) createdAt!: Date;
  /** Since when it waits for a 2xx: its creation, or the last redelivery request; the give-up age counts from here. */
  @Column({ type: 'timestamptz' }) pendingSince!: Date;
  @Column({ type: 'timestamptz', nullable: true }) deliveredAt!: Date | null;
  @Column({ type: 'text', nullable: true }) failure!: string | null;
  @Column({ type: 'int', default: 0 }) attemptCount!: number;
}

/** Every attempt at a delivery: the delivery log. */
@Entity({ name: 'webhook_delivery_attempts' })
@Index(['deliveryId', 'id'])
export class WebhookAttemptRow {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column({ type: 'text' }) deliveryId!: string;
  @Column({ type: 'timestamptz' }) at!: Date;
  @Column({ type: 'int', nullable: true }) statusCode!: number | null;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  @Column({ type: 'int' }) durationMs!: number;
}

/** The webhooks projection's own view of jobs: whose job it is, and its status (for updates that depend on it). */
@Entity({ name: 'webhook_jobs' })
export class WebhookJobRow {
  @PrimaryColumn({ type: 'text' }) jobId!: string;
  @Column({ type: 'text' }) orgId!: string;
  @Column({ type: 'text' }) status!: string;
}

export const WEBHOOK_ENTITIES = [WebhookRow, WebhookDeliveryRow, WebhookAttemptRow, WebhookJobRow];
