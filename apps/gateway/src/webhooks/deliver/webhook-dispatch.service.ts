import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { InjectConfig, ServiceRuntime, Ticker } from '@starminer/service-kit';
import { detached } from '@starminer/telemetry';
import type { GatewayConfig } from '../../gateway.config';
import { WebhookDeliveryRow } from '../entities';
import { WEBHOOK_POLL_INTERVAL_MS, WebhookDispatcher } from './dispatcher';
import { describeOutcome } from './policy';

/** The dispatcher in the gateway: started with it, stopped before its database closes, with metrics. */
@Injectable()
export class WebhookDispatch implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('webhooks');
  private readonly dispatcher: WebhookDispatcher;
  private readonly ticker: Ticker;

  constructor(rt: ServiceRuntime, @InjectConfig() config: GatewayConfig) {
    const attempts = new Counter({ name: 'starminer_webhook_attempts_total', help: 'Webhook delivery attempts, by result', labelNames: ['result'], registers: [rt.metrics] });
    const db = rt.db;
    new Gauge({
      name: 'starminer_webhook_deliveries_pending',
      help: 'Webhook deliveries not acknowledged yet',
      registers: [rt.metrics],
      async collect() {
        this.set(await db.getRepository(WebhookDeliveryRow).countBy({ status: 'pending' }).catch(() => -1));
      },
    });
    this.dispatcher = new WebhookDispatcher({
      dataSource: rt.db,
      policy: { retryBaseMs: config.WEBHOOK_RETRY_BASE_MS, retryMaxMs: config.WEBHOOK_RETRY_MAX_MS, giveUpAfterMs: config.WEBHOOK_GIVE_UP_AFTER_MS },
      deliveryTimeoutMs: config.WEBHOOK_DELIVERY_TIMEOUT_MS,
      allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
      owner: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
      onError: (err) => this.logger.warn(`a webhook turn failed (its lease runs out and it is taken again): ${(err as Error)?.message ?? String(err)}`),
      onAttempt: (outcome, decision) => {
        attempts.inc({ result: decision.delivery === 'delivered' ? 'delivered' : decision.delivery === 'failed' ? 'given-up' : 'retry' });
        if (decision.delivery === 'failed') this.logger.warn(`a webhook delivery was given up: ${decision.failure}`);
        else if (decision.delivery === 'pending' && decision.consecutiveFailures === 1) this.logger.log(`a webhook receiver is failing (${describeOutcome(outcome)}); backing off`);
      },
    });
    this.ticker = new Ticker('webhook-dispatch', WEBHOOK_POLL_INTERVAL_MS, async () => void (await this.dispatcher.round()), this.logger);
  }

  onApplicationBootstrap(): void {
    this.ticker.start();
  }

  /** Before the runtime closes the database: no new turn, and the requests in flight are recorded. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.ticker.stop();
    await this.dispatcher.stop();
  }

  /** Looks for due webhooks now (after a redelivery request) rather than at the next tick. */
  wake(): void {
    // asked from one request: the turns it starts serve every webhook, so none keeps its job or span
    void detached(() => this.ticker.tick());
  }
}
