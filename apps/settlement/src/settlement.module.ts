import { Module } from '@nestjs/common';
import { SERVICE_CONFIG, ServiceKitModule, ServiceRuntime } from '@starminer/service-kit';
import { DeadlineScanner } from './deadlines/deadline-scanner';
import { ExecuteSettlement } from './execute-settlement/execute-settlement';
import { SettlementExecutor } from './execute-settlement/settlement-executor';
import { Slashing } from './execute-settlement/slashing';
import { FailAttemptsConsumer } from './fail-attempts/fail-attempts.consumer';
import { GiveUpJobHandler } from './give-up-job/give-up-job.handler';
import { ContractRow } from './ledger/contract-row.entity';
import { ContractsProjection } from './ledger/contracts.projection';
import { LedgerEntry } from './ledger/ledger-entry.entity';
import { SettlementMetrics } from './ledger/settlement-metrics';
import { ReconcileSettlements } from './reconcile-settlements/reconcile-settlements';
import { RedundancyDeadlinesTicker } from './redundancy/redundancy-deadlines.ticker';
import { RedundancyVerdicts } from './redundancy/redundancy-verdicts';
import { RedundancyVerdictsConsumer } from './redundancy/redundancy-verdicts.consumer';
import { RunwayWarningsTicker } from './runway-warnings/runway-warnings.ticker';
import { settlementConfigSchema, type SettlementConfig } from './settlement.config';
import { SettlementChain } from './settlement-chain';
import { StartJobHandler } from './start-job/start-job.handler';
import { SubmitResultHandler } from './submit-result/submit-result.handler';
import { AttestationVerifiers } from './verify-attestation/attestation';
import { attestationVerifiersFrom } from './verify-attestation/attestation-verifiers';
import { VerificationPool } from './verify-results/verification-pool';

/** Results and proofs, release or refund of escrow on chain, slashing, deadlines, and the ledger. */
@Module({
  imports: [ServiceKitModule.forService({ service: 'settlement', config: settlementConfigSchema, entities: [ContractRow, LedgerEntry], chain: true })],
  controllers: [StartJobHandler, SubmitResultHandler, GiveUpJobHandler],
  providers: [
    SettlementChain,
    ContractsProjection,
    ExecuteSettlement,
    Slashing,
    SettlementExecutor,
    FailAttemptsConsumer,
    DeadlineScanner,
    ReconcileSettlements,
    RedundancyVerdicts,
    RedundancyVerdictsConsumer,
    RedundancyDeadlinesTicker,
    RunwayWarningsTicker,
    SettlementMetrics,
    {
      // results are recomputed on worker threads; /metrics shows its lanes; stopped with the module
      provide: VerificationPool,
      inject: [SERVICE_CONFIG, ServiceRuntime],
      useFactory: (config: SettlementConfig, rt: ServiceRuntime) =>
        new VerificationPool({ heavyThreads: config.SETTLEMENT_VERIFY_THREADS, queueMax: config.SETTLEMENT_VERIFY_QUEUE_MAX, metrics: rt.metrics }),
    },
    {
      // TEE attestations submitted with results: NRAS tokens against a local JWKS file or NRAS's published keys
      provide: AttestationVerifiers,
      inject: [SERVICE_CONFIG],
      useFactory: (config: SettlementConfig) => attestationVerifiersFrom(config),
    },
  ],
})
export class SettlementModule {}
