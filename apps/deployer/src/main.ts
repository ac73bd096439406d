import 'reflect-metadata';
import { bootService } from '@starminer/service-kit';
import { DeployerModule } from './deployer.module';

void bootService('deployer', DeployerModule);
