import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { vaultDecider } from '@starminer/domain';
import type { TradeEvent, TradeEventOf } from '@starminer/events';
import { DEFAULT_ENGINE_CONFIG, priceWeiPerGpuHour, type PricingConfig } from '@starminer/matching';
import { ServiceRuntime } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import { IntakeVaultPriceTrigger } from './intake-vault.entity';
import { VaultFirings } from './vault-firings';

/** The durable consumer of market events that fires price triggers. */
export const VAULT_PRICE_TRIGGERS_DURABLE = 'intake-vault-prices';
/** Price triggers one market's price change looks at; more on one market wait for the next change (a log line says so). */
export const PRICE_TRIGGERS_PER_CHANGE_MAX = 500;

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
 * the same firing, decided once.
 */
@Injectable()
export class PriceTriggersConsumer implements OnApplicationBootstrap {
  private readonly pricing = DEFAULT_ENGINE_CONFIG.pricing;

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
    const triggers = await this.rt.db.getRepository(IntakeVaultPriceTrigger).find({
      where: { gpuModel: e.data.gpuClass, region: e.data.region },
      order: { vaultId: 'ASC', triggerId: 'ASC' },
      take: PRICE_TRIGGERS_PER_CHANGE_MAX,
    });
    let fired = 0;
    for (const row of triggers) {
      const { state } = await this.rt.load('vault', row.vaultId, vaultDecider);
      if (state.status === 'none' || state.status === 'closed') continue;
      const t = state.triggers.find((x) => x.triggerId === row.triggerId);
      if (t?.kind !== 'price') continue;
      const urgency = state.template.urgency;
      const now = tierPriceWeiPerGpuHour(this.pricing, t.gpuModel, urgency, e.data.multiplierBps);
      const before = tierPriceWeiPerGpuHour(this.pricing, t.gpuModel, urgency, e.data.previousMultiplierBps);
      if (now === undefined || before === undefined || !(now < t.belowWeiPerHour && before >= t.belowWeiPerHour)) continue;
      if ((await this.firings.fire(row.vaultId, row.triggerId, e.id, e.data.atMs)) === 'fired') fired += 1;
    }
    return fired;
  }
}
