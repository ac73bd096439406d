import type { EngineConfig } from './config';
import type { FragmentationTable } from './fragmentation';
import { LATENCY_PREFERENCES, type LatencyPreference, type NodeSpec, type ScoreTerms } from './types';

/**
 * Score-fit. A node's score for a job is
 *   total = ((marketTerm + packFit) + reservedLiquidity) + nodeStatic,  marketTerm = priceFit + headroom
 *   nodeStatic = ((reputation + performance) + proximity) + energy
 * evaluated in exactly this order everywhere (indexed search, full scan, receipts) so that the
 * same inputs give the same floating-point total bit for bit. The node-only part depends on the
 * job only through its latency preference and green flag: 6 variants, precomputed per node.
 */
export const VARIANT_COUNT = LATENCY_PREFERENCES.length * 2;

export const variantIndex = (latencyPreference: LatencyPreference, green: boolean): number =>
  LATENCY_PREFERENCES.indexOf(latencyPreference) * 2 + (green ? 1 : 0);

const unit = (x: number): number => (x <= 0 ? 0 : x >= 1 ? 1 : x);

/**
 * A node's benchmark in [0, 1), on the scale of its own kind: score / (score + that kind's half
 * score). A kind the engine has no scale for earns 0 (its figure says nothing comparable); a node
 * without a kind reads on benchmarkHalfScore.
 */
export function performanceFactor(node: Pick<NodeSpec, 'benchmarkScore' | 'benchmarkKind'>, config: EngineConfig): number {
  const half = node.benchmarkKind === undefined ? config.benchmarkHalfScore : Object.prototype.hasOwnProperty.call(config.benchmarkHalfScoreByKind, node.benchmarkKind) ? config.benchmarkHalfScoreByKind[node.benchmarkKind] : undefined;
  if (half === undefined || !(half > 0)) return 0;
  const bench = Math.max(0, node.benchmarkScore);
  return bench / (bench + half);
}

export interface NodeTerms {
  reputation: number;
  performance: number;
  proximity: number;
  energy: number;
  nodeStatic: number;
}

export function nodeTerms(node: NodeSpec, latencyPreference: LatencyPreference, green: boolean, config: EngineConfig): NodeTerms {
  const w = config.weights;
  const reputation = w.reputation * unit(node.reputation);
  const performance = w.performance * performanceFactor(node, config);
  const proximity = w.proximity[latencyPreference] * (1 - unit(node.latencyMs / config.proximityLatencyCapMs));
  const energy = green ? w.energy * ((unit(node.renewableShare) + (1 - unit(node.carbonGPerKwh / config.carbonCapGPerKwh))) / 2) : 0;
  return { reputation, performance, proximity, energy, nodeStatic: reputation + performance + proximity + energy };
}

/** nodeStatic for every variant, indexed by variantIndex. */
export function nodeStaticScores(node: NodeSpec, config: EngineConfig): Float64Array {
  const out = new Float64Array(VARIANT_COUNT);
  for (const pref of LATENCY_PREFERENCES) {
    out[variantIndex(pref, false)] = nodeTerms(node, pref, false, config).nodeStatic;
    out[variantIndex(pref, true)] = nodeTerms(node, pref, true, config).nodeStatic;
  }
  return out;
}

/** Largest nodeStatic any node can reach in a variant: the pruning bound of the indexed search. */
export function maxNodeStatic(latencyPreference: LatencyPreference, green: boolean, config: EngineConfig): number {
  const w = config.weights;
  return w.reputation + w.performance + w.proximity[latencyPreference] + (green ? w.energy : 0);
}

/** cheapest eligible market's cost / this market's cost (both as floats: a ratio needs no Wei precision) */
export const priceFitTerm = (config: EngineConfig, referenceCost: number, cost: number): number =>
  cost <= 0 ? config.weights.priceFit : config.weights.priceFit * unit(referenceCost / cost);

/** Share of a TEE node's packing credit kept when it serves a job that needs no TEE. */
export const TEE_SPARE_FACTOR = 0.5;

/** free GPUs / online GPUs of the market, weighted */
export const headroomTerm = (config: EngineConfig, freeGpus: number, totalGpus: number): number =>
  totalGpus <= 0 ? 0 : config.weights.headroom * unit(freeGpus / totalGpus);

/** The market-level part of a score: the same for every node of one market for one job. */
export const marketTerm = (priceFit: number, headroom: number): number => priceFit + headroom;

/**
 * Capacity fit: how little fragmentation the placement leaves (FragmentationTable.fit: the
 * fragmentation gradient of the market against the demand's mix, blended with best fit), scaled by
 * TEE_SPARE_FACTOR when a TEE node would serve a job that does not need TEE (keep the scarce
 * capability for jobs that do).
 */
export const packFitTerm = (config: EngineConfig, fragmentation: FragmentationTable, gpuCount: number, freeGpus: number, wastesTee: boolean): number =>
  config.weights.packFit * fragmentation.fit(gpuCount, freeGpus) * (wastesTee ? TEE_SPARE_FACTOR : 1);

/**
 * A staked pool's node while its market is in surge (surge.ts): weights.reservedLiquidity, which
 * is above nodeSpreadMax, so it dominates: every staked eligible node of a surging market ranks
 * before every unstaked one of it. 0 outside surges (routing as without it).
 */
export const reservedLiquidityTerm = (config: EngineConfig, surge: boolean, staked: boolean): number =>
  surge && staked ? config.weights.reservedLiquidity : 0;

/**
 * The widest the node-level terms other than reservedLiquidity can differ between two nodes of one
 * market for one job: packFit + the largest nodeStatic of any variant (each term is in [0, weight]).
 */
export function nodeSpreadMax(config: EngineConfig): number {
  const w = config.weights;
  return w.packFit + w.reputation + w.performance + Math.max(...LATENCY_PREFERENCES.map((p) => w.proximity[p])) + w.energy;
}

/** The market-and-node part that is constant inside one (market, tee, pool, free) group. */
export const groupConstant = (market: number, packFit: number, reservedLiquidity: number): number => market + packFit + reservedLiquidity;

export const totalScore = (groupConst: number, nodeStatic: number): number => groupConst + nodeStatic;

export function scoreTerms(
  node: NodeSpec,
  latencyPreference: LatencyPreference,
  green: boolean,
  priceFit: number,
  headroom: number,
  packFit: number,
  reservedLiquidity: number,
  config: EngineConfig,
): ScoreTerms {
  const t = nodeTerms(node, latencyPreference, green, config);
  return {
    priceFit,
    headroom,
    packFit,
    reservedLiquidity,
    reputation: t.reputation,
    performance: t.performance,
    proximity: t.proximity,
    energy: t.energy,
    total: totalScore(groupConstant(marketTerm(priceFit, headroom), packFit, reservedLiquidity), t.nodeStatic),
  };
}

/** Total order of candidates: higher score first, then smaller nodeId (stable, deterministic). */
export const betterCandidate = (scoreA: number, nodeIdA: string, scoreB: number, nodeIdB: string): boolean =>
  scoreA > scoreB || (scoreA === scoreB && nodeIdA < nodeIdB);
