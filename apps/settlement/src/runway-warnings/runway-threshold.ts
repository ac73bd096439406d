/** Basis points: 10,000 = the whole expected runtime. */
const BPS = 10_000;

/** The runway warning's floor by default: 15 minutes, time enough for a person or a script to top up. */
export const RUNWAY_WARNING_MIN_SEC_DEFAULT = 15 * 60;
/** The runway warning's share of the expected runtime by default: 10 %, so a long job is warned earlier than a short one. */
export const RUNWAY_WARNING_RUNTIME_BPS_DEFAULT = 1_000;

export interface RunwayWarningPolicy {
  /** SETTLEMENT_RUNWAY_WARNING_MIN_SEC */
  readonly minSec: number;
  /** SETTLEMENT_RUNWAY_WARNING_RUNTIME_BPS */
  readonly runtimeBps: number;
}

/**
 * How much runway is left when the requester is warned: the larger of the policy's minimum and its
 * share of the job's expected runtime, but never more than half the job's own window
 * (`deadlineSec`, the runway its contract opened with): a job whose whole window is shorter than
 * the minimum is warned half-way through it, not the moment it opens. Whole seconds, at least 1. Pure.
 */
export function runwayThresholdSec(expectedRuntimeSec: number, policy: RunwayWarningPolicy, deadlineSec?: number): number {
  const share = Math.ceil((expectedRuntimeSec * policy.runtimeBps) / BPS);
  const wanted = Math.max(policy.minSec, share);
  const capped = deadlineSec === undefined ? wanted : Math.min(wanted, Math.floor(deadlineSec / 2));
  return Math.max(1, capped);
}
