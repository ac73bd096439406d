import 'reflect-metadata';
import { bootService } from '@starminer/service-kit';
import { RegistryModule } from './registry.module';

void bootService('registry', RegistryModule);
