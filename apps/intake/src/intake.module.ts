import { Module } from '@nestjs/common';
import { ServiceKitModule } from '@starminer/service-kit';
import { CancelJobHandler } from './cancel-job/cancel-job.handler';
import { intakeConfigSchema } from './intake.config';
import { JobHold } from './job-holds/job-hold.entity';
import { JobHoldsProjection } from './job-holds/job-holds.projection';
import { SubmitJobHandler } from './submit-job/submit-job.handler';

/** Jobs until they are queued: submission against the org's spendable funds, and cancellation. */
@Module({
  imports: [ServiceKitModule.forService({ service: 'intake', config: intakeConfigSchema, entities: [JobHold], chain: true })],
  controllers: [SubmitJobHandler, CancelJobHandler],
  providers: [JobHoldsProjection],
})
export class IntakeModule {}
