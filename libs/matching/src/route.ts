import type { EngineConfig } from './config';
import { costWei } from './pricing';
import {
  betterCandidate,
  groupConstant,
  packFitTerm,
  priceFitTerm,
  headroomTerm,
  marketTerm,
  reservedLiquidityTerm,
  totalScore,
  variantIndex,
} from './scoring';
import type { Market, NodeState } from './supply-index';
import { TIERS, type JobSpec, type NodeSpec } from './types';

/** One market that passed the market-level hard filters for a job, with what it would cost. */
export interface EligibleMarket {
  market: Market;
  gpuCount: number;
  runtimeSec: number;
  /** cost in Wei as a float (exact only up to 2^53): ranks markets; quotes are exact */
  costApprox: number;
  /** set once the reference cost is known */
  priceFit: number;
  headroom: number;
  /** marketTerm(priceFit, headroom) */
  marketConst: number;
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

/** Size of a job in a market, written into `out`; false when the deadline cannot be met there. */
interface Size {
  gpuCount: number;
  runtimeSec: number;
}

const NO_SPEED = -1;
const MISSED_DEADLINE = 0;
const SIZED = 1;

function sizeInto(job: JobSpec, gpuClass: string, atMs: number, config: EngineConfig, out: Size): number {
  const deadline = job.deadlineAtMs;
  if (!isBudgetAndDeadlineOnly(job)) {
    const runtimeSec = Math.max(1, Math.ceil(job.expectedRuntimeSec));
    if (deadline !== undefined && atMs + runtimeSec * 1000 > deadline) return MISSED_DEADLINE;
    out.gpuCount = job.requirements.gpuCount;
    out.runtimeSec = runtimeSec;
    return SIZED;
  }
  const speed = config.gpuSpeed[gpuClass];
  if (speed === undefined || !(speed > 0)) return NO_SPEED;
  for (let gpuCount = 1; gpuCount <= config.maxGpusPerNode; gpuCount++) {
    const runtimeSec = Math.max(1, Math.ceil(job.expectedRuntimeSec / (speed * gpuCount)));
    if (deadline === undefined || atMs + runtimeSec * 1000 <= deadline) {
      out.gpuCount = gpuCount;
      out.runtimeSec = runtimeSec;
      return SIZED;
    }
  }
  return MISSED_DEADLINE;
}

/** GPU count and runtime for a job in a market; null when the deadline cannot be met there. */
export function sizeFor(job: JobSpec, market: Market, atMs: number, config: EngineConfig): Size | null | 'no-speed' {
  const out: Size = { gpuCount: 0, runtimeSec: 0 };
  const r = sizeInto(job, market.gpuClass, atMs, config, out);
  return r === NO_SPEED ? 'no-speed' : r === MISSED_DEADLINE ? null : out;
}

/** Relative margin inside which the float budget check defers to exact bigint arithmetic. */
const BUDGET_CHECK_MARGIN = 1e-9;

/**
 * Market-level hard filters: accepted model and region (by construction of `markets`), some
 * registered node that could ever meet the per-node requirements, deadline, budget. Costs are
 * compared in floating point and, within 1e-9 of the budget, exactly in bigint; the quote of the
 * winner is always computed exactly.
 */
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
  const r = job.requirements;
  const budget = job.budgetWei;
  const budgetApprox = Number(budget);
  const size: Size = { gpuCount: 0, runtimeSec: 0 };
  let reference: EligibleMarket | null = null;
  let cheapestRejected = Infinity;
  for (const market of markets) {
    if (market.basePriceWeiPerGpuHour === undefined) continue;
    screen.considered++;
    const sized = sizeInto(job, market.gpuClass, atMs, config, size);
    if (sized === NO_SPEED) {
      screen.failedNoSpeed++;
      continue;
    }
    if (sized === MISSED_DEADLINE) {
      screen.failedDeadline++;
      continue;
    }
    if (!market.couldServe(size.gpuCount, r.minVramGiB, r.tee, r.maxLatencyMs)) {
      screen.failedSupply++;
      continue;
    }
    const approx = (market.perGpuHourWeiApprox[tierIdx]! * size.gpuCount * size.runtimeSec) / 3600;
    let affordable = approx < budgetApprox * (1 - BUDGET_CHECK_MARGIN);
    if (!affordable && approx <= budgetApprox * (1 + BUDGET_CHECK_MARGIN))
      affordable = costWei(market.perGpuHourWei[tierIdx]! * BigInt(size.gpuCount), size.runtimeSec) <= budget;
    if (!affordable) {
      screen.failedBudget++;
      if (approx < cheapestRejected) {
        cheapestRejected = approx;
        screen.cheapestRejectedCostWei = costWei(market.perGpuHourWei[tierIdx]! * BigInt(size.gpuCount), size.runtimeSec);
      }
      continue;
    }
    const e: EligibleMarket = { market, gpuCount: size.gpuCount, runtimeSec: size.runtimeSec, costApprox: approx, priceFit: 0, headroom: 0, marketConst: 0 };
    if (reference === null || approx < reference.costApprox || (approx === reference.costApprox && market.key < reference.market.key)) reference = e;
    screen.eligible.push(e);
  }
  if (reference) {
    screen.referenceCostWei = costWei(reference.market.perGpuHourWei[tierIdx]! * BigInt(reference.gpuCount), reference.runtimeSec);
    for (const e of screen.eligible) {
      e.priceFit = priceFitTerm(config, reference.costApprox, e.costApprox);
      e.headroom = headroomTerm(config, e.market.totalGpus - e.market.usedGpus, e.market.totalGpus);
      e.marketConst = marketTerm(e.priceFit, e.headroom);
    }
  }
  return screen;
}

/** Per-node hard filters that the index does not bucket on (VRAM, latency, excluded nodes, runtime). */
export const passesNodeFilters = (node: NodeState, job: JobSpec): boolean => specPassesFilters(node.spec, job);

const specPassesFilters = (spec: NodeSpec, job: JobSpec): boolean =>
  spec.vramGiB >= job.requirements.minVramGiB &&
  (job.requirements.maxLatencyMs === undefined || spec.latencyMs <= job.requirements.maxLatencyMs) &&
  (job.requirements.excludedNodeIds === undefined || !job.requirements.excludedNodeIds.includes(spec.nodeId)) &&
  hasRuntime(spec, job.requirements.runtime);

/** Whether a node registered the runtime a job needs (none needed: any node). */
const hasRuntime = (spec: NodeSpec, runtime: string | undefined): boolean => runtime === undefined || (spec.runtimes?.includes(runtime) ?? false);

/** Every per-node hard requirement of a job but the GPU count: TEE, VRAM, latency. */
export const meetsNodeRequirements = (spec: NodeSpec, job: JobSpec): boolean => (!job.requirements.tee || spec.tee) && specPassesFilters(spec, job);

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
/** Scratch space of the market ordering, reused across calls (single-threaded, never escapes). */
let scratchHeap = new Int32Array(256);
let scratchBounds = new Float64Array(256);

/**
 * Slack added to a market's bound: the bound sums its terms in another order than a total does,
 * so it may round below the best total by a few ulps; scores are O(1), so this is far above that.
 */
const MARKET_BOUND_SLACK = 1e-9;

export function indexedSearch(
  job: JobSpec,
  screen: MarketScreen,
  config: EngineConfig,
  atMs: number,
  held: readonly NodeState[],
): SearchResult {
  const v = variantIndex(job.latencyPreference, job.green);
  const eligible = screen.eligible;
  const needTee = job.requirements.tee;
  const n = eligible.length;
  const top = new TopTwo();
  // held nodes, for a job that ends before the holder starts: all their free GPUs (the index keys
  // them by the GPUs the holder will not need, which any job may use; the walks below skip them
  // for such a job so that each node is offered once, with the free GPUs it really offers)
  if (held.length > 0) offerHeldNodes(job, screen, config, atMs, held, v, top);
  if (scratchHeap.length < n) {
    scratchHeap = new Int32Array(n * 2);
    scratchBounds = new Float64Array(n * 2);
  }
  // markets by upper bound, best first, as a binary max-heap over parallel arrays (most decisions
  // visit a few markets of many: building is O(n), each visit O(log n), no closures, no allocation)
  const heap = scratchHeap;
  const bounds = scratchBounds;
  let size = 0;
  for (let i = 0; i < n; i++) {
    const e = eligible[i]!;
    const nodePart = e.market.nodePartBound(v, e.gpuCount, needTee);
    if (nodePart === -Infinity) continue; // no indexed node with enough free GPUs
    bounds[i] = e.marketConst + nodePart + MARKET_BOUND_SLACK;
    heap[size++] = i;
  }
  for (let i = (size >> 1) - 1; i >= 0; i--) siftDown(heap, size, i, bounds, eligible);
  const maxLatencyMs = job.requirements.maxLatencyMs ?? Infinity;
  const minVramGiB = job.requirements.minVramGiB;
  // a re-matched job's failed nodes (issue 16): a per-node filter the index does not bucket on
  const excluded = job.requirements.excludedNodeIds?.length ? job.requirements.excludedNodeIds : undefined;
  // a container workload's runtime (issue 17): per node too, as few nodes lack it
  const runtime = job.requirements.runtime;
  while (size > 0) {
    const idx = heap[0]!;
    if (bounds[idx]! < top.threshold()) break;
    heap[0] = heap[--size]!;
    siftDown(heap, size, 0, bounds, eligible);
    const e = eligible[idx]!;
    const market = e.market;
    const surge = market.surge;
    const groups = market.activeGroups;
    for (let gi = 0; gi < groups.length; gi++) {
      const group = groups[gi]!;
      if (group.freeGpus < e.gpuCount || (needTee && group.combo < 2) || group.latencyFloorMs > maxLatencyMs) continue;
      const checkLatency = group.latencyCeilingMs > maxLatencyMs;
      const reservedLiquidity = reservedLiquidityTerm(config, surge, (group.combo & 1) === 1);
      const packFit = packFitTerm(config, market.fragmentation, e.gpuCount, group.freeGpus, !needTee && group.combo >= 2);
      const endsAtMs = atMs + e.runtimeSec * 1000;
      const groupConst = groupConstant(e.marketConst, packFit, reservedLiquidity);
      if (totalScore(groupConst, group.heads[v]!) < top.threshold()) continue;
      const list = group.lists[v]!;
      const scores = list.scores;
      const vram = list.vramGiB;
      const latency = list.latencyMs;
      const count = list.length;
      let passed = 0;
      for (let i = 0; i < count && passed < 2; i++) {
        const total = totalScore(groupConst, scores[i]!);
        if (total < top.threshold()) break;
        if (vram[i]! < minVramGiB || (checkLatency && latency[i]! > maxLatencyMs)) continue;
        const node = list.nodes[i]!;
        if (excluded && excluded.includes(node.spec.nodeId)) continue;
        if (runtime !== undefined && !hasRuntime(node.spec, runtime)) continue;
        if (node.heldBy !== null && endsAtMs <= node.holdStartMs) continue; // offered above
        passed++;
        top.offer({ node, eligible: e, packFit, reservedLiquidity, total });
      }
    }
  }
  return { best: top.best, runnerUp: top.runnerUp, candidatesConsidered: top.scored };
}

function offerHeldNodes(
  job: JobSpec,
  screen: MarketScreen,
  config: EngineConfig,
  atMs: number,
  held: readonly NodeState[],
  v: number,
  top: TopTwo,
): void {
  const needTee = job.requirements.tee;
  for (const node of held) {
    if (!node.spec.online || node.freeGpus === 0) continue; // cheap tests first: this runs on every routing while holds exist
    const e = screen.eligible.find((x) => x.market === node.market);
    if (!e || atMs + e.runtimeSec * 1000 > node.holdStartMs) continue;
    const free = node.freeGpus;
    if (free < e.gpuCount || !meetsNodeRequirements(node.spec, job)) continue;
    const packFit = packFitTerm(config, node.market.fragmentation, e.gpuCount, free, !needTee && node.spec.tee);
    const reservedLiquidity = reservedLiquidityTerm(config, node.market.surge, node.staked);
    top.offer({ node, eligible: e, packFit, reservedLiquidity, total: totalScore(groupConstant(e.marketConst, packFit, reservedLiquidity), node.staticScores[v]!) });
  }
}

function siftDown(heap: Int32Array, size: number, at: number, bounds: Float64Array, eligible: EligibleMarket[]): void {
  const item = heap[at]!;
  for (;;) {
    let child = 2 * at + 1;
    if (child >= size) break;
    const right = child + 1;
    if (right < size && marketBefore(bounds[heap[right]!]!, eligible[heap[right]!]!, bounds[heap[child]!]!, eligible[heap[child]!]!)) child = right;
    if (!marketBefore(bounds[heap[child]!]!, eligible[heap[child]!]!, bounds[item]!, eligible[item]!)) break;
    heap[at] = heap[child]!;
    at = child;
  }
  heap[at] = item;
}

function marketBefore(boundA: number, a: EligibleMarket, boundB: number, b: EligibleMarket): boolean {
  return boundA > boundB || (boundA === boundB && a.market.key < b.market.key);
}

/**
 * The plain full-scan scorer: every node, every hard filter, the same score. The benchmark's
 * baseline and the property tests' oracle. Market-level terms are computed once per job (as any
 * sensible scanner would), node terms per node.
 */
export function fullScanSearch(
  job: JobSpec,
  screen: MarketScreen,
  nodes: readonly NodeState[],
  config: EngineConfig,
  atMs: number,
  onCandidate?: (c: Candidate) => void,
): SearchResult {
  const v = variantIndex(job.latencyPreference, job.green);
  const byMarket = new Map<Market, EligibleMarket>();
  for (const e of screen.eligible) byMarket.set(e.market, e);
  const top = new TopTwo();
  const tee = job.requirements.tee;
  for (const node of nodes) {
    const e = byMarket.get(node.market);
    if (!e || !node.spec.online) continue;
    const free = node.usableFree(atMs + e.runtimeSec * 1000);
    if (free < e.gpuCount || !meetsNodeRequirements(node.spec, job)) continue;
    const packFit = packFitTerm(config, node.market.fragmentation, e.gpuCount, free, !tee && node.spec.tee);
    const reservedLiquidity = reservedLiquidityTerm(config, node.market.surge, node.staked);
    const total = totalScore(groupConstant(e.marketConst, packFit, reservedLiquidity), node.staticScores[v]!);
    const candidate = { node, eligible: e, packFit, reservedLiquidity, total };
    top.offer(candidate);
    onCandidate?.(candidate);
  }
  return { best: top.best, runnerUp: top.runnerUp, candidatesConsidered: top.scored };
}
