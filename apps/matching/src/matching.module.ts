import { Module } from '@nestjs/common';
import { loadConfig, ServiceRuntime, type BaseConfig } from '@starminer/service-kit';
import { MATCHING_CONFIG, matchingConfigSchema } from './matching.config';
import { MatchingService } from './matching.service';
import { EngineSnapshotRow } from './snapshot.entity';

const config = () => loadConfig(matchingConfigSchema);

@Module({
  providers: [
    { provide: MATCHING_CONFIG, useFactory: config },
    // The engine keeps its state in memory, rebuilt from its last snapshot and the log after it.
    { provide: ServiceRuntime, inject: [MATCHING_CONFIG], useFactory: (c: BaseConfig) => ServiceRuntime.start({ service: 'matching', config: c, entities: [EngineSnapshotRow] }) },
    MatchingService,
  ],
})
export class MatchingModule {}
