import { z } from 'zod';
import { apiComponent } from './api-components';
import { LIMITS } from './limits';
import { gpuModelSchema, regionSchema, URGENCIES } from './primitives';

/**
 * The v1 API's answers, as they are on the wire. Names are one per concept across the API:
 * `gpuModel` (never gpuClass), `region`, prices per GPU-hour as `priceWeiPerGpuHour`, amounts as
 * decimal strings of AGPU base units with `Wei` in the name, instants as ISO 8601 `...At`,
 * durations in seconds as `...Sec`, job statuses from JOB_STATUSES.
 */

/** A decimal string of AGPU base units (18 decimals). */
export const weiStringSchema = apiComponent('Wei', z.string().regex(/^(0|[1-9][0-9]{0,77})$/), 'an amount of AGPU base units (18 decimals) as a decimal string');

export const PRICE_TIERS = ['priority', 'standard', 'economy'] as const;

/**
 * The terms of a price: base × tier multiplier × utilization multiplier per GPU-hour, times GPUs
 * and runtime. A job's price as fixed at match, and a quote's price now, are both these terms.
 */
export const priceTermsSchema = apiComponent(
  'PriceTerms',
  z.strictObject({
    gpuModel: gpuModelSchema,
    region: regionSchema,
    tier: z.enum(PRICE_TIERS),
    basePriceWeiPerGpuHour: weiStringSchema,
    /** 10,000 = 1.0 */
    tierMultiplierBps: z.number().int().nonnegative(),
    /** 10,000 = 1.0; moves with the market's smoothed utilization */
    utilizationMultiplierBps: z.number().int().nonnegative(),
    priceWeiPerGpuHour: weiStringSchema,
    gpuCount: z.number().int().positive().max(LIMITS.gpusPerNodeMax),
    runtimeSec: z.number().int().positive(),
    costWei: weiStringSchema,
  }),
  'the price of a job: priceWeiPerGpuHour = base × tier × utilization (basis points, 10,000 = 1.0); costWei = priceWeiPerGpuHour × gpuCount × runtimeSec / 3600',
);
export type PriceTerms = z.infer<typeof priceTermsSchema>;

export const urgencyTierSchema = z.strictObject({ tier: z.enum(PRICE_TIERS), urgencies: z.array(z.enum(URGENCIES)) });
