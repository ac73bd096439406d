import { Module } from '@nestjs/common';
import { ServiceKitModule } from '@starminer/service-kit';
import { CancelJobHandler } from './cancel-job/cancel-job.handler';
import { ExpireQueuedJobsTicker } from './expire-queued-jobs/expire-queued-jobs.ticker';
import { intakeConfigSchema } from './intake.config';
import { IntakeJob } from './intake-jobs/intake-job.entity';
import { IntakeJobsProjection } from './intake-jobs/intake-jobs.projection';
import { ReleaseAbandonedTicker } from './release-abandoned/release-abandoned.ticker';
import { ReleaseFundsConsumer } from './release-funds/release-funds.consumer';
import { Reservations } from './reservations/reservations';
import { SubmitJobHandler } from './submit-job/submit-job.handler';

/**
 * Jobs until they are queued: submission against the org's reservations on its account, their
 * release when a job no longer needs them, queued jobs failed past their deadline, and cancellation.
 */
@Module({
  imports: [ServiceKitModule.forService({ service: 'intake', config: intakeConfigSchema, entities: [IntakeJob], chain: true })],
  controllers: [SubmitJobHandler, CancelJobHandler],
  providers: [Reservations, IntakeJobsProjection, ReleaseFundsConsumer, ExpireQueuedJobsTicker, ReleaseAbandonedTicker],
})
export class IntakeModule {}
