import { Module } from '@nestjs/common';
import { loadConfig, ServiceRuntime, type BaseConfig } from '@starminer/service-kit';
import { ApiKeyGuard, NodeSignatureGuard, OperatorGuard } from './auth';
import { HealthController, JobsController, MarketController, OrgsController, ProvidersController } from './controllers';
import { GATEWAY_ENTITIES } from './entities';
import { GATEWAY_CONFIG, gatewayConfigSchema } from './gateway.config';
import { GatewayService } from './gateway.service';
import { Idempotency } from './idempotency';

const config = () => loadConfig(gatewayConfigSchema);

@Module({
  controllers: [HealthController, OrgsController, JobsController, MarketController, ProvidersController],
  providers: [
    { provide: GATEWAY_CONFIG, useFactory: config },
    { provide: ServiceRuntime, inject: [GATEWAY_CONFIG], useFactory: (c: BaseConfig) => ServiceRuntime.start({ service: 'gateway', config: c, entities: GATEWAY_ENTITIES }) },
    GatewayService,
    Idempotency,
    ApiKeyGuard,
    OperatorGuard,
    NodeSignatureGuard,
  ],
})
export class GatewayModule {}
