import { Module } from '@nestjs/common';
import { ServiceKitModule } from '@starminer/service-kit';
import { AUTH_ENTITIES } from './auth/entities';
import { ApiKeyGuard, NodeLoginGuard, NodeSignatureGuard, OperatorGuard } from './auth/guards';
import { NodeSessions } from './auth/node-sessions';
import { NodeSessionsController } from './auth/node-sessions.controller';
import { FaucetController } from './faucet/faucet.controller';
import { gatewayConfigSchema } from './gateway.config';
import { IdempotencyRow } from './idempotency/idempotency.entity';
import { Idempotency } from './idempotency/idempotency';
import { JobEventFeed } from './job-events/job-event-feed';
import { JobEventsController } from './job-events/job-events.controller';
import { JobUpdates } from './job-events/job-updates.store';
import { AnchorList } from './anchors/anchor-list';
import { AnchorsController } from './anchors/anchors.controller';
import { AnchorTrees } from './job-proofs/anchor-trees';
import { JobProofs } from './job-proofs/job-proofs';
import { JobProofsController } from './job-proofs/job-proofs.controller';
import { JobQueries } from './jobs/job-queries';
import { JobsController } from './jobs/jobs.controller';
import { MarketController } from './market/market.controller';
import { MarketQueries } from './market/market-queries';
import { NodeQueries } from './nodes/node-search';
import { NodesController } from './nodes/nodes.controller';
import { OpsController } from './ops/ops.controller';
import { OpsStatus } from './ops/ops-status';
import { Orgs } from './orgs/orgs';
import { OrgsController } from './orgs/orgs.controller';
import { AssignmentWaits } from './providers/assignment-waits';
import { PollHeartbeats } from './providers/poll-heartbeats';
import { ProviderQueries } from './providers/provider-queries';
import { ProvidersController } from './providers/providers.controller';
import { ProviderStatusController } from './provider-status/provider-status.controller';
import { ProviderStatusQueries } from './provider-status/provider-status';
import { QuotesController } from './quotes/quotes.controller';
import { TopUpsController } from './top-ups/top-ups.controller';
import { VaultNoteRow } from './vaults/vault-row.entity';
import { Vaults } from './vaults/vaults';
import { VaultsController, VaultTriggersController } from './vaults/vaults.controller';
import { VIEW_ENTITIES } from './views/entities';
import { GatewayViews } from './views/gateway-views';
import { WEBHOOK_ENTITIES, WebhooksModule } from './webhooks/webhooks.module';

/** The HTTP edge: who the caller is, what it may do, idempotency; everything else is a command or a read of its views. */
@Module({
  imports: [
    ServiceKitModule.forService({ service: 'gateway', config: gatewayConfigSchema, entities: [...AUTH_ENTITIES, IdempotencyRow, ...VIEW_ENTITIES, ...WEBHOOK_ENTITIES, VaultNoteRow], chain: true }),
    WebhooksModule,
  ],
  controllers: [OrgsController, FaucetController, JobsController, MarketController, ProvidersController, NodeSessionsController, OpsController, NodesController, ProviderStatusController, QuotesController, JobEventsController, JobProofsController, AnchorsController, VaultsController, VaultTriggersController, TopUpsController],
  providers: [GatewayViews, JobUpdates, JobEventFeed, Orgs, JobQueries, JobProofs, AnchorTrees, AnchorList, OpsStatus, MarketQueries, ProviderQueries, AssignmentWaits, PollHeartbeats, Idempotency, NodeQueries, ProviderStatusQueries, Vaults, ApiKeyGuard, OperatorGuard, NodeSignatureGuard, NodeLoginGuard, NodeSessions],
})
export class GatewayModule {}
