import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ServiceRuntime, type ReadModel } from '@starminer/service-kit';
import { WebhookJobRow } from '../entities';
import { applyWebhooksBatch } from './webhooks-batch';
import { applyToWebhooks } from './webhooks.projection';

/** The projection's name: its checkpoint row and the reader its parked events are filed under. */
export const WEBHOOKS_PROJECTION = 'webhooks';

/**
 * The webhooks projection as a read model. A batch in a handful of statements; a batch of one takes
 * the per-event path, which writes the same rows. Only its job table is the log's alone: the
 * deliveries it writes depend on the org's webhooks (configuration, not the log) and the clock, so a
 * rebuild keeps them (a replay writes none again) and the auditor's digest covers the job table.
 */
export const WEBHOOKS_MODEL: ReadModel = {
  name: WEBHOOKS_PROJECTION,
  kinds: ['job', 'contract'],
  apply: (em, e) => applyToWebhooks(em, e),
  applyBatch: (em, events) => (events.length === 1 ? applyToWebhooks(em, events[0]) : applyWebhooksBatch(em, events)),
  tables: [{ entity: WebhookJobRow }],
};

/**
 * Follows the log into webhook deliveries, with a checkpoint of its own (apart from the views), so
 * a delivery exists once its event is on the log whatever happens to the gateway afterwards. Not
 * critical: a parked event delays one job's deliveries, and the operator sees it.
 */
@Injectable()
export class WebhooksFollower implements OnApplicationBootstrap {
  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    const runner = this.rt.readModel(WEBHOOKS_MODEL);
    await runner.start();
  }
}
