/**
 * Public shapes of the matching engine. Money is bigint Wei (AGPU base units, 18 decimals) with the
 * unit in the name; time is milliseconds that come in from events (never the wall clock).
 */
import type { Category, LatencyPreference, Urgency } from '@starminer/events';
import type { SerializedMix } from './fragmentation';

// The demand vocabulary is the event catalogue's: one list, so intake and matching never drift.
export { CATEGORIES, URGENCIES, LATENCY_PREFERENCES, type Category, type Urgency, type LatencyPreference } from '@starminer/events';
export const TIERS = ['priority', 'standard', 'economy'] as const;
export type Tier = (typeof TIERS)[number];

export interface NodeSpec {
  nodeId: string;
  providerAddress: string;
  gpuModel: string;
  gpuCount: number;
  /** VRAM of one GPU of the node, GiB. */
  vramGiB: number;
  region: string;
  latencyMs: number;
  tee: boolean;
  carbonGPerKwh: number;
  /** 0..1 */
  renewableShare: number;
  benchmarkScore: number;
  /** What benchmarkScore measures (`hash-chain-sha256`, `gpu-matmul-tflops-bf16`, ...): figures compare within one kind only. Absent: read on benchmarkHalfScore. */
  benchmarkKind?: string;
  /** 0..1 */
  reputation: number;
  poolId?: string;
  stakeWei: bigint;
  online: boolean;
  /** The runtimes the node registered (`hash-chain`, `command`, `container`, ...). Absent: the built-ins only. */
  runtimes?: string[];
}

export interface JobRequirements {
  /** empty = any */
  gpuModels: string[];
  /** 0 together with empty gpuModels = budget-and-deadline-only: the engine chooses class and count */
  gpuCount: number;
  /** per GPU */
  minVramGiB: number;
  tee: boolean;
  /** empty = any */
  regions: string[];
  maxLatencyMs?: number;
  /** Nodes that failed an earlier attempt of the job (re-match on failure): never chosen for it. Absent = none. */
  excludedNodeIds?: string[];
  /** A runtime the node must have registered (a workload with a container image: `container`). Absent = any node. */
  runtime?: string;
}

export interface JobSpec {
  jobId: string;
  category: Category;
  budgetWei: bigint;
  urgency: Urgency;
  latencyPreference: LatencyPreference;
  requirements: JobRequirements;
  /**
   * Runtime the requester expects. For budget-and-deadline-only jobs it is the runtime on ONE GPU
   * of speed 1 (see EngineConfig.gpuSpeed); the engine scales it by class speed and GPU count.
   */
  expectedRuntimeSec: number;
  green: boolean;
  submittedAtMs: number;
  deadlineAtMs?: number;
  /**
   * Redundancy (issue 17): the group of sibling copies this job is one of. The engine places the
   * copies on distinct nodes: a copy's node joins its siblings' excludedNodeIds when it is reserved.
   */
  redundancyGroup?: string;
}

export interface Quote {
  gpuClass: string;
  region: string;
  tier: Tier;
  basePriceWeiPerGpuHour: bigint;
  tierMultiplierBps: number;
  utilizationMultiplierBps: number;
  /** for all GPUs of the job */
  priceWeiPerHour: bigint;
  runtimeSec: number;
  costWei: bigint;
}

/** The winner's (or runner-up's) score, term by term; `total` is exactly what was compared. */
export interface ScoreTerms {
  priceFit: number;
  headroom: number;
  packFit: number;
  reservedLiquidity: number;
  reputation: number;
  performance: number;
  proximity: number;
  energy: number;
  total: number;
}

export interface ReceiptCandidate {
  nodeId: string;
  gpuClass: string;
  region: string;
  gpuCount: number;
  score: ScoreTerms;
}

/** JSON-serialisable (bigints as decimal strings): enough to re-run the decision. */
export interface MatchReceipt {
  engineVersion: string;
  strategy: 'indexed' | 'full-scan';
  jobId: string;
  atMs: number;
  tier: Tier;
  /** nodes whose score was computed (indexed: after pruning; full-scan: every eligible node) */
  candidatesConsidered: number;
  /** (class, region) markets that passed the market-level filters (models, regions, budget, deadline) */
  marketsEligible: number;
  winner: ReceiptCandidate;
  runnerUp: ReceiptCandidate | null;
  price: {
    gpuClass: string;
    region: string;
    tier: Tier;
    basePriceWeiPerGpuHour: string;
    tierMultiplierBps: number;
    utilizationMultiplierBps: number;
    gpuCount: number;
    priceWeiPerHour: string;
    runtimeSec: number;
    costWei: string;
    budgetWei: string;
  };
  weights: Record<string, number>;
  /** reference cost used by priceFit (cheapest eligible market for this job), Wei */
  referenceCostWei: string;
  /** the winner's market was in surge (its SurgeStarted on the log, not yet ended) */
  surge: boolean;
  /**
   * Set when `surge`: since when the market is in surge, and whether the winner is a staked pool's
   * node. The reserved-liquidity preference applied: during a surge every staked eligible node of
   * the market ranks before every unstaked one (weights.reservedLiquidity dominates the node terms),
   * so an unstaked winner means no staked node of it could take the job.
   */
  surgePreference?: { sinceMs: number; winnerStaked: boolean };
  /** set when this job's first choice in the same matchPending call was given up to place another job */
  rerouted?: { forJobId: string; fromNodeId: string };
  /** set when the job held a node while it waited (it may still have been placed elsewhere) */
  hold?: { nodeId: string; sinceMs: number };
  /**
   * The configuration decided with: its hash and what differs from the defaults of engineVersion
   * (config-record.ts). Absent from receipts written before engines recorded it.
   */
  config?: { hash: string; delta: Record<string, unknown> };
  /**
   * packFit's demand mix as the last reprice tick applied it (it changes only at ticks, and a tick
   * that moves no price leaves no event): when, its digest, and the mix itself (the matching
   * service logs `applied` only when the digest differs from the last one it logged). Absent from
   * receipts written before engines recorded it.
   */
  mix?: { appliedAtMs: number | null; digest: string; applied?: SerializedMix };
}

/** A node held for a large job that has waited too long for capacity (QueueConfig.holdAfterMs). */
export interface Hold {
  jobId: string;
  nodeId: string;
  /** GPUs the job needs on that node */
  gpuCount: number;
  sinceMs: number;
}

export interface Match {
  jobId: string;
  nodeId: string;
  gpuCount: number;
  quote: Quote;
  receipt: MatchReceipt;
  matchedAtMs: number;
  /** The job's queue and when it was queued: how long it waited (a metric), not part of the recorded match. */
  category: Category;
  submittedAtMs: number;
}

/** A move of one market's utilization multiplier; an event on the log (`trade.market.<gpuClass>`). */
export interface PriceChange {
  gpuClass: string;
  region: string;
  atMs: number;
  previousMultiplierBps: number;
  multiplierBps: number;
  /** instantaneous utilization of the market at the tick, basis points */
  utilizationBps: number;
  /** exponentially smoothed utilization after the tick, basis points */
  smoothedUtilizationBps: number;
}

export type Admission = { ok: true } | { ok: false; code: string; reason: string };
