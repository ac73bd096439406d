import { Module } from '@nestjs/common';
import { ServiceKitModule } from '@starminer/service-kit';
import { EngineState } from './engine/engine-state';
import { LogFollower } from './follow-log/log-follower';
import { MatchRound } from './match-round/match-round';
import { MatchingMetrics } from './match-round/matching-metrics';
import { matchingConfigSchema } from './matching.config';
import { MatchingPartitions } from './partitions/matching-partitions';
import { QuoteHandler } from './quote/quote.handler';
import { RequeueFailedConsumer } from './requeue-failed/requeue-failed.consumer';
import { EngineSnapshotRow } from './snapshot/snapshot.entity';
import { Snapshots } from './snapshot/snapshots';

/**
 * Which node runs which job, at what price: the engine's state lives in memory, rebuilt from its
 * last snapshot (in Postgres) and the log after it; one instance writes (Kubernetes: Recreate), or
 * with MATCHING_PARTITIONS several replicas each write for the market partitions they hold a lease on.
 */
@Module({
  imports: [ServiceKitModule.forService({ service: 'matching', config: matchingConfigSchema, entities: [EngineSnapshotRow] })],
  controllers: [QuoteHandler],
  providers: [EngineState, Snapshots, MatchingMetrics, MatchingPartitions, MatchRound, LogFollower, RequeueFailedConsumer],
})
export class MatchingModule {}
