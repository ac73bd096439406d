import 'reflect-metadata';
import { bootService } from '@starminer/service-kit';
import { MatchingModule } from './matching.module';

void bootService('matching', MatchingModule);
