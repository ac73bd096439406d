import { BPS, type EngineConfig, type PricingConfig } from './config';
import type { Quote, Tier, Urgency } from './types';

const BPS_BIG = BigInt(BPS);
const SECONDS_PER_HOUR = 3_600n;

export const tierFor = (urgency: Urgency, pricing: PricingConfig): Tier => pricing.urgencyTier[urgency];

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

/** base × tier × utilization for one GPU-hour, rounded down to the Wei. */
export function priceWeiPerGpuHour(baseWeiPerGpuHour: bigint, tierMultiplierBps: number, utilizationMultiplierBps: number): bigint {
  return (baseWeiPerGpuHour * BigInt(tierMultiplierBps) * BigInt(utilizationMultiplierBps)) / (BPS_BIG * BPS_BIG);
}

/** cost of a run, rounded up to the Wei so the provider is never paid less than the hourly rate. */
export function costWei(priceWeiPerHour: bigint, runtimeSec: number): bigint {
  return ceilDiv(priceWeiPerHour * BigInt(runtimeSec), SECONDS_PER_HOUR);
}

export interface QuoteInput {
  gpuClass: string;
  region: string;
  tier: Tier;
  gpuCount: number;
  runtimeSec: number;
  utilizationMultiplierBps: number;
}

/** The full, transparent quote: base, tier, utilization multiplier, hourly price and total. */
export function quote(input: QuoteInput, pricing: PricingConfig): Quote {
  const base = pricing.basePricesWeiPerGpuHour[input.gpuClass];
  if (base === undefined) throw new Error(`no base price for ${input.gpuClass}`);
  const tierMultiplierBps = pricing.tierMultiplierBps[input.tier];
  const perGpu = priceWeiPerGpuHour(base, tierMultiplierBps, input.utilizationMultiplierBps);
  const priceWeiPerHour = perGpu * BigInt(input.gpuCount);
  return {
    gpuClass: input.gpuClass,
    region: input.region,
    tier: input.tier,
    basePriceWeiPerGpuHour: base,
    tierMultiplierBps,
    utilizationMultiplierBps: input.utilizationMultiplierBps,
    priceWeiPerHour,
    runtimeSec: input.runtimeSec,
    costWei: costWei(priceWeiPerHour, input.runtimeSec),
  };
}

export interface MarketPriceState {
  multiplierBps: number;
  smoothedUtilizationBps: number;
}

const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);

/** Multiplier the market aims at for a smoothed utilization, inside the band. */
export function targetMultiplierBps(smoothedUtilizationBps: number, pricing: PricingConfig): number {
  const deviation = smoothedUtilizationBps - pricing.targetUtilizationBps;
  const target = BPS + Math.trunc((deviation * pricing.elasticityBps) / BPS);
  return clamp(target, pricing.minMultiplierBps, pricing.maxMultiplierBps);
}

/**
 * One reprice step of one market: smooth the utilization (integer EMA), then move the multiplier
 * toward its target by at most maxStepBps, and never out of the band.
 */
export function nextPriceState(state: MarketPriceState, utilizationBps: number, pricing: PricingConfig): MarketPriceState {
  const u = clamp(Math.round(utilizationBps), 0, BPS);
  const smoothedUtilizationBps =
    state.smoothedUtilizationBps + Math.trunc(((u - state.smoothedUtilizationBps) * pricing.smoothingBps) / BPS);
  const target = targetMultiplierBps(smoothedUtilizationBps, pricing);
  const step = clamp(target - state.multiplierBps, -pricing.maxStepBps, pricing.maxStepBps);
  const multiplierBps = clamp(state.multiplierBps + step, pricing.minMultiplierBps, pricing.maxMultiplierBps);
  return { multiplierBps, smoothedUtilizationBps };
}

/** Lowest cost any market could ever quote this job (band floor, job's tier): for admission. */
export function floorCostWei(baseWeiPerGpuHour: bigint, tier: Tier, gpuCount: number, runtimeSec: number, config: EngineConfig): bigint {
  const perGpu = priceWeiPerGpuHour(baseWeiPerGpuHour, config.pricing.tierMultiplierBps[tier], config.pricing.minMultiplierBps);
  return costWei(perGpu * BigInt(gpuCount), runtimeSec);
}
