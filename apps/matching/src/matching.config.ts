import { z } from 'zod';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '@starminer/matching';
import { baseConfigSchema } from '@starminer/service-kit';
import { LEASE_PARTITIONS_MAX, LEASE_TTL_MS_DEFAULT } from '@starminer/trade-log';

const q = DEFAULT_ENGINE_CONFIG.queue;
const s = DEFAULT_ENGINE_CONFIG.surge;

/**
 * The matching service's settings. Every instance replaying one log must run the same values:
 * they decide holds, and holds decide matches.
 */
export const matchingConfigSchema = baseConfigSchema.extend({
  /** A job asking 2+ GPUs that has waited this long for capacity reserves (holds) the node where it can start earliest. */
  MATCHING_HOLD_AFTER_MS: z.coerce.number().int().min(0).max(7 * 24 * 3600_000).default(q.holdAfterMs),
  /** Holds at once across the market (0 turns holds off). */
  MATCHING_MAX_HOLDS: z.coerce.number().int().min(0).max(10_000).default(q.maxHolds),
  /**
   * 0 (the default): one instance matches the whole market (Kubernetes: one replica, Recreate).
   * N >= 1: every replica follows the whole log, and books nodes only in the markets of the
   * partitions (market key hash mod N) whose lease it holds; a replica that dies hands its
   * partitions over after the lease's TTL. Holds are off in this mode (a hold is one replica's plan
   * for a node, not on the log yet). Every replica must run the same N.
   */
  MATCHING_PARTITIONS: z.coerce.number().int().min(0).max(LEASE_PARTITIONS_MAX).default(0),
  /** This replica's name in the leases: unique per running process (default: host, pid and a random suffix). */
  MATCHING_REPLICA_ID: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
  /**
   * How often a market's price is moved toward its utilization (Multi-Tier Pricing's reprice tick).
   * Receipts record it (their config delta), so an auditor re-runs with the same value.
   */
  MATCHING_REPRICE_INTERVAL_MS: z.coerce.number().int().min(1_000).max(24 * 3600_000).default(DEFAULT_ENGINE_CONFIG.pricing.repriceIntervalMs),
  /**
   * Surges (engine config `surge`, see libs/matching surge.ts): a market surges when its smoothed
   * utilization reaches the start value OR the queued jobs accepting it reach the start depth, and
   * ends when both stay below the end values for the dwell. Receipts record them (config delta).
   */
  MATCHING_SURGE_START_UTILIZATION_BPS: z.coerce.number().int().min(0).max(10_000).default(s.startUtilizationBps),
  MATCHING_SURGE_END_UTILIZATION_BPS: z.coerce.number().int().min(0).max(10_000).default(s.endUtilizationBps),
  MATCHING_SURGE_START_QUEUE_DEPTH: z.coerce.number().int().min(1).max(1_000_000).default(s.startQueueDepth),
  MATCHING_SURGE_END_QUEUE_DEPTH: z.coerce.number().int().min(0).max(1_000_000).default(s.endQueueDepth),
  MATCHING_SURGE_MIN_DWELL_MS: z.coerce.number().int().min(0).max(24 * 3600_000).default(s.minDwellMs),
  /** The lease's time to live: a dead holder's partitions are taken over after about this long. */
  MATCHING_LEASE_TTL_MS: z.coerce.number().int().min(1_000).max(60_000).default(LEASE_TTL_MS_DEFAULT),
});
export type MatchingConfig = z.output<typeof matchingConfigSchema>;

export const MATCHING_CONFIG = Symbol('MATCHING_CONFIG');

export type SurgeSetting =
  | 'MATCHING_SURGE_START_UTILIZATION_BPS'
  | 'MATCHING_SURGE_END_UTILIZATION_BPS'
  | 'MATCHING_SURGE_START_QUEUE_DEPTH'
  | 'MATCHING_SURGE_END_QUEUE_DEPTH'
  | 'MATCHING_SURGE_MIN_DWELL_MS';

/** The service settings that give an engine configuration's surge (for folds built outside the service, as the audit's re-run does). */
export const surgeSettingsOf = (config: EngineConfig): Pick<MatchingConfig, SurgeSetting> => ({
  MATCHING_SURGE_START_UTILIZATION_BPS: config.surge.startUtilizationBps,
  MATCHING_SURGE_END_UTILIZATION_BPS: config.surge.endUtilizationBps,
  MATCHING_SURGE_START_QUEUE_DEPTH: config.surge.startQueueDepth,
  MATCHING_SURGE_END_QUEUE_DEPTH: config.surge.endQueueDepth,
  MATCHING_SURGE_MIN_DWELL_MS: config.surge.minDwellMs,
});

export const engineConfigOf = (c: MatchingConfig): EngineConfig => ({
  ...DEFAULT_ENGINE_CONFIG,
  pricing: { ...DEFAULT_ENGINE_CONFIG.pricing, repriceIntervalMs: c.MATCHING_REPRICE_INTERVAL_MS },
  queue: { ...DEFAULT_ENGINE_CONFIG.queue, holdAfterMs: c.MATCHING_HOLD_AFTER_MS, maxHolds: c.MATCHING_PARTITIONS > 0 ? 0 : c.MATCHING_MAX_HOLDS },
  surge: {
    startUtilizationBps: c.MATCHING_SURGE_START_UTILIZATION_BPS,
    endUtilizationBps: c.MATCHING_SURGE_END_UTILIZATION_BPS,
    startQueueDepth: c.MATCHING_SURGE_START_QUEUE_DEPTH,
    endQueueDepth: c.MATCHING_SURGE_END_QUEUE_DEPTH,
    minDwellMs: c.MATCHING_SURGE_MIN_DWELL_MS,
  },
});
