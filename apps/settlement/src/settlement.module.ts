import { Module } from '@nestjs/common';
import { SERVICE_CONFIG, ServiceKitModule, ServiceRuntime } from '@starminer/service-kit';
import { DeadlineScanner } from './deadlines/deadline-scanner';
import { ExecuteSettlement } from './execute-settlement/execute-settlement';
import { SettlementExecutor } from './execute-settlement/settlement-executor';
import { Slashing } from './execute-settlement/slashing';
import { ContractRow } from './ledger/contract-row.entity';
import { ContractsProjection } from './ledger/contracts.projection';
import { LedgerEntry } from './ledger/ledger-entry.entity';
import { SettlementMetrics } from './ledger/settlement-metrics';
import { ReconcileSettlements } from './reconcile-settlements/reconcile-settlements';
import { settlementConfigSchema, type SettlementConfig } from './settlement.config';
import { SettlementChain } from './settlement-chain';
import { StartJobHandler } from './start-job/start-job.handler';
import { SubmitResultHandler } from './submit-result/submit-result.handler';
import { VerificationPool } from './verify-results/verification-pool';

/** Results and proofs, release or refund of escrow on chain, slashing, deadlines, and the ledger. */
@Module({
  imports: [ServiceKitModule.forService({ service: 'settlement', config: settlementConfigSchema, entities: [ContractRow, LedgerEntry], chain: true })],
  controllers: [StartJobHandler, SubmitResultHandler],
  providers: [
    SettlementChain,
    ContractsProjection,
    ExecuteSettlement,
    Slashing,
    SettlementExecutor,
    DeadlineScanner,
    ReconcileSettlements,
    SettlementMetrics,
    {
      // results are recomputed on worker threads; /metrics shows its lanes; stopped with the module
      provide: VerificationPool,
      inject: [SERVICE_CONFIG, ServiceRuntime],
      useFactory: (config: SettlementConfig, rt: ServiceRuntime) =>
        new VerificationPool({ heavyThreads: config.SETTLEMENT_VERIFY_THREADS, queueMax: config.SETTLEMENT_VERIFY_QUEUE_MAX, metrics: rt.metrics }),
    },
  ],
})
export class SettlementModule {}
