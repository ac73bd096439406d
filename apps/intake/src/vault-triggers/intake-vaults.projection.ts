import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { TradeEvent } from '@starminer/events';
import { ServiceRuntime, type ReadModel } from '@starminer/service-kit';
import type { ProjectionRunner, StoredEvent } from '@starminer/trade-log';
import { IntakeVault, IntakeVaultPriceTrigger } from './intake-vault.entity';

export const INTAKE_VAULTS_READER = 'intake-vaults';

/** The vaults whose triggers intake watches, and their price triggers by market: what the ticker and the price consumer look up. */
export const INTAKE_VAULTS_MODEL: ReadModel = {
  name: INTAKE_VAULTS_READER,
  kinds: ['vault'],
  // the cases of applyToIntakeVaults that write (its default changes nothing)
  types: ['VaultCreated', 'VaultPaused', 'VaultResumed', 'VaultClosed', 'VaultOpenFailed'],
  apply: (em, e) => applyToIntakeVaults(em, e),
  tables: [{ entity: IntakeVault }, { entity: IntakeVaultPriceTrigger }],
};

/**
 * Not critical: a trigger fires only through the vault's decider on its own subject, so an event
 * parked here only delays (never doubles) that vault's firings.
 */
@Injectable()
export class IntakeVaultsProjection implements OnApplicationBootstrap {
  private runner!: ProjectionRunner;

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    this.runner = this.rt.readModel(INTAKE_VAULTS_MODEL);
    await this.runner.start();
  }

  /** Resolves once the read model includes `seq`. */
  waitUntil(seq: number): Promise<void> {
    return this.runner.waitUntil(seq);
  }
}

export async function applyToIntakeVaults(em: EntityManager, { event }: StoredEvent): Promise<void> {
  const vaults = em.getRepository(IntakeVault);
  const e = event as TradeEvent;
  switch (e.type) {
    case 'VaultCreated': {
      const d = e.data;
      await vaults.upsert({ vaultId: d.vaultId, orgId: d.orgId, status: 'active', scheduled: d.triggers.some((t) => t.kind === 'cron') }, ['vaultId']);
      const prices = d.triggers.flatMap((t) => (t.kind === 'price' ? [{ vaultId: d.vaultId, triggerId: t.triggerId, gpuModel: t.gpuModel, region: t.region }] : []));
      if (prices.length) await em.getRepository(IntakeVaultPriceTrigger).upsert(prices, ['vaultId', 'triggerId']);
      return;
    }
    case 'VaultPaused':
      await vaults.update({ vaultId: e.data.vaultId, status: 'active' }, { status: 'paused' });
      return;
    case 'VaultResumed':
      await vaults.update({ vaultId: e.data.vaultId, status: 'paused' }, { status: 'active' });
      return;
    case 'VaultClosed':
      await vaults.update({ vaultId: e.data.vaultId }, { status: 'closed' });
      return;
    case 'VaultOpenFailed':
      await vaults.update({ vaultId: e.data.vaultId }, { status: 'open-failed' });
      return;
    default:
      return;
  }
}
