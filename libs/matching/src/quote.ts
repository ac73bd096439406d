import { LIMITS, truncateText, type QuoteChange, type QuoteReasonCode, type WaitBasis } from '@starminer/events';
import type { EngineConfig } from './config';
import type { MatchingEngine } from './engine';
import { quote as priceQuote } from './pricing';
import { entryBefore, priorityKey } from './queue';
import { meetsNodeRequirements, sizeFor } from './route';
import type { Market } from './supply-index';
import type { JobSpec, Match, Quote } from './types';

/**
 * Quotes: what the engine would decide for a job now, without deciding it. The price and node are
 * the engine's own `route` (same eligibility, scoring and pricing as a match, nothing reserved);
 * the markets, the reasons and the nearest options are read from the same supply with the same
 * predicates (`sizeFor`, `meetsNodeRequirements`, `quote`). Nothing in the engine changes, and the
 * work is bounded (QUOTE_LIMITS), so a quote runs between two match rounds without holding them up.
 */
export const QUOTE_LIMITS = {
  /**
   * Registered nodes one quote visits one by one (free nodes are counted from the supply index,
   * which is cheap): to count the online nodes of the markets it lists, cheapest first, and to say
   * why nothing fits. A visit follows a pointer per node (about a microsecond on 100k nodes): the
   * bound keeps a quote to a few milliseconds. Counts it cuts short say so (countsComplete).
   */
  nodeScanMax: 5_000,
  /** Routings tried for the nearest options: each costs what one routing decision of a match costs. */
  alternativeRoutesMax: 32,
  /** Queued jobs looked at to count the ones ahead (the count is then a lower bound). */
  queueScanMax: 10_000,
  /** Markets a quote lists (the catalogue's limit on the answer). */
  marketsMax: LIMITS.quoteMarketsMax,
  /** Names one reason lists (regions, models) before "…": a sentence, never a dump. */
  namesInReasonMax: 8,
} as const;
export type QuoteLimits = { -readonly [K in keyof typeof QUOTE_LIMITS]: number };

export interface MarketQuote {
  /** the price in this market now, for this job: the terms a match here would fix */
  quote: Quote;
  gpuCount: number;
  /** online nodes meeting every requirement (busy or not), of them the ones free now, and their free GPUs */
  nodesEligible: number;
  nodesFree: number;
  freeGpus: number;
  utilizationBps: number;
  /** false when the node visits stopped at their bound inside or before this market: nodesEligible is a lower bound (the free counts are exact) */
  countsComplete: boolean;
}

export interface QuoteReason {
  code: QuoteReasonCode;
  message: string;
}

/** The job with one change, and what the engine would decide for it now (a match: node and price). */
export interface QuoteOption {
  change: QuoteChange;
  value: string;
  match: Match;
}

export interface JobQuote {
  /** some online node could run the job as it is: now, or once it has capacity */
  feasible: boolean;
  /** what a match round would decide now (node, price, receipt); null when no node could take it now */
  match: Match | null;
  /** markets that could run it, cheapest first, at most QUOTE_LIMITS.marketsMax */
  markets: MarketQuote[];
  marketsTotal: number;
  expectedWaitSec: number | null;
  waitBasis: WaitBasis;
  /** queued jobs of its category that come before it and could use the same markets */
  queuedAhead: number;
  /** why it would not match now, most specific first (empty with a match) */
  reasons: QuoteReason[];
  /** the nearest options that would match now: budget, then region, then GPU model (empty with a match) */
  nearest: QuoteOption[];
  atMs: number;
  engineVersion: string;
}

export interface QuoteOptions {
  /** the wait of a job that a free node can take: the service's match round period, in seconds */
  nextRoundSec: number;
  limits?: Partial<QuoteLimits>;
}

/** One market sized and priced for the job, its free nodes (from the index) and what the node visits found in it. */
interface Survey extends Sized {
  /** nodes meeting every requirement with enough free GPUs now (not held), and their free GPUs: exact, from the supply index */
  free: number;
  freeGpus: number;
  /** how far the free nodes were counted: not yet, up to the first, all */
  freeCounted: 'no' | 'any' | 'all';
  /** of the nodes visited: how many requirements in a row (GPU count, VRAM, TEE, latency) the best one meets (4 = all) */
  deepest: number;
  /** of the nodes visited: those meeting every requirement, and of them the online ones */
  passing: number;
  online: number;
  /** every node of the market was visited (its counts are exact) */
  complete: boolean;
  /** for the reasons: the most GPUs, the most VRAM (of nodes with the GPUs), the least latency (of nodes meeting the rest) */
  maxGpuCount: number;
  maxVramGiB: number;
  minLatencyMs: number;
}

const accepts = (asked: readonly string[], value: string): boolean => asked.length === 0 || asked.includes(value);
const overlaps = (a: readonly string[], b: readonly string[]): boolean => a.length === 0 || b.length === 0 || a.some((x) => b.includes(x));
const byCostThenKey = (a: { quote: Quote; market: Market }, b: { quote: Quote; market: Market }): number =>
  a.quote.costWei < b.quote.costWei ? -1 : a.quote.costWei > b.quote.costWei ? 1 : a.market.key < b.market.key ? -1 : a.market.key > b.market.key ? 1 : 0;

/**
 * What the engine would decide for `job` now (`atMs`, the time a match round would use), with
 * nothing reserved, held or recorded: the node and price a round would give it, the markets that
 * could run it, the expected wait, and where nothing fits now why, with the nearest options that
 * would match.
 */
export function quoteJob(engine: MatchingEngine, job: JobSpec, atMs: number, options: QuoteOptions): JobQuote {
  const config = engine.config;
  const limits: QuoteLimits = { ...QUOTE_LIMITS, ...options.limits };
  const r = job.requirements;
  const routed = engine.route(job, atMs);
  const match = 'match' in routed ? routed.match : null;

  const priced = [...engine.allMarkets()].filter((m) => m.basePriceWeiPerGpuHour !== undefined && m.members.length > 0);
  const ofModels = priced.filter((m) => accepts(r.gpuModels, m.gpuClass));
  const candidates = ofModels.filter((m) => accepts(r.regions, m.region));
  const sized = sizeAndPrice(job, candidates, atMs, config).sort(byCostThenKey);
  const surveys = sized.map(newSurvey);
  const scan = { left: limits.nodeScanMax };
  // markets within budget that could run it, cheapest first: the listed ones counted, the rest probed
  const listed: Survey[] = [];
  for (const x of surveys) {
    if (x.quote.costWei > job.budgetWei) continue;
    if (listed.length < limits.marketsMax) {
      countFree(job, x, 'all');
      visit(job, x, scan, 'all');
    } else {
      countFree(job, x, 'any');
      if (x.free === 0) visit(job, x, scan, 'online');
    }
    if (x.free > 0 || x.online > 0) listed.push(x);
  }
  const feasible = match !== null || listed.length > 0;
  const queuedAhead = countQueuedAhead(engine, job, limits.queueScanMax);
  const markets = listed.slice(0, limits.marketsMax).map(marketQuote);
  const base = { feasible, markets, marketsTotal: listed.length, queuedAhead, atMs, engineVersion: config.engineVersion };
  if (match) return { ...base, match, expectedWaitSec: options.nextRoundSec, waitBasis: 'free-capacity-now', reasons: [], nearest: [] };

  const reasons: QuoteReason[] = [];
  const unknown = r.gpuModels.filter((m) => config.pricing.basePricesWeiPerGpuHour[m] === undefined);
  if (unknown.length) reasons.push({ code: 'unknown-gpu-model', message: `unknown GPU model ${names(unknown, limits)}` });
  // nothing free within budget: what stops it, looked for over budget too (cheapest first, until a node meets every requirement)
  const passesWithinBudget = surveys.some((x) => x.quote.costWei <= job.budgetWei && (x.passing > 0 || x.free > 0));
  for (const x of passesWithinBudget ? [] : surveys) {
    if (x.quote.costWei <= job.budgetWei) continue;
    countFree(job, x, 'any');
    if (x.free > 0) break;
    visit(job, x, scan, 'passing');
    if (x.passing > 0) break;
  }
  reasons.push(diagnose(job, { ofModels, candidates, sized: sized.length, surveys }, limits));
  return {
    ...base,
    match: null,
    expectedWaitSec: null,
    waitBasis: feasible ? 'capacity-busy' : 'not-feasible',
    reasons: reasons.map((x) => ({ ...x, message: truncateText(x.message, LIMITS.reasonLengthMax) })),
    nearest: nearestOptions(engine, job, atMs, { ofModels, surveys, priced }, limits),
  };
}

interface Sized {
  market: Market;
  gpuCount: number;
  runtimeSec: number;
  quote: Quote;
}

/** Markets where the job meets its deadline, with the price a match there would fix (as buildMatch prices it). */
function sizeAndPrice(job: JobSpec, markets: readonly Market[], atMs: number, config: EngineConfig): Sized[] {
  const tier = config.pricing.urgencyTier[job.urgency];
  const out: Sized[] = [];
  for (const market of markets) {
    const size = sizeFor(job, market, atMs, config);
    if (size === null || size === 'no-speed') continue;
    const quote = priceQuote(
      { gpuClass: market.gpuClass, region: market.region, tier, gpuCount: size.gpuCount, runtimeSec: size.runtimeSec, utilizationMultiplierBps: market.multiplierBps },
      config.pricing,
    );
    out.push({ market, gpuCount: size.gpuCount, runtimeSec: size.runtimeSec, quote });
  }
  return out;
}

// spelled out: a spread followed by new fields builds a slow object in V8 (tens of µs each, measured)
const newSurvey = (s: Sized): Survey => ({
  market: s.market,
  gpuCount: s.gpuCount,
  runtimeSec: s.runtimeSec,
  quote: s.quote,
  free: 0,
  freeGpus: 0,
  freeCounted: 'no',
  deepest: 0,
  passing: 0,
  online: 0,
  complete: false,
  maxGpuCount: 0,
  maxVramGiB: 0,
  minLatencyMs: Infinity,
});

/**
 * The market's nodes that could take the job now, counted in the supply index the way the
 * routing search reads it: groups of online, unheld nodes by free GPUs and TEE, with each node's
 * VRAM and latency in flat arrays. Exact and cheap (no pointer per node); `any` stops at the first.
 */
function countFree(job: JobSpec, out: Survey, until: 'all' | 'any'): void {
  if (out.freeCounted === 'all' || out.freeCounted === until) return;
  const r = job.requirements;
  const minVramGiB = r.minVramGiB;
  const maxLatencyMs = r.maxLatencyMs ?? Infinity;
  let free = 0;
  let freeGpus = 0;
  for (const group of out.market.activeGroups) {
    if (group.freeGpus < out.gpuCount || (r.tee && group.combo < 2)) continue;
    const list = group.lists[0]!;
    const vram = list.vramGiB;
    const latency = list.latencyMs;
    const n = list.length;
    let passed = 0;
    for (let i = 0; i < n; i++) {
      if (vram[i]! < minVramGiB || latency[i]! > maxLatencyMs) continue;
      passed++;
      if (until === 'any') break;
    }
    free += passed;
    freeGpus += passed * group.freeGpus;
    if (until === 'any' && free > 0) break;
  }
  out.free = free;
  out.freeGpus = freeGpus;
  out.freeCounted = until;
  if (free > 0) out.deepest = 4;
}

/**
 * Visits the market's registered nodes one by one while the scan has visits left: all of them
 * (to count), or until one online node meets every requirement, or until one meets them at all.
 */
function visit(job: JobSpec, out: Survey, scan: { left: number }, until: 'all' | 'online' | 'passing'): void {
  const r = job.requirements;
  const members = out.market.members;
  let i = 0;
  for (; i < members.length && scan.left > 0; i++) {
    scan.left--;
    const spec = members[i]!.spec;
    out.maxGpuCount = Math.max(out.maxGpuCount, spec.gpuCount);
    // the requirements in the order a reason names the first one no node meets
    let depth = 0;
    if (spec.gpuCount >= out.gpuCount) {
      depth = 1;
      out.maxVramGiB = Math.max(out.maxVramGiB, spec.vramGiB);
      if (spec.vramGiB >= r.minVramGiB) {
        depth = 2;
        if (!r.tee || spec.tee) {
          depth = 3;
          out.minLatencyMs = Math.min(out.minLatencyMs, spec.latencyMs);
          if (r.maxLatencyMs === undefined || spec.latencyMs <= r.maxLatencyMs) depth = 4;
        }
      }
    }
    out.deepest = Math.max(out.deepest, depth);
    // the engine's own predicate decides what counts (the depth above only words the reason)
    if (spec.gpuCount < out.gpuCount || !meetsNodeRequirements(spec, job)) continue;
    out.passing++;
    if (until === 'passing') {
      i++;
      break;
    }
    if (!spec.online) continue;
    out.online++;
    if (until === 'online') {
      i++;
      break;
    }
  }
  out.complete = i === members.length;
}

function marketQuote(s: Survey): MarketQuote {
  return {
    quote: s.quote,
    gpuCount: s.gpuCount,
    // every free node is online: a count cut short is still at least those
    nodesEligible: Math.max(s.online, s.free),
    nodesFree: s.free,
    freeGpus: s.freeGpus,
    utilizationBps: s.market.utilizationBps(),
    countsComplete: s.complete,
  };
}

function names(list: readonly string[], limits: QuoteLimits): string {
  const shown = list.slice(0, limits.namesInReasonMax).join(', ');
  return list.length > limits.namesInReasonMax ? `${shown}, …` : shown;
}

const distinct = (xs: readonly string[]): string[] => [...new Set(xs)].sort();

/** What the job asks, in a reason's words: `H100|A100 in eu-west`. */
function asked(job: JobSpec, limits: QuoteLimits): string {
  const r = job.requirements;
  const models = r.gpuModels.length ? `GPU model ${names(r.gpuModels, limits)}` : 'any GPU model';
  return r.regions.length ? `${models} in ${names(r.regions, limits)}` : models;
}

/**
 * Why the job would not match now, most specific first: no supply of its models, none in its
 * regions, its deadline, the first per-node requirement no registered node meets (GPU count, VRAM,
 * TEE, latency), its budget, no node online, every node busy.
 */
function diagnose(
  job: JobSpec,
  found: { ofModels: readonly Market[]; candidates: readonly Market[]; sized: number; surveys: readonly Survey[] },
  limits: QuoteLimits,
): QuoteReason {
  const r = job.requirements;
  const what = asked(job, limits);
  if (found.ofModels.length === 0)
    return { code: 'no-supply-for-gpu-model', message: r.gpuModels.length ? `no node of GPU model ${names(r.gpuModels, limits)} is registered` : 'no node is registered' };
  if (found.candidates.length === 0)
    return {
      code: 'no-supply-in-region',
      message: `no node of ${r.gpuModels.length ? `GPU model ${names(r.gpuModels, limits)}` : 'any GPU model'} is registered in ${names(r.regions, limits)}; there are nodes in ${names(distinct(found.ofModels.map((m) => m.region)), limits)}`,
    };
  if (found.sized === 0)
    return {
      code: 'deadline-unmeetable',
      message: r.gpuCount === 0
        ? `no GPU model it may use finishes ${job.expectedRuntimeSec} s of work (on one GPU of speed 1) within its deadline on one node`
        : `${Math.ceil(job.expectedRuntimeSec)} s of runtime do not fit before its deadline`,
    };
  const deepest = Math.max(...found.surveys.map((s) => s.deepest));
  const most = (f: (s: Survey) => number) => Math.max(...found.surveys.map(f));
  const count = r.gpuCount === 0 ? 'the GPUs it needs' : `${r.gpuCount} GPU${r.gpuCount === 1 ? '' : 's'}`;
  switch (deepest) {
    case 0:
      return { code: 'gpu-count-unavailable', message: `no node of ${what} has ${count} (the most on one node is ${most((s) => s.maxGpuCount)})` };
    case 1:
      return { code: 'vram-unavailable', message: `no node of ${what} with ${count} has ${r.minVramGiB} GiB of VRAM per GPU (the most is ${most((s) => s.maxVramGiB)} GiB)` };
    case 2:
      return { code: 'tee-unavailable', message: `no node of ${what} with ${count} and ${r.minVramGiB} GiB of VRAM per GPU runs in a TEE` };
    case 3:
      return {
        code: 'latency-unavailable',
        message: `no node of ${what} that meets the rest is within ${r.maxLatencyMs} ms (the nearest is ${-most((s) => -s.minLatencyMs)} ms)`,
      };
  }
  const affordable = found.surveys.filter((s) => (s.passing > 0 || s.free > 0) && s.quote.costWei <= job.budgetWei);
  if (affordable.length === 0) {
    const cheapest = found.surveys.filter((s) => s.passing > 0 || s.free > 0).sort(byCostThenKey)[0]!;
    return {
      code: 'budget-below-price',
      message: `budget ${job.budgetWei} Wei is below the cheapest price ${cheapest.quote.costWei} Wei (${cheapest.market.gpuClass} in ${cheapest.market.region}, ${cheapest.gpuCount} GPU${cheapest.gpuCount === 1 ? '' : 's'} for ${cheapest.runtimeSec} s)`,
    };
  }
  if (affordable.every((s) => s.online === 0 && s.free === 0)) return { code: 'no-node-online', message: `every node of ${what} that could run it within its budget is offline` };
  return {
    code: 'capacity-busy',
    message: `every online node of ${what} that could run it is busy or held for a large job: it would wait for capacity`,
  };
}

/**
 * The nearest options the engine would match now, each the job with one change, routed as a match
 * round would route it: the budget that is just enough (the cheapest price in a market of its own
 * models and regions with a free node: exact, as the budget check is exact), the cheapest other
 * region, the cheapest other GPU model. Bounded by QUOTE_LIMITS.alternativeRoutesMax routings.
 */
function nearestOptions(
  engine: MatchingEngine,
  job: JobSpec,
  atMs: number,
  found: { ofModels: readonly Market[]; surveys: readonly Survey[]; priced: readonly Market[] },
  limits: QuoteLimits,
): QuoteOption[] {
  const r = job.requirements;
  const config = engine.config;
  let routesLeft = limits.alternativeRoutesMax;
  const routeNow = (changed: JobSpec): Match | null => {
    if (routesLeft <= 0) return null;
    routesLeft--;
    const routed = engine.route(changed, atMs);
    return 'match' in routed ? routed.match : null;
  };
  const out: QuoteOption[] = [];

  // budget: markets of its own models and regions with a free node, cheapest first
  for (const s of found.surveys) {
    if (s.quote.costWei <= job.budgetWei || s.quote.costWei > LIMITS.budgetWeiMax) continue;
    countFree(job, s, 'any');
    if (s.free === 0) continue;
    const m = routeNow({ ...job, budgetWei: s.quote.costWei });
    if (m) {
      out.push({ change: 'budget', value: s.quote.costWei.toString(), match: m });
      break;
    }
    if (routesLeft <= 0) break;
  }

  // another region, another GPU model: the cheapest market within budget with free GPUs, routed with only that changed
  const firstMatch = (markets: readonly Market[], key: (m: Market) => string, change: (v: string) => JobSpec, kind: QuoteChange): void => {
    const tried = new Set<string>();
    const affordable = sizeAndPrice(job, markets, atMs, config)
      .filter((s) => s.quote.costWei <= job.budgetWei && s.market.totalGpus - s.market.usedGpus >= s.gpuCount)
      .sort(byCostThenKey);
    for (const s of affordable) {
      const value = key(s.market);
      if (tried.has(value)) continue;
      tried.add(value);
      const m = routeNow(change(value));
      if (m) {
        out.push({ change: kind, value, match: m });
        return;
      }
      if (routesLeft <= 0) return;
    }
  };
  if (r.regions.length)
    firstMatch(
      found.ofModels.filter((m) => !r.regions.includes(m.region)),
      (m) => m.region,
      (region) => ({ ...job, requirements: { ...r, regions: [region] } }),
      'region',
    );
  if (r.gpuModels.length)
    firstMatch(
      found.priced.filter((m) => !r.gpuModels.includes(m.gpuClass) && accepts(r.regions, m.region)),
      (m) => m.gpuClass,
      (gpuModel) => ({ ...job, requirements: { ...r, gpuModels: [gpuModel] } }),
      'gpuModel',
    );
  return out;
}

/** Queued jobs of the job's category that a round serves before it and that could use one of its markets. */
function countQueuedAhead(engine: MatchingEngine, job: JobSpec, scanMax: number): number {
  const q = engine.config.queue;
  const self = { job, key: priorityKey(job, q) };
  let ahead = 0;
  let scanned = 0;
  for (const other of engine.queuedJobs()) {
    if (++scanned > scanMax) break;
    if (other.category !== job.category) continue;
    if (!overlaps(other.requirements.gpuModels, job.requirements.gpuModels) || !overlaps(other.requirements.regions, job.requirements.regions)) continue;
    if (entryBefore({ job: other, key: priorityKey(other, q) }, self)) ahead++;
  }
  return ahead;
}
