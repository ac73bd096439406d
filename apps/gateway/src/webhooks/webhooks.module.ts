import { Module } from '@nestjs/common';
import { ApiKeyGuard } from '../auth/guards';
import { WebhookDispatch } from './deliver/webhook-dispatch.service';
import { WebhooksFollower } from './follow/webhooks-follower';
import { WebhooksController } from './manage/webhooks.controller';
import { Webhooks } from './manage/webhooks';

export { WEBHOOK_ENTITIES } from './entities';

/**
 * Webhooks per org: the API to manage them and read their delivery log, the projection that turns
 * job updates on the log into pending deliveries, and the dispatcher that sends them. Its entities
 * (WEBHOOK_ENTITIES) are registered with the gateway's data source.
 */
@Module({
  controllers: [WebhooksController],
  providers: [Webhooks, WebhooksFollower, WebhookDispatch, ApiKeyGuard],
})
export class WebhooksModule {}
