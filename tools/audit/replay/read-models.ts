import type { EntityTarget, ObjectLiteral } from 'typeorm';
import type { ServiceWithParking } from '@starminer/events';
import type { ReadModel } from '@starminer/service-kit';
import { FaucetMintRow } from '../../../apps/deployer/src/reconcile-mints/faucet-mint-row.entity';
import { FAUCET_MINTS_MODEL } from '../../../apps/deployer/src/reconcile-mints/faucet-mints.projection';
import { PendingOpenRow, RecordedOpenRow } from '../../../apps/deployer/src/reconcile-opens/open-rows.entity';
import { PENDING_OPENS_MODEL } from '../../../apps/deployer/src/reconcile-opens/pending-opens.projection';
import { PendingReassignRow } from '../../../apps/deployer/src/reassign-contracts/pending-reassign-row.entity';
import { PENDING_REASSIGNS_MODEL } from '../../../apps/deployer/src/reassign-contracts/pending-reassigns.projection';
import { PendingTopUpRow } from '../../../apps/deployer/src/top-up-contracts/pending-top-up.entity';
import { PENDING_TOP_UPS_MODEL } from '../../../apps/deployer/src/top-up-contracts/pending-top-ups.projection';
import { VIEW_ENTITIES } from '../../../apps/gateway/src/views/entities';
import { VIEWS_MODEL } from '../../../apps/gateway/src/views/gateway-views';
import { WEBHOOK_ENTITIES } from '../../../apps/gateway/src/webhooks/entities';
import { WEBHOOKS_MODEL } from '../../../apps/gateway/src/webhooks/follow/webhooks-follower';
import { IntakeJob } from '../../../apps/intake/src/intake-jobs/intake-job.entity';
import { INTAKE_JOBS_MODEL } from '../../../apps/intake/src/intake-jobs/intake-jobs.projection';
import { IntakeVault, IntakeVaultPriceTrigger } from '../../../apps/intake/src/vault-triggers/intake-vault.entity';
import { INTAKE_VAULTS_MODEL } from '../../../apps/intake/src/vault-triggers/intake-vaults.projection';
import { VaultChainRow } from '../../../apps/deployer/src/vault-chain/vault-chain-row.entity';
import { VAULT_CHAIN_MODEL } from '../../../apps/deployer/src/vault-chain/vault-chain.projection';
import { NodeRow } from '../../../apps/registry/src/nodes/node-row.entity';
import { NODES_MODEL } from '../../../apps/registry/src/nodes/nodes.projection';
import { ContractRow } from '../../../apps/settlement/src/ledger/contract-row.entity';
import { LedgerEntry } from '../../../apps/settlement/src/ledger/ledger-entry.entity';
import { CONTRACTS_MODEL } from '../../../apps/settlement/src/ledger/contracts.projection';

/** One service's read models, with the entities its schema needs for their code to run (tables a projection reads, too). */
export interface ServiceReadModels {
  readonly service: ServiceWithParking;
  readonly entities: readonly EntityTarget<ObjectLiteral>[];
  readonly models: readonly ReadModel[];
}

/**
 * Every read model the services project from the log, as the services define them (the same
 * `ReadModel` objects their projections run). Matching keeps its state in memory (rebuilt from the
 * log or a snapshot), so it has no read model here; the `matching` command re-runs its engine.
 */
export const SERVICE_READ_MODELS: readonly ServiceReadModels[] = [
  { service: 'gateway', entities: [...VIEW_ENTITIES, ...WEBHOOK_ENTITIES], models: [VIEWS_MODEL, WEBHOOKS_MODEL] },
  { service: 'registry', entities: [NodeRow], models: [NODES_MODEL] },
  { service: 'intake', entities: [IntakeJob, IntakeVault, IntakeVaultPriceTrigger], models: [INTAKE_JOBS_MODEL, INTAKE_VAULTS_MODEL] },
  { service: 'deployer', entities: [FaucetMintRow, PendingOpenRow, RecordedOpenRow, PendingReassignRow, PendingTopUpRow, VaultChainRow], models: [FAUCET_MINTS_MODEL, PENDING_OPENS_MODEL, PENDING_REASSIGNS_MODEL, PENDING_TOP_UPS_MODEL, VAULT_CHAIN_MODEL] },
  { service: 'settlement', entities: [ContractRow, LedgerEntry], models: [CONTRACTS_MODEL] },
];
