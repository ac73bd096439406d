import 'reflect-metadata';
import { bootService } from '@starminer/service-kit';
import { SettlementModule } from './settlement.module';

void bootService('settlement', SettlementModule);
