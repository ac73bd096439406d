import { z } from 'zod';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '@starminer/matching';
import { baseConfigSchema } from '@starminer/service-kit';

const q = DEFAULT_ENGINE_CONFIG.queue;

/**
 * The matching service's settings. Every instance replaying one log must run the same values:
 * they decide holds, and holds decide matches.
 */
export const matchingConfigSchema = baseConfigSchema.extend({
  /** A job asking 2+ GPUs that has waited this long for capacity reserves (holds) the node where it can start earliest. */
  MATCHING_HOLD_AFTER_MS: z.coerce.number().int().min(0).max(7 * 24 * 3600_000).default(q.holdAfterMs),
  /** Holds at once across the market (0 turns holds off). */
  MATCHING_MAX_HOLDS: z.coerce.number().int().min(0).max(10_000).default(q.maxHolds),
});
export type MatchingConfig = z.output<typeof matchingConfigSchema>;

export const MATCHING_CONFIG = Symbol('MATCHING_CONFIG');

export const engineConfigOf = (c: MatchingConfig): EngineConfig => ({
  ...DEFAULT_ENGINE_CONFIG,
  queue: { ...DEFAULT_ENGINE_CONFIG.queue, holdAfterMs: c.MATCHING_HOLD_AFTER_MS, maxHolds: c.MATCHING_MAX_HOLDS },
});
