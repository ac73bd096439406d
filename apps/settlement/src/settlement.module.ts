import { Module } from '@nestjs/common';
import { loadConfig, ServiceRuntime } from '@starminer/service-kit';
import { ContractRow, LedgerEntry } from './entities';
import { settlementConfigSchema } from './settlement.config';
import { SETTLEMENT_CONFIG, SettlementService } from './settlement.service';

const config = () => loadConfig(settlementConfigSchema);

@Module({
  providers: [
    { provide: SETTLEMENT_CONFIG, useFactory: config },
    { provide: ServiceRuntime, useFactory: () => ServiceRuntime.start({ service: 'settlement', config: config(), entities: [ContractRow, LedgerEntry] }) },
    SettlementService,
  ],
})
export class SettlementModule {}
