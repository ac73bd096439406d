import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { MoreThan } from 'typeorm';
import { vaultDecider } from '@starminer/domain';
import type { TradeEvent, TradeEventOf } from '@starminer/events';
import { DEFAULT_ENGINE_CONFIG, priceWeiPerGpuHour, type PricingConfig } from '@starminer/matching';
import { ServiceRuntime } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import { IntakeVaultPriceTrigger } from './intake-vault.entity';
import { VaultFirings } from './vault-firings';

/** The durable consumer of market events that fires price triggers. */
export const VAULT_PRICE_TRIGGERS_DURABLE = 'intake-vault-prices';
/** Price triggers read in one page (keyset on vault and trigger id); a price change reads every page of its market. */
export const PRICE_TRIGGERS_PAGE_SIZE = 500;

/**
 * A market's tier price for a job of `urgency` at a utilization multiplier, as the price board
 * shows it (the engine's default pricing): the base price per GPU-hour of the GPU model times the
 * urgency's tier multiplier times the market's multiplier. Undefined for a GPU model without a base price.
 */
export function tierPriceWeiPerGpuHour(pricing: PricingConfig, gpuModel: string, urgency: keyof PricingConfig['urgencyTier'], multiplierBps: number): bigint | undefined {
  const base = pricing.basePricesWeiPerGpuHour[gpuModel];
  if (base === undefined) return undefined;
  return priceWeiPerGpuHour(base, pricing.tierMultiplierBps[pricing.urgencyTier[urgency]], multiplierBps);
}

/**
 * Fires a vault's price trigger when its market's tier price (at the urgency of the vault's
 * template) falls under the threshold: on a PriceChanged whose new price is under it and whose
 * previous price was not (a crossing, so a market that stays cheap fires once, not on every
 * change). The slot is the PriceChanged's event id: redelivered, or seen by another replica, it is
 * the same firing, decided once. Every trigger on the market is looked at, a bounded page at a
 * time; one vault that cannot be decided (its subject unreadable, a conflict storm) is logged and
 * counted, and the others still see the change.
 */
@Injectable()
export class PriceTriggersConsumer implements OnApplicationBootstrap {
  private readonly pricing = DEFAULT_ENGINE_CONFIG.pricing;
  private readonly logger = new Logger('vault-price-triggers');
  /** Vault triggers a price change could not decide, since start (each logged). */
  failedCount = 0;
  /** Rows of one page (a spec lowers it to walk pages with a few vaults). */
  pageSize = PRICE_TRIGGERS_PAGE_SIZE;

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly firings: VaultFirings,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.rt.consume({ durable: VAULT_PRICE_TRIGGERS_DURABLE, filterSubjects: [this.rt.filter('market')], handler: (batch) => this.onEvents(batch) });
  }

  async onEvents(batch: readonly StoredEvent[]): Promise<void> {
    for (const stored of batch) {
      const e = stored.event as TradeEvent;
      if (e.type === 'PriceChanged') await this.onPriceChanged(e);
    }
  }

  async onPriceChanged(e: TradeEventOf<'PriceChanged'>): Promise<number> {
    const repo = this.rt.db.getRepository(IntakeVaultPriceTrigger);
    const market = { gpuModel: e.data.gpuClass, region: e.data.region };
    let fired = 0;
    let after: { vaultId: string; triggerId: string } | undefined;
    for (;;) {
      const page = await repo.find({
        where: after ? [{ ...market, vaultId: MoreThan(after.vaultId) }, { ...market, vaultId: after.vaultId, triggerId: MoreThan(after.triggerId) }] : market,
        order: { vaultId: 'ASC', triggerId: 'ASC' },
        take: this.pageSize,
      });
      for (const row of page) {
        try {
          if (await this.onTrigger(e, row)) fired += 1;
        } catch (err) {
          // one vault does not keep the change from the others (nor get the change redelivered to all of them)
          this.failedCount += 1;
          this.logger.warn(`vault ${row.vaultId} trigger ${row.triggerId}: price change ${e.id} not decided: ${(err as Error).message}`);
        }
      }
      if (page.length < this.pageSize) return fired;
      after = page[page.length - 1];
    }
  }

  /** Whether the change fired this trigger (a crossing under its threshold, decided once). */
  private async onTrigger(e: TradeEventOf<'PriceChanged'>, row: IntakeVaultPriceTrigger): Promise<boolean> {
    const { state } = await this.rt.load('vault', row.vaultId, vaultDecider);
    if (state.status === 'none' || state.status === 'closed') return false;
    const t = state.triggers.find((x) => x.triggerId === row.triggerId);
    if (t?.kind !== 'price') return false;
    const urgency = state.template.urgency;
    const now = tierPriceWeiPerGpuHour(this.pricing, t.gpuModel, urgency, e.data.multiplierBps);
    const before = tierPriceWeiPerGpuHour(this.pricing, t.gpuModel, urgency, e.data.previousMultiplierBps);
    if (now === undefined || before === undefined || !(now < t.belowWeiPerHour && before >= t.belowWeiPerHour)) return false;
    return (await this.firings.fire(row.vaultId, row.triggerId, e.id, e.data.atMs)) === 'fired';
  }
}
