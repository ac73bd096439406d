import { Module } from '@nestjs/common';
import { baseConfigSchema, loadConfig, ServiceRuntime } from '@starminer/service-kit';
import { MatchingService } from './matching.service';
import { EngineSnapshotRow } from './snapshot.entity';

@Module({
  providers: [
    // The engine keeps its state in memory, rebuilt from its last snapshot and the log after it.
    { provide: ServiceRuntime, useFactory: () => ServiceRuntime.start({ service: 'matching', config: loadConfig(baseConfigSchema), entities: [EngineSnapshotRow] }) },
    MatchingService,
  ],
})
export class MatchingModule {}
