import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ServiceRuntime } from '@starminer/service-kit';
import { WebhookJobRow } from '../entities';
import { applyWebhooksBatch } from './webhooks-batch';
import { applyToWebhooks } from './webhooks.projection';

/** The projection's name: its checkpoint row and the reader its parked events are filed under. */
export const WEBHOOKS_PROJECTION = 'webhooks';

/**
 * Follows the log into webhook deliveries, with a checkpoint of its own (apart from the views), so
 * a delivery exists once its event is on the log whatever happens to the gateway afterwards. Not
 * critical: a parked event delays one job's deliveries, and the operator sees it.
 */
@Injectable()
export class WebhooksFollower implements OnApplicationBootstrap {
  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    const runner = this.rt.projection(WEBHOOKS_PROJECTION, this.rt.filterOf(['job', 'contract']), applyToWebhooks, {
      // A batch in a handful of statements. A batch of one (a quiet log, or the runner running a
      // failed batch again one event at a time, in savepoints, to find the event it fails on) takes
      // the per-event path, which writes the same rows.
      applyBatch: (em, events) => (events.length === 1 ? applyToWebhooks(em, events[0]) : applyWebhooksBatch(em, events)),
      // a rebuild replays every update: the deliveries stay (a replay writes none again), only the job table is rebuilt
      reset: async (em) => em.getRepository(WebhookJobRow).clear(),
    });
    await runner.start();
  }
}
