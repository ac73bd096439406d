import type { EngineConfig } from './config';
import { costWei } from './pricing';
import {
  betterCandidate,
  groupConstant,
  maxNodeStatic,
  packFitTerm,
  priceFitTerm,
  reservedLiquidityTerm,
  totalScore,
  variantIndex,
} from './scoring';
import type { Market, NodeState } from './supply-index';
import { TIERS, type JobSpec } from './types';

/** One market that passed the market-level hard filters for a job, with what it would cost. */
export interface EligibleMarket {
  market: Market;
  gpuCount: number;
  runtimeSec: number;
  costWei: bigint;
  /** set once the reference cost is known */
  priceFit: number;
}

export interface Candidate {
  node: NodeState;
  eligible: EligibleMarket;
  packFit: number;
  reservedLiquidity: number;
  total: number;
}

export interface MarketScreen {
  eligible: EligibleMarket[];
  referenceCostWei: bigint;
  /** what the market-level filters removed, for waiting reasons */
  considered: number;
  failedBudget: number;
  failedDeadline: number;
  failedNoSpeed: number;
  /** markets where no registered node could ever meet the per-node requirements */
  failedSupply: number;
  cheapestRejectedCostWei: bigint | null;
}

export const isBudgetAndDeadlineOnly = (job: JobSpec): boolean => job.requirements.gpuCount === 0;

/** GPU count and runtime for a job in a market; null when the deadline cannot be met there. */
export function sizeFor(job: JobSpec, market: Market, atMs: number, config: EngineConfig): { gpuCount: number; runtimeSec: number } | null | 'no-speed' {
  const deadline = job.deadlineAtMs;
  const fits = (runtimeSec: number) => deadline === undefined || atMs + runtimeSec * 1000 <= deadline;
  if (!isBudgetAndDeadlineOnly(job)) {
    const runtimeSec = Math.max(1, Math.ceil(job.expectedRuntimeSec));
    return fits(runtimeSec) ? { gpuCount: job.requirements.gpuCount, runtimeSec } : null;
  }
  const speed = config.gpuSpeed[market.gpuClass];
  if (speed === undefined || !(speed > 0)) return 'no-speed';
  for (let gpuCount = 1; gpuCount <= config.maxGpusPerNode; gpuCount++) {
    const runtimeSec = Math.max(1, Math.ceil(job.expectedRuntimeSec / (speed * gpuCount)));
    if (fits(runtimeSec)) return { gpuCount, runtimeSec };
  }
  return null;
}

/** Market-level hard filters: accepted model and region (by construction of `markets`), deadline, budget. */
export function screenMarkets(job: JobSpec, markets: Iterable<Market>, atMs: number, config: EngineConfig): MarketScreen {
  const tierIdx = TIERS.indexOf(config.pricing.urgencyTier[job.urgency]);
  const screen: MarketScreen = {
    eligible: [],
    referenceCostWei: 0n,
    considered: 0,
    failedBudget: 0,
    failedDeadline: 0,
    failedNoSpeed: 0,
    failedSupply: 0,
    cheapestRejectedCostWei: null,
  };
  let reference: bigint | null = null;
  for (const market of markets) {
    if (market.basePriceWeiPerGpuHour === undefined) continue;
    screen.considered++;
    const size = sizeFor(job, market, atMs, config);
    if (size === 'no-speed') {
      screen.failedNoSpeed++;
      continue;
    }
    if (size === null) {
      screen.failedDeadline++;
      continue;
    }
    const r = job.requirements;
    if (!market.couldServe(size.gpuCount, r.minVramGiB, r.tee, r.maxLatencyMs)) {
      screen.failedSupply++;
      continue;
    }
    const cost = costWei(market.perGpuHourWei[tierIdx]! * BigInt(size.gpuCount), size.runtimeSec);
    if (cost > job.budgetWei) {
      screen.failedBudget++;
      if (screen.cheapestRejectedCostWei === null || cost < screen.cheapestRejectedCostWei) screen.cheapestRejectedCostWei = cost;
      continue;
    }
    if (reference === null || cost < reference) reference = cost;
    screen.eligible.push({ market, gpuCount: size.gpuCount, runtimeSec: size.runtimeSec, costWei: cost, priceFit: 0 });
  }
  screen.referenceCostWei = reference ?? 0n;
  for (const e of screen.eligible) e.priceFit = priceFitTerm(config, screen.referenceCostWei, e.costWei);
  return screen;
}

/** Per-node hard filters that the index does not bucket on. */
export const passesNodeFilters = (node: NodeState, job: JobSpec): boolean =>
  node.spec.vramGiB >= job.requirements.minVramGiB &&
  (job.requirements.maxLatencyMs === undefined || node.spec.latencyMs <= job.requirements.maxLatencyMs);

export interface SearchResult {
  best: Candidate | null;
  runnerUp: Candidate | null;
  candidatesConsidered: number;
}

class TopTwo {
  best: Candidate | null = null;
  runnerUp: Candidate | null = null;
  scored = 0;
  /** a candidate scoring below this cannot enter the top two */
  threshold(): number {
    return this.runnerUp ? this.runnerUp.total : -Infinity;
  }
  offer(c: Candidate): void {
    this.scored++;
    if (!this.best || betterCandidate(c.total, c.node.spec.nodeId, this.best.total, this.best.node.spec.nodeId)) {
      this.runnerUp = this.best;
      this.best = c;
    } else if (!this.runnerUp || betterCandidate(c.total, c.node.spec.nodeId, this.runnerUp.total, this.runnerUp.node.spec.nodeId)) {
      this.runnerUp = c;
    }
  }
}

/**
 * Indexed search: markets by upper bound, groups with enough free GPUs, and in each group the
 * nodes in score order until two pass the per-node filters. Exact: it returns the same best and
 * runner-up as the full scan (the property tests check it), because every skipped market, group
 * or node has an upper bound strictly below the current runner-up.
 */
export function indexedSearch(job: JobSpec, screen: MarketScreen, config: EngineConfig): SearchResult {
  const v = variantIndex(job.latencyPreference, job.green);
  const staticBound = maxNodeStatic(job.latencyPreference, job.green, config);
  const w = config.weights;
  const ordered = screen.eligible
    .map((e) => ({ e, bound: totalScore(groupConstant(e.priceFit, w.packFit, e.market.surge ? w.reservedLiquidity : 0), staticBound) }))
    .sort((a, b) => b.bound - a.bound || (a.e.market.key < b.e.market.key ? -1 : a.e.market.key > b.e.market.key ? 1 : 0));
  const top = new TopTwo();
  const combos = job.requirements.tee ? [2, 3] : [0, 1, 2, 3];
  const maxFree = config.maxGpusPerNode;
  for (const { e, bound } of ordered) {
    if (bound < top.threshold()) break;
    const market = e.market;
    if (market.totalGpus - market.usedGpus < e.gpuCount) continue;
    const surge = market.surge;
    for (const combo of combos) {
      const byFree = market.groups[combo]!;
      const reservedLiquidity = reservedLiquidityTerm(config, surge, (combo & 1) === 1);
      for (let free = e.gpuCount; free <= maxFree; free++) {
        const group = byFree[free];
        if (!group || group.size === 0) continue;
        const packFit = packFitTerm(config, e.gpuCount, free);
        const groupConst = groupConstant(e.priceFit, packFit, reservedLiquidity);
        const list = group.lists[v]!;
        let passed = 0;
        for (let i = 0; i < list.length && passed < 2; i++) {
          const node = list[i]!;
          const total = totalScore(groupConst, node.staticScores[v]!);
          if (total < top.threshold()) break;
          if (!passesNodeFilters(node, job)) continue;
          passed++;
          top.offer({ node, eligible: e, packFit, reservedLiquidity, total });
        }
      }
    }
  }
  return { best: top.best, runnerUp: top.runnerUp, candidatesConsidered: top.scored };
}

/**
 * The plain full-scan scorer: every node, every hard filter, the same score. The benchmark's
 * baseline and the property tests' oracle. Market-level terms are computed once per job (as any
 * sensible scanner would), node terms per node.
 */
export function fullScanSearch(job: JobSpec, screen: MarketScreen, nodes: readonly NodeState[], config: EngineConfig): SearchResult {
  const v = variantIndex(job.latencyPreference, job.green);
  const byMarket = new Map<Market, EligibleMarket>();
  for (const e of screen.eligible) byMarket.set(e.market, e);
  const top = new TopTwo();
  const tee = job.requirements.tee;
  for (const node of nodes) {
    const e = byMarket.get(node.market);
    if (!e || !node.spec.online) continue;
    const free = node.freeGpus;
    if (free < e.gpuCount || (tee && !node.spec.tee) || !passesNodeFilters(node, job)) continue;
    const packFit = packFitTerm(config, e.gpuCount, free);
    const reservedLiquidity = reservedLiquidityTerm(config, node.market.surge, node.inPool);
    const total = totalScore(groupConstant(e.priceFit, packFit, reservedLiquidity), node.staticScores[v]!);
    top.offer({ node, eligible: e, packFit, reservedLiquidity, total });
  }
  return { best: top.best, runnerUp: top.runnerUp, candidatesConsidered: top.scored };
}
