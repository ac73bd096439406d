import { LIMITS } from '@starminer/events';
import type { LatencyPreference, Tier, Urgency } from './types';

/** Weights of the score terms. Each term is weight × a factor in [0, 1]; see scoring.ts. */
export interface ScoreWeights {
  /** budget-to-capacity fit: cheapest eligible market / this market's cost */
  priceFit: number;
  /** share of the market's online GPUs still free: spreads flexible demand over classes, keeping scarce ones for jobs that need them */
  headroom: number;
  /** fragmentation-aware packing (FragmentationConfig): 1 = the placement leaves the least unusable capacity */
  packFit: number;
  /**
   * Nodes of a staked pool (poolId set, stake above 0) while their market is in surge (SurgeConfig;
   * 0 outside surges). Above the widest spread of the other node-level terms (packFit + reputation +
   * performance + proximity + energy, `nodeSpreadMax`), so that during a surge every staked eligible
   * node of a market ranks before every unstaked one of it (the engine refuses a weight in (0, spread]).
   */
  reservedLiquidity: number;
  reputation: number;
  /** measured benchmark on its own kind's scale, saturating: score / (score + benchmarkHalfScoreByKind[kind]) */
  performance: number;
  /** 1 - latency / proximityLatencyCapMs, weighted by the job's latency preference */
  proximity: Record<LatencyPreference, number>;
  /** only when the job asks for green compute: mean of renewable share and low carbon intensity */
  energy: number;
}

export interface PricingConfig {
  /** Wei per GPU-hour; a model missing here is an unknown GPU model */
  basePricesWeiPerGpuHour: Record<string, bigint>;
  tierMultiplierBps: Record<Tier, number>;
  urgencyTier: Record<Urgency, Tier>;
  /** band of the utilization multiplier */
  minMultiplierBps: number;
  maxMultiplierBps: number;
  /** largest move of the multiplier per reprice tick */
  maxStepBps: number;
  /** utilization at which the multiplier aims at 1.0 */
  targetUtilizationBps: number;
  /** multiplier move (bps) per 100 % of smoothed utilization above or below target */
  elasticityBps: number;
  /** exponential smoothing factor of utilization per tick (10000 = no smoothing) */
  smoothingBps: number;
  /** repriceTick is a no-op when called sooner than this after the last tick */
  repriceIntervalMs: number;
}

export interface QueueConfig {
  /**
   * One urgency level is worth this much waiting: aging lets an old low job pass a new critical
   * one. Above runtimeClassesMax × runtimeStepMs (the default: 3 h 1 min against 12 × 15 min), so
   * that tiers come first: no job of a lower tier submitted at the same time or later passes a
   * higher one, however short it is.
   */
  urgencyStepMs: number;
  latencyStepMs: number;
  /** jobs looked at per matchPending call at most (matched or left waiting) */
  maxScanPerCall: number;
  /** bounded augmenting step of matchPending: reroute attempts per call, and holders tried per waiting job */
  maxAugmentationsPerCall: number;
  maxAugmentationCandidates: number;
  /**
   * Holds (reservations for large jobs, EASY backfilling): a job asking for 2+ GPUs on one node
   * that has waited this long for capacity holds the eligible node where it can start earliest
   * (from running jobs' expected ends). Others use a held node only if they are expected to end
   * before the holder starts, or within the GPUs it will not need; its GPUs gather as running jobs
   * end, and the holder takes it as soon as it fits. Without this a stream of small jobs keeps
   * every node fragmented and the large job never runs.
   */
  holdAfterMs: number;
  /** holds at once, across the market (0 turns holds off) */
  maxHolds: number;
  /** share of a (class, region) market's online GPUs that may be held at once, in basis points */
  maxHeldShareBps: number;
  /** nodes looked at when choosing a node to hold, and hold choices made per matchPending call */
  maxHoldScan: number;
  maxHoldAttemptsPerCall: number;
  /**
   * Shorter jobs first, bounded (see runtimeClass in queue.ts): runtime classes double from
   * runtimeClassBaseSec; each class above 0 waits runtimeStepMs more; at most runtimeClassesMax.
   */
  runtimeClassBaseSec: number;
  runtimeClassesMax: number;
  runtimeStepMs: number;
  /** jobs of one signature routed in vain per matchPending call before the rest of it waits for the next call */
  maxFailuresPerSignature: number;
  /**
   * The rule for jobs that overrun: a running job past its expected end is expected to end this
   * long after now when a held node's start is estimated. So a backfilled job that overruns moves
   * the holder's start, and from then on only jobs that end within this grace (or that fit in the
   * GPUs the holder will not need) are backfilled there: the holder starts at most this long
   * after the last overrunning job ends.
   */
  overrunGraceMs: number;
}

/**
 * Fragmentation-aware placement (after Weng et al., "Beware of Fragmentation", USENIX ATC '23).
 * The fleet's expected job-size mix is learned from submitted jobs (decayed by half every
 * mixHalfLifeMs, refreshed with each reprice tick). A node with f free GPUs leaves f × P(size > f)
 * GPUs that a job drawn from the mix cannot use; packFit rewards the placement that lowers this
 * the most per GPU placed, blended (share) with plain best fit (GPUs asked / GPUs free).
 */
export interface FragmentationConfig {
  share: number;
  /** steepness of the squash of the gradient (unusable GPUs removed per GPU placed, in -15..1) into 0..1 */
  gain: number;
  mixHalfLifeMs: number;
}

/**
 * Surges (issue 16): per market, decided at each reprice tick from the market's own figures (see
 * surge.ts). A surge starts when smoothed utilization reaches startUtilizationBps OR the queued jobs
 * that accept the market reach startQueueDepth; it ends only when both are below their end
 * thresholds (lower: hysteresis) at every tick for minDwellMs. During a surge staked pools' nodes
 * are preferred (weights.reservedLiquidity).
 */
export interface SurgeConfig {
  startUtilizationBps: number;
  endUtilizationBps: number;
  /** queued jobs whose GPU models and regions accept the market (the engine's proxy for demand that could run there) */
  startQueueDepth: number;
  endQueueDepth: number;
  minDwellMs: number;
}

export interface EngineConfig {
  engineVersion: string;
  weights: ScoreWeights;
  pricing: PricingConfig;
  queue: QueueConfig;
  fragmentation: FragmentationConfig;
  surge: SurgeConfig;
  /** relative throughput per GPU model (for budget-and-deadline-only jobs); missing = not chosen */
  gpuSpeed: Record<string, number>;
  proximityLatencyCapMs: number;
  carbonCapGPerKwh: number;
  /** The half score of a node whose benchmark has no kind (older snapshots, synthetic supply): benchmarkScore alone. */
  benchmarkHalfScore: number;
  /**
   * The benchmark figure that earns half the performance weight, per kind of benchmark: each node's
   * figure is read on its own kind's scale only (a CPU hash rate is never set against GPU TFLOPS).
   * A kind missing here earns no performance term.
   */
  benchmarkHalfScoreByKind: Record<string, number>;
  maxGpusPerNode: number;
  admission: {
    /** reject at intake when no registered node (online or not) could ever meet the requirements */
    requireCurrentSupply: boolean;
  };
}

/**
 * In every receipt, and the key of the matching service's snapshot (a new version rebuilds from
 * the log). 1.1.0: holds for large jobs. 2.0.0: holds become reservations that others backfill,
 * shorter jobs first (bounded), fragmentation-aware packFit. 2.1.0: surges decided with hysteresis
 * and recorded on the log (SurgeStarted / SurgeEnded), staked pools' nodes first during them.
 * 2.2.0: the performance term reads each benchmark on its own kind's scale (benchmarkHalfScoreByKind);
 * a redundant job's copies (redundancyGroup) never share a node.
 */
export const ENGINE_VERSION = 'starminer-matching/2.2.0';
export const BPS = 10_000;

const usd = (dollars: string): bigint => {
  const [whole, fraction = ''] = dollars.split('.');
  return BigInt(whole!) * 10n ** 18n + BigInt(fraction.padEnd(18, '0'));
};

/**
 * Base prices seeded with basePricesFromSkypilotRows over ../shared/data/traces/
 * skypilot_catalog_v7_vast_vms.csv (median of price / GPU count per model, 1 AGPU = 1 USD; the
 * seeding spec checks these against the file). Models absent from that catalogue (T4, P100,
 * V100M16/32 and the trace's undisclosed G2/G3) are estimates placed next to their peers.
 */
export const SEEDED_BASE_PRICES_WEI_PER_GPU_HOUR: Record<string, bigint> = {
  A10: usd('0.255'),
  A100: usd('0.734375'),
  A40: usd('0.4'),
  H100: usd('1.8'),
  H200: usd('2.82375'),
  L40S: usd('0.8'),
  RTX3060: usd('0.095'),
  RTX3090: usd('0.225'),
  RTX4080: usd('0.24'),
  RTX4090: usd('0.4'),
  RTX5090: usd('0.53'),
  'RTX6000-Ada': usd('0.655'),
  RTXA4000: usd('0.14'),
  RTXA5000: usd('0.23'),
  RTXA6000: usd('0.48'),
  V100: usd('0.2'),
};

export const ESTIMATED_BASE_PRICES_WEI_PER_GPU_HOUR: Record<string, bigint> = {
  T4: usd('0.15'),
  P100: usd('0.12'),
  V100M16: usd('0.18'),
  V100M32: usd('0.2'),
  G2: usd('0.25'),
  G3: usd('0.3'),
};

export const DEFAULT_ENGINE_CONFIG: EngineConfig = {
  engineVersion: ENGINE_VERSION,
  weights: {
    priceFit: 0.05,
    headroom: 0.75,
    packFit: 0.05,
    reservedLiquidity: 1,
    reputation: 0.2,
    performance: 0.05,
    proximity: { relaxed: 0.02, normal: 0.08, low: 0.25 },
    energy: 0.2,
  },
  pricing: {
    basePricesWeiPerGpuHour: { ...SEEDED_BASE_PRICES_WEI_PER_GPU_HOUR, ...ESTIMATED_BASE_PRICES_WEI_PER_GPU_HOUR },
    tierMultiplierBps: { priority: 13_000, standard: 10_000, economy: 8_500 },
    urgencyTier: { critical: 'priority', high: 'priority', normal: 'standard', low: 'economy' },
    minMultiplierBps: 5_000,
    maxMultiplierBps: 30_000,
    maxStepBps: 500,
    targetUtilizationBps: 7_000,
    elasticityBps: 15_000,
    smoothingBps: 3_000,
    repriceIntervalMs: 60_000,
  },
  queue: { urgencyStepMs: 10_860_000, latencyStepMs: 15_000, maxScanPerCall: 2_048, maxAugmentationsPerCall: 256, maxAugmentationCandidates: 16, holdAfterMs: 0, maxHolds: 256, maxHeldShareBps: 3_000, maxHoldScan: 4_096, maxHoldAttemptsPerCall: 64,
    runtimeClassBaseSec: 60, runtimeClassesMax: 12, runtimeStepMs: 900_000, maxFailuresPerSignature: 4, overrunGraceMs: 300_000,
  },
  fragmentation: { share: 0.8, gain: 4, mixHalfLifeMs: 6 * 3_600_000 },
  surge: { startUtilizationBps: 8_500, endUtilizationBps: 7_500, startQueueDepth: 128, endQueueDepth: 32, minDwellMs: 300_000 },
  gpuSpeed: {
    T4: 1, P100: 1.2, V100: 2, V100M16: 2, V100M32: 2, A10: 2, G2: 2, G3: 2.5, A40: 3, RTX3060: 0.8,
    RTX3090: 2.2, RTX4080: 2.5, RTX4090: 3.5, RTX5090: 4.5, RTXA4000: 1.3, RTXA5000: 2, RTXA6000: 2.6,
    'RTX6000-Ada': 4, L40S: 4.5, A100: 5, H100: 10, H200: 12,
  },
  proximityLatencyCapMs: 300,
  carbonCapGPerKwh: 800,
  benchmarkHalfScore: 100,
  benchmarkHalfScoreByKind: {
    // sha256 hashes per second on one CPU core: the agent's and the CLI's figure without a GPU, and the one name the code writes
    'hash-chain-sha256': 1_000_000,
    // the same figure as registrations made from the API's examples named it before the names were unified (still on logs)
    'sha256-hash-chain': 1_000_000,
    // dense matmul TFLOPS by precision (the agent's GPU benchmark): about an H100's measured figure each
    'gpu-matmul-tflops-bf16': 600,
    'gpu-matmul-tflops-fp16': 600,
    'gpu-matmul-tflops-tf32': 300,
    'gpu-matmul-tflops-fp32': 50,
  },
  /** The catalogue's limit: a node registers at most this many GPUs, a job asks at most this many on one node. */
  maxGpusPerNode: LIMITS.gpusPerNodeMax,
  admission: { requireCurrentSupply: false },
};
