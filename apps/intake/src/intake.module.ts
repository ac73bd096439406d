import { Module } from '@nestjs/common';
import { loadConfig, ServiceRuntime, type BaseConfig } from '@starminer/service-kit';
import { intakeConfigSchema } from './intake.config';
import { IntakeJob } from './intake-job.entity';
import { INTAKE_CONFIG, IntakeService } from './intake.service';

const config = () => loadConfig(intakeConfigSchema);

@Module({
  providers: [
    { provide: INTAKE_CONFIG, useFactory: config },
    { provide: ServiceRuntime, inject: [INTAKE_CONFIG], useFactory: (c: BaseConfig) => ServiceRuntime.start({ service: 'intake', config: c, entities: [IntakeJob] }) },
    IntakeService,
  ],
})
export class IntakeModule {}
