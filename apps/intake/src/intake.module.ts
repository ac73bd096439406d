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
import { ReserveTopUpHandler } from './reserve-top-up/reserve-top-up.handler';
import { SubmitJobHandler } from './submit-job/submit-job.handler';
import { VaultCommandsHandler } from './vault-commands/vault-commands.handler';
import { VaultDepositsConsumer } from './release-funds/vault-deposits.consumer';
import { VaultJobEndsConsumer } from './vault-jobs/vault-job-ends.consumer';
import { VaultJobsConsumer } from './vault-jobs/vault-jobs.consumer';
import { CronTriggersTicker } from './vault-triggers/cron-triggers.ticker';
import { IntakeVault, IntakeVaultPriceTrigger } from './vault-triggers/intake-vault.entity';
import { IntakeVaultsProjection } from './vault-triggers/intake-vaults.projection';
import { PriceTriggersConsumer } from './vault-triggers/price-triggers.consumer';
import { VaultFirings } from './vault-triggers/vault-firings';

/**
 * Jobs until they are queued: submission against the org's reservations on its account, their
 * release when a job no longer needs them, queued jobs failed past their deadline, and cancellation;
 * the orgs' vaults and their firings.
 */
@Module({
  imports: [ServiceKitModule.forService({ service: 'intake', config: intakeConfigSchema, entities: [IntakeJob, IntakeVault, IntakeVaultPriceTrigger], chain: true })],
  controllers: [SubmitJobHandler, CancelJobHandler, ReserveTopUpHandler, VaultCommandsHandler],
  providers: [Reservations, IntakeJobsProjection, ReleaseFundsConsumer, ExpireQueuedJobsTicker, ReleaseAbandonedTicker, IntakeVaultsProjection, VaultFirings, CronTriggersTicker, PriceTriggersConsumer, VaultJobsConsumer, VaultJobEndsConsumer, VaultDepositsConsumer],
})
export class IntakeModule {}
