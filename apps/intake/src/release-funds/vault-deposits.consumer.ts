import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { ReleaseReason } from '@starminer/domain';
import type { TradeEvent, TradeEventOf } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import { Reservations } from '../reservations/reservations';

/** The durable consumer that ends vault deposits' reservations (its name is the reader's name for the operator). */
export const VAULT_DEPOSIT_RELEASES_DURABLE = 'intake-vault-deposit-releases';

/**
 * Which vault events end its deposit's reservation, and why: the vault opened on chain (the
 * deposit left the org's account for the vault), its open failed for good, or it was closed while
 * not open on chain (the deployer then never opens it; an open already under way is recorded by
 * VaultChainSynced, and closed with the remainder back to the account).
 */
export function vaultDepositReleaseOf(e: TradeEvent, chainOpen: boolean): ReleaseReason | undefined {
  if (e.type === 'VaultChainSynced') return e.data.action === 'open' ? 'contracted' : undefined;
  if (e.type === 'VaultOpenFailed') return 'open-failed';
  if (e.type === 'VaultClosed') return chainOpen ? undefined : 'cancelled';
  return undefined;
}

/**
 * Ends the reservation of a vault's deposit on its org's account (made at CreateVault under the
 * vault id). Idempotent: the account releases an open reservation once, so a redelivery or a
 * second ending event releases nothing.
 */
@Injectable()
export class VaultDepositsConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly reservations: Reservations,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // stopped with the service's other readers (ServiceKitModule's lifecycle)
    await this.rt.consume({ durable: VAULT_DEPOSIT_RELEASES_DURABLE, filterSubjects: [this.rt.filter('vault')], handler: (batch) => this.onEvents(batch) });
  }

  async onEvents(batch: readonly StoredEvent[]): Promise<void> {
    for (const stored of batch) {
      const e = stored.event as TradeEvent;
      if (e.type !== 'VaultChainSynced' && e.type !== 'VaultOpenFailed' && e.type !== 'VaultClosed') continue;
      const vaultId = e.data.vaultId;
      const events = await this.rt.events('vault', vaultId);
      const created = events.find((x): x is TradeEventOf<'VaultCreated'> => x.type === 'VaultCreated');
      if (!created) continue; // VaultCreated is first on the vault's subject: nothing was reserved for a vault that has none
      const reason = vaultDepositReleaseOf(e, events.some((x) => x.type === 'VaultChainSynced' && x.data.action === 'open'));
      if (!reason) continue;
      await this.reservations.release(created.data.orgId, vaultId, reason, { correlationId: vaultId, causationId: e.id, actor: 'service:intake' });
    }
  }
}
