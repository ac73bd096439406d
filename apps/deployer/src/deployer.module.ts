import { Module } from '@nestjs/common';
import { loadConfig, ServiceRuntime, type BaseConfig } from '@starminer/service-kit';
import { AccountRow } from './account-row.entity';
import { AnchorService } from './anchor.service';
import { deployerConfigSchema } from './deployer.config';
import { DEPLOYER_CONFIG, DeployerService } from './deployer.service';

const config = () => loadConfig(deployerConfigSchema);

@Module({
  providers: [
    { provide: DEPLOYER_CONFIG, useFactory: config },
    { provide: ServiceRuntime, inject: [DEPLOYER_CONFIG], useFactory: (c: BaseConfig) => ServiceRuntime.start({ service: 'deployer', config: c, entities: [AccountRow] }) },
    DeployerService,
    AnchorService,
  ],
})
export class DeployerModule {}
