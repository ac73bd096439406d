import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { TradeEvent } from '@starminer/events';
import { ServiceRuntime, type ReadModel } from '@starminer/service-kit';
import type { ProjectionRunner, StoredEvent } from '@starminer/trade-log';
import { VaultChainRow } from './vault-chain-row.entity';

export const VAULT_CHAIN_PROJECTION = 'deployer-vaults';

/** Each vault's last sequence on the log: a vault whose log moved past what the reconciler checked is looked at again. */
export const VAULT_CHAIN_MODEL: ReadModel = {
  name: VAULT_CHAIN_PROJECTION,
  kinds: ['vault'],
  // applyToVaultChain writes for every vault event but the three firing ones (VaultFired,
  // VaultFiringSkipped, VaultFiringEnded): a new vault type must be added here, or to those it skips
  types: ['VaultCreated', 'VaultTemplateEdited', 'VaultPaused', 'VaultResumed', 'VaultClosed', 'VaultChainSynced', 'VaultOpenFailed'],
  apply: (em, e) => applyToVaultChain(em, e),
  tables: [{ entity: VaultChainRow, notFromLog: ['checkedSeq', 'attempts', 'nextAttemptAtMs', 'lastError'] }],
};

@Injectable()
export class VaultChainProjection implements OnApplicationBootstrap {
  private runner!: ProjectionRunner;

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    this.runner = this.rt.readModel(VAULT_CHAIN_MODEL);
    await this.runner.start();
  }

  /** Resolves once the read model includes `seq`. */
  waitUntil(seq: number): Promise<void> {
    return this.runner.waitUntil(seq);
  }
}

export async function applyToVaultChain(em: EntityManager, { event, seq }: StoredEvent): Promise<void> {
  const e = event as TradeEvent;
  const repo = em.getRepository(VaultChainRow);
  if (e.type === 'VaultCreated') {
    await repo.createQueryBuilder().insert().values({ vaultId: e.data.vaultId, orgId: e.data.orgId, lastSeq: String(seq) }).orIgnore().execute();
    return;
  }
  const vaultId = (e.data as { vaultId?: string }).vaultId;
  // firings change nothing on chain (their draws are the jobs')
  if (vaultId === undefined || e.type === 'VaultFired' || e.type === 'VaultFiringSkipped' || e.type === 'VaultFiringEnded') return;
  await repo.update({ vaultId }, { lastSeq: String(seq) });
}
