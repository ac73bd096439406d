import { Module } from '@nestjs/common';
import { loadConfig, ServiceRuntime } from '@starminer/service-kit';
import { intakeConfigSchema } from './intake.config';
import { IntakeJob } from './intake-job.entity';
import { INTAKE_CONFIG, IntakeService } from './intake.service';

const config = () => loadConfig(intakeConfigSchema);

@Module({
  providers: [
    { provide: INTAKE_CONFIG, useFactory: config },
    { provide: ServiceRuntime, useFactory: () => ServiceRuntime.start({ service: 'intake', config: config(), entities: [IntakeJob] }) },
    IntakeService,
  ],
})
export class IntakeModule {}
