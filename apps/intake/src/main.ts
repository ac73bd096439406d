import 'reflect-metadata';
import { bootService } from '@starminer/service-kit';
import { IntakeModule } from './intake.module';

void bootService('intake', IntakeModule);
