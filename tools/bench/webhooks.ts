/**
 * The gateway's webhooks projection, per event (`applyToWebhooks`, the baseline) against a batch
 * at a time (`applyWebhooksBatch`): `npm run bench:webhooks [-- --jobs N --batch B --in-flight F
 * --seed S]`. Both schemas start with the same webhooks: of the orgs, a quarter with none, a quarter
 * with one, a quarter with two and a quarter with three (one of them deleted). How it measures:
 * tools/bench/projection-paths.ts.
 */
import { WEBHOOK_ENTITIES, WebhookDeliveryRow, WebhookJobRow, WebhookRow } from '../../apps/gateway/src/webhooks/entities';
import { applyWebhooksBatch } from '../../apps/gateway/src/webhooks/follow/webhooks-batch';
import { applyToWebhooks } from '../../apps/gateway/src/webhooks/follow/webhooks.projection';
import { BENCH_ORGS, mainOf } from './projection-paths';

/** One clock for both paths: `pendingSince` then compares too. */
const NOW = new Date('2026-03-01T00:00:00.000Z');

/** org-(4k+1) none, org-(4k+2) one, org-(4k+3) two, org-(4k+4) three with the last deleted; every one from the log's start. */
function webhooksOf(orgs: number): WebhookRow[] {
  const rows: WebhookRow[] = [];
  for (let i = 1; i <= orgs; i++) {
    for (let w = 0; w < (i - 1) % 4; w++) {
      const deleted = (i - 1) % 4 === 3 && w === 2;
      rows.push({
        webhookId: `wh-${i}-${w}`,
        orgId: `org-${i}`,
        url: `https://hooks.example/${i}/${w}`,
        description: null,
        secret: deleted ? null : 'whsec_x',
        createdAt: NOW,
        afterSeq: '0',
        deletedAt: deleted ? NOW : null,
        consecutiveFailures: 0,
        nextAttemptAt: NOW,
        leaseUntil: null,
        leaseOwner: null,
      });
    }
  }
  return rows;
}

mainOf({
  name: 'webhooks',
  entities: WEBHOOK_ENTITIES,
  written: [WebhookJobRow, WebhookDeliveryRow],
  seed: async (ds) => {
    await ds.getRepository(WebhookRow).insert(webhooksOf(BENCH_ORGS));
  },
  perEvent: (em, e) => applyToWebhooks(em, e, NOW),
  batch: (em, events) => applyWebhooksBatch(em, events, NOW),
  spec: 'apps/gateway/src/webhooks/follow/webhooks-batch.spec.ts',
  extra: { webhooks: webhooksOf(BENCH_ORGS).filter((w) => w.deletedAt === null).length },
});
