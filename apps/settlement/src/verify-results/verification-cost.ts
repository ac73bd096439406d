import { availableParallelism } from 'node:os';
import { LIMITS, type Workload } from '@starminer/events';

/**
 * What recomputing a job's result costs, from its declared workload alone (the provider cannot make
 * it cheaper or dearer: `verifyWorkloadResult` recomputes the whole workload whatever was
 * submitted), and so how long its verification may run and which lane of the pool runs it.
 *
 * Why the workload and not the job's expectedRuntimeSec or price: the runtime is the requester's
 * guess of GPU time and the price follows from it, neither says what a recompute costs on our CPU
 * (a 50M-iteration hash chain may legally be declared as 1 s). A bound from them would turn a
 * requester's under-estimate into the provider's loss. The workload's size is declared by the job,
 * capped by LIMITS, and is exactly what the recompute does.
 */

/** sha256 steps of a hash chain: 10M took 38 s on a loaded node (LIMITS says 50M take about a minute on a free core). */
export const HASH_CHAIN_VERIFY_NS_PER_ITERATION = 4_000;
/** One multiply-add of a matmul (512^3 take about 0.4 s on a shared core; 4x room). */
export const MATMUL_VERIFY_NS_PER_MAC = 10;
/** Hashing the output (at most LIMITS.resultOutputLengthMax characters) and the worker's round trip. */
export const VERIFY_FIXED_MS = 5;
/** A verification estimated at most this long runs in the light lane, which heavy ones never occupy. */
export const LIGHT_VERIFY_ESTIMATE_MS_MAX = 250;
/** A verification may run this many times its estimate before it is stopped... */
export const VERIFY_BOUND_SLACK = 5;
/** ...but never less than this (a worker started afresh, a busy machine)... */
export const VERIFY_BOUND_FLOOR_MS = 30_000;
/** ...and never more than this, whatever the workload: the hard cap of one task's hold on a thread. */
export const VERIFY_BOUND_CAP_MS = 15 * 60_000;

/** Threads of the heavy lane: SETTLEMENT_VERIFY_THREADS, at most this many. */
export const VERIFY_THREADS_MAX = 16;
/** Threads of the light lane (tasks of at most LIGHT_VERIFY_ESTIMATE_MS_MAX each). */
export const LIGHT_LANE_THREADS = 1;
/** Waiting verifications per lane: SETTLEMENT_VERIFY_QUEUE_MAX, at most this many. */
export const VERIFY_QUEUE_MAX_LIMIT = 1_000;
export const VERIFY_QUEUE_MAX_DEFAULT = 64;
/** The retry advice of a refusal to verify now, in seconds, is kept within these. */
export const VERIFY_RETRY_AFTER_SEC_MIN = 1;
export const VERIFY_RETRY_AFTER_SEC_MAX = 300;

/** One free core for the event loop, the rest (at least one) verify. */
export const defaultVerifyThreads = (cores = availableParallelism()): number => Math.min(VERIFY_THREADS_MAX, Math.max(1, cores - 1));

export type VerifyLane = 'light' | 'heavy';

export interface VerificationCost {
  /** What the recompute should take on a loaded core. */
  readonly estimateMs: number;
  /** How long it may run before it is stopped and answered VERIFICATION_TIMED_OUT. */
  readonly boundMs: number;
  readonly lane: VerifyLane;
}

export function verificationCostOf(workload: Workload): VerificationCost {
  const estimateMs = VERIFY_FIXED_MS + computeMs(workload);
  return {
    estimateMs,
    boundMs: Math.min(VERIFY_BOUND_CAP_MS, Math.max(VERIFY_BOUND_FLOOR_MS, Math.ceil(estimateMs * VERIFY_BOUND_SLACK))),
    lane: estimateMs <= LIGHT_VERIFY_ESTIMATE_MS_MAX ? 'light' : 'heavy',
  };
}

function computeMs(workload: Workload): number {
  switch (workload.kind) {
    case 'hash-chain':
      return Math.ceil((Math.min(workload.iterations, LIMITS.hashChainIterationsMax) * HASH_CHAIN_VERIFY_NS_PER_ITERATION) / 1e6);
    case 'matmul': {
      const n = Math.min(workload.size, LIMITS.matmulSizeMax);
      return Math.ceil((n * n * n * MATMUL_VERIFY_NS_PER_MAC) / 1e6);
    }
    case 'command':
      return 0; // not recomputed: the signed hash of the output is the record
  }
}

export const retryAfterSecOf = (ms: number): number => Math.min(VERIFY_RETRY_AFTER_SEC_MAX, Math.max(VERIFY_RETRY_AFTER_SEC_MIN, Math.ceil(ms / 1000)));
