import { Module } from '@nestjs/common';
import { ServiceKitModule } from '@starminer/service-kit';
import { AUTH_ENTITIES } from './auth/entities';
import { ApiKeyGuard, NodeSignatureGuard, OperatorGuard } from './auth/guards';
import { FaucetController } from './faucet/faucet.controller';
import { gatewayConfigSchema } from './gateway.config';
import { IdempotencyRow } from './idempotency/idempotency.entity';
import { Idempotency } from './idempotency/idempotency';
import { JobQueries } from './jobs/job-queries';
import { JobsController } from './jobs/jobs.controller';
import { MarketController } from './market/market.controller';
import { MarketQueries } from './market/market-queries';
import { OpsController } from './ops/ops.controller';
import { Orgs } from './orgs/orgs';
import { OrgsController } from './orgs/orgs.controller';
import { ProviderQueries } from './providers/provider-queries';
import { ProvidersController } from './providers/providers.controller';
import { VIEW_ENTITIES } from './views/entities';
import { GatewayViews } from './views/gateway-views';

/** The HTTP edge: who the caller is, what it may do, idempotency; everything else is a command or a read of its views. */
@Module({
  imports: [
    ServiceKitModule.forService({ service: 'gateway', config: gatewayConfigSchema, entities: [...AUTH_ENTITIES, IdempotencyRow, ...VIEW_ENTITIES], chain: true }),
  ],
  controllers: [OrgsController, FaucetController, JobsController, MarketController, ProvidersController, OpsController],
  providers: [GatewayViews, Orgs, JobQueries, MarketQueries, ProviderQueries, Idempotency, ApiKeyGuard, OperatorGuard, NodeSignatureGuard],
})
export class GatewayModule {}
