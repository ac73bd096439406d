import { Module } from '@nestjs/common';
import { baseConfigSchema, loadConfig, ServiceRuntime } from '@starminer/service-kit';
import { MatchingService } from './matching.service';

@Module({
  providers: [
    // The engine keeps its state in memory and rebuilds it from the log; no read model of its own yet.
    { provide: ServiceRuntime, useFactory: () => ServiceRuntime.start({ service: 'matching', config: loadConfig(baseConfigSchema) }) },
    MatchingService,
  ],
})
export class MatchingModule {}
