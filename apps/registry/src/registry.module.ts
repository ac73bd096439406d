import { Module } from '@nestjs/common';
import { baseConfigSchema, loadConfig, ServiceRuntime } from '@starminer/service-kit';
import { NodeLiveness, NodeRow } from './node-row.entity';
import { RegistryService } from './registry.service';
import { ChainCursor, StakeWatcher } from './stake-watcher';

@Module({
  providers: [
    { provide: ServiceRuntime, useFactory: () => ServiceRuntime.start({ service: 'registry', config: loadConfig(baseConfigSchema), entities: [NodeRow, NodeLiveness, ChainCursor] }) },
    RegistryService,
    StakeWatcher,
  ],
})
export class RegistryModule {}
