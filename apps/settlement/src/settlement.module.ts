import { Module } from '@nestjs/common';
import { loadConfig, ServiceRuntime, type BaseConfig } from '@starminer/service-kit';
import { ContractRow, LedgerEntry } from './entities';
import { settlementConfigSchema } from './settlement.config';
import { SETTLEMENT_CONFIG, SettlementService } from './settlement.service';

const config = () => loadConfig(settlementConfigSchema);

@Module({
  providers: [
    { provide: SETTLEMENT_CONFIG, useFactory: config },
    { provide: ServiceRuntime, inject: [SETTLEMENT_CONFIG], useFactory: (c: BaseConfig) => ServiceRuntime.start({ service: 'settlement', config: c, entities: [ContractRow, LedgerEntry] }) },
    SettlementService,
  ],
})
export class SettlementModule {}
