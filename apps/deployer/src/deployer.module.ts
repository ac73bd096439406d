import { Module } from '@nestjs/common';
import { ServiceKitModule } from '@starminer/service-kit';
import { AccountRow } from './accounts/account-row.entity';
import { CustodySlots } from './accounts/custody-slots';
import { AllocateAccountHandler } from './allocate-account/allocate-account.handler';
import { AnchorService } from './anchor/anchor.service';
import { DeployerChain } from './chain/deployer-chain';
import { deployerConfigSchema } from './deployer.config';
import { FaucetMints } from './mint/faucet-mints';
import { PendingReassignRow } from './reassign-contracts/pending-reassign-row.entity';
import { PendingReassignsProjection } from './reassign-contracts/pending-reassigns.projection';
import { ReassignContractsService } from './reassign-contracts/reassign-contracts.service';
import { MintHandler } from './mint/mint.handler';
import { OpenContractsConsumer } from './open-contracts/open-contracts.consumer';
import { OpenChainCheck } from './reconcile-opens/open-chain-check';
import { PendingOpenRow, RecordedOpenRow } from './reconcile-opens/open-rows.entity';
import { PendingOpensProjection } from './reconcile-opens/pending-opens.projection';
import { ReconcileOpensService } from './reconcile-opens/reconcile-opens.service';
import { FaucetMintRow, MintReconcilerRow } from './reconcile-mints/faucet-mint-row.entity';
import { FaucetMintsProjection } from './reconcile-mints/faucet-mints.projection';
import { ReconcileMintsService } from './reconcile-mints/reconcile-mints.service';
import { VaultChainRow } from './vault-chain/vault-chain-row.entity';
import { VaultChainProjection } from './vault-chain/vault-chain.projection';
import { VaultChainReconciler } from './vault-chain/vault-chain.reconciler';
import { VaultDraws } from './vault-draws/vault-draws';
import { VaultDrawsConsumer } from './vault-draws/vault-draws.consumer';
import { PendingTopUpRow } from './top-up-contracts/pending-top-up.entity';
import { PendingTopUpsProjection } from './top-up-contracts/pending-top-ups.projection';
import { ReconcileTopUpsService } from './top-up-contracts/reconcile-top-ups.service';
import { TopUpContractHandler } from './top-up-contracts/top-up-contract.handler';

/**
 * Contract deployment: the orgs' custodial accounts and the dev faucet, one Compute Service
 * Contract on chain per matched job, and anchors of the log on chain.
 */
@Module({
  imports: [ServiceKitModule.forService({ service: 'deployer', config: deployerConfigSchema, entities: [AccountRow, FaucetMintRow, MintReconcilerRow, PendingOpenRow, RecordedOpenRow, PendingReassignRow, PendingTopUpRow, VaultChainRow], chain: true })],
  controllers: [AllocateAccountHandler, MintHandler, TopUpContractHandler],
  providers: [DeployerChain, CustodySlots, OpenContractsConsumer, PendingOpensProjection, OpenChainCheck, ReconcileOpensService, AnchorService, FaucetMints, FaucetMintsProjection, ReconcileMintsService, PendingReassignsProjection, ReassignContractsService, PendingTopUpsProjection, ReconcileTopUpsService, VaultChainProjection, VaultChainReconciler, VaultDraws, VaultDrawsConsumer],
})
export class DeployerModule {}
