import type { Category, TradeEvent } from '@starminer/events';
import { RuntimeSample } from './sample';

/**
 * The report's fold: every decoded event of the log, in log order, into per-provider, per-node and
 * per-(org, category, GPU class) aggregates. Deterministic (no clock, no IO: the window comes in),
 * so the same log and window give the same report. It updates its own accumulator in place, since
 * a copy per event would cost the size of the state for each of millions of events; nothing else
 * holds a reference to it.
 *
 * Definitions (the report's columns say the same):
 * - window: `[fromMs, toMs)` by each event's `occurredAt`. Events before it only build state (the
 *   nodes, the open jobs, the current reputations); events at or after `toMs` are not read at all.
 *   Each figure is counted by the time of the event that carries it: a job matched before the
 *   window and released inside it counts as released, and its amount as earned, in the window.
 * - jobs matched: JobMatched events to the provider's nodes.
 * - ended: ContractReleased or ContractRefunded of a job matched to the provider's nodes.
 * - success rate: released / ended, among jobs that ended in the window (empty when none ended).
 * - runtime: from JobStarted to ResultSubmitted of the job, by the two events' `occurredAt`, for
 *   each result submitted in the window (a rejected result included: the GPUs ran). Runtime
 *   against expected: runtime / JobSubmitted.expectedRuntimeSec.
 * - GPU-hours: runtime x JobMatched.gpuCount, summed.
 * - earned: ContractReleased.amountWei of the provider's jobs (the escrow paid to the node).
 * - dispute: a ResultRejected (the market's verification refused the node's result).
 * - slash: a StakeSlashed of one of the provider's nodes.
 * - an org's spend: ContractReleased.amountWei of its jobs, by the job's category and the GPU model
 *   of the node it was matched to (the GPU class); refunds are counted apart.
 */

/** The provider (or org, or GPU class) of a node or job the log never introduced: a job or node from before the log's start, or one forgotten past OPEN_JOBS_MAX. Ids never hold parentheses, so it never names a real one. */
export const UNKNOWN = '(unknown)';

/** Providers one report holds: ~17 KiB each (a RuntimeSample mostly), so 10,000 stay under 200 MiB. */
export const PROVIDERS_MAX = 10_000;
/** Nodes one report holds, each with its reputation series (REPUTATION_POINTS_PER_NODE_MAX points). */
export const NODES_MAX = 20_000;
/** (org, category, GPU class) rows one report holds: a few hundred bytes each. */
export const ORG_ROWS_MAX = 100_000;
/**
 * Jobs matched or submitted and not yet ended that the fold remembers (~200 bytes each). Past it
 * the oldest is forgotten (counted in `jobsForgotten`): its later events count under UNKNOWN org and
 * provider by its node's address where the log names it. A market with this many jobs in flight at
 * once is far beyond the design's load; stuck jobs are what this evicts.
 */
export const OPEN_JOBS_MAX = 500_000;
/** Points one node's reputation series keeps; past it the buckets double in width (the last value of each pair kept). */
export const REPUTATION_POINTS_PER_NODE_MAX = 128;
/** The finest reputation bucket: one minute. */
export const REPUTATION_BUCKET_MS_MIN = 60_000;

/** A bound of the report was passed: the message names it, so it can be raised. */
export class ReportLimitError extends Error {
  override readonly name = 'ReportLimitError';
}

export interface ReportWindow {
  /** First ms (inclusive) of the window, by `occurredAt`. */
  readonly fromMs: number;
  /** End ms (exclusive) of the window. */
  readonly toMs: number;
}

export interface NodeFigures {
  readonly nodeId: string;
  providerId: string;
  gpuModel: string;
  /** The latest reputation at or before the window's end (NodeRegistered, then NodeReputationChanged). */
  reputation: number | null;
  readonly series: ReputationSeries;
}

export interface ProviderFigures {
  readonly providerId: string;
  readonly nodeIds: Set<string>;
  jobsMatched: number;
  jobsReleased: number;
  jobsRefunded: number;
  gpuSeconds: number;
  earnedWei: bigint;
  disputes: number;
  slashes: number;
  slashedWei: bigint;
  readonly runtime: RuntimeSample;
}

export interface OrgFigures {
  readonly orgId: string;
  readonly category: string;
  readonly gpuClass: string;
  jobsMatched: number;
  jobsReleased: number;
  jobsRefunded: number;
  gpuSeconds: number;
  spentWei: bigint;
  refundedWei: bigint;
}

interface OpenJob {
  readonly orgId: string;
  readonly category: Category | typeof UNKNOWN;
  readonly expectedRuntimeSec: number;
  nodeId?: string;
  gpuCount: number;
  gpuClass: string;
  startedAtMs?: number;
}

export interface ReportState {
  readonly window: ReportWindow;
  eventsInWindow: number;
  eventsBeforeWindow: number;
  eventsAfterWindow: number;
  jobsForgotten: number;
  readonly nodes: Map<string, NodeFigures>;
  /** Lower-case node address to node id (ContractReleased names the address). */
  readonly nodeByAddress: Map<string, string>;
  readonly jobs: Map<string, OpenJob>;
  readonly providers: Map<string, ProviderFigures>;
  readonly orgs: Map<string, OrgFigures>;
}

export function initialReportState(window: ReportWindow): ReportState {
  if (!(window.fromMs < window.toMs)) throw new RangeError(`the window [${window.fromMs}, ${window.toMs}) is empty`);
  return {
    window,
    eventsInWindow: 0,
    eventsBeforeWindow: 0,
    eventsAfterWindow: 0,
    jobsForgotten: 0,
    nodes: new Map(),
    nodeByAddress: new Map(),
    jobs: new Map(),
    providers: new Map(),
    orgs: new Map(),
  };
}

/** Folds one decoded event into the report (in log order). */
export function evolveReport(state: ReportState, e: TradeEvent): ReportState {
  const atMs = Date.parse(e.occurredAt);
  if (atMs >= state.window.toMs) {
    state.eventsAfterWindow += 1;
    return state;
  }
  const counted = atMs >= state.window.fromMs;
  if (counted) state.eventsInWindow += 1;
  else state.eventsBeforeWindow += 1;
  switch (e.type) {
    case 'NodeRegistered': {
      const d = e.data;
      const node = nodeOf(state, d.nodeId, d.providerId);
      if (node.providerId !== d.providerId) {
        // a node first named by a later event type, or registered again by another provider
        providerOf(state, node.providerId).nodeIds.delete(node.nodeId);
        node.providerId = d.providerId;
      }
      providerOf(state, d.providerId).nodeIds.add(d.nodeId);
      node.gpuModel = d.gpuModel;
      node.reputation = d.reputation;
      state.nodeByAddress.set(d.nodeAddress.toLowerCase(), d.nodeId);
      if (counted) node.series.add(atMs, d.reputation);
      return state;
    }
    case 'NodeReputationChanged': {
      const node = nodeOf(state, e.data.nodeId);
      node.reputation = e.data.reputation;
      if (counted) node.series.add(atMs, e.data.reputation);
      return state;
    }
    case 'JobSubmitted': {
      const d = e.data;
      state.jobs.delete(d.jobId);
      state.jobs.set(d.jobId, { orgId: d.orgId, category: d.category, expectedRuntimeSec: d.expectedRuntimeSec, gpuCount: 0, gpuClass: UNKNOWN });
      if (state.jobs.size > OPEN_JOBS_MAX) {
        state.jobs.delete(state.jobs.keys().next().value!);
        state.jobsForgotten += 1;
      }
      return state;
    }
    case 'JobMatched': {
      const d = e.data;
      const node = nodeOf(state, d.nodeId);
      const job = state.jobs.get(d.jobId);
      const gpuClass = node.gpuModel;
      if (job) Object.assign(job, { nodeId: d.nodeId, gpuCount: d.gpuCount, gpuClass, startedAtMs: undefined });
      if (counted) {
        providerOf(state, node.providerId).jobsMatched += 1;
        orgOf(state, job?.orgId ?? UNKNOWN, job?.category ?? UNKNOWN, gpuClass).jobsMatched += 1;
      }
      return state;
    }
    case 'JobStarted': {
      const job = state.jobs.get(e.data.jobId);
      if (job) job.startedAtMs = atMs;
      return state;
    }
    case 'ResultSubmitted': {
      const job = state.jobs.get(e.data.jobId);
      if (!counted || job?.startedAtMs === undefined || atMs < job.startedAtMs) return state;
      const runtimeSec = (atMs - job.startedAtMs) / 1000;
      const gpuSeconds = runtimeSec * job.gpuCount;
      const provider = providerOf(state, nodeOf(state, e.data.nodeId).providerId);
      provider.gpuSeconds += gpuSeconds;
      provider.runtime.add(runtimeSec, runtimeSec / job.expectedRuntimeSec);
      orgOf(state, job.orgId, job.category, job.gpuClass).gpuSeconds += gpuSeconds;
      return state;
    }
    case 'ResultRejected': {
      if (counted) providerOf(state, providerOfJob(state, e.data.jobId)).disputes += 1;
      return state;
    }
    case 'ContractReleased':
    case 'ContractRefunded': {
      const d = e.data;
      const job = state.jobs.get(d.jobId);
      state.jobs.delete(d.jobId);
      if (!counted) return state;
      const nodeId = job?.nodeId ?? (e.type === 'ContractReleased' ? state.nodeByAddress.get(e.data.nodeAddress.toLowerCase()) : undefined);
      const provider = providerOf(state, nodeId !== undefined ? nodeOf(state, nodeId).providerId : UNKNOWN);
      const org = orgOf(state, job?.orgId ?? UNKNOWN, job?.category ?? UNKNOWN, job?.gpuClass ?? UNKNOWN);
      if (e.type === 'ContractReleased') {
        provider.jobsReleased += 1;
        provider.earnedWei += d.amountWei;
        org.jobsReleased += 1;
        org.spentWei += d.amountWei;
      } else {
        provider.jobsRefunded += 1;
        org.jobsRefunded += 1;
        org.refundedWei += d.amountWei;
      }
      return state;
    }
    case 'StakeSlashed': {
      if (!counted) return state;
      const provider = providerOf(state, nodeOf(state, e.data.nodeId).providerId);
      provider.slashes += 1;
      provider.slashedWei += e.data.amountWei;
      return state;
    }
    case 'JobFailed':
    case 'JobCancelled':
      state.jobs.delete(e.data.jobId);
      return state;
    // Re-match on failure: the failed node's JobMatched counted as matched, its attempt ended without
    // pay (nothing earned, nothing refunded: the job goes on); the next JobMatched names the new node,
    // and the job's one release or refund counts for it. The escrow's move (ContractReassigned) is chain detail.
    case 'JobRequeued': {
      const job = state.jobs.get(e.data.jobId);
      if (job) Object.assign(job, { nodeId: undefined, startedAtMs: undefined });
      return state;
    }
    case 'ContractAttemptFailed':
    case 'ContractReassigned':
      return state;
    // Redundancy: each copy is a job of its own; its verdict is followed by its release or refund
    // (and, for a dissenting copy, its ResultRejected), which count as for any job.
    case 'RedundancyVerdictRecorded':
      return state;
    // Not in the report: accounts and funding, availability, stake, keys, waiting, the contract's
    // chain details (ContractOpened, SettlementDecided: the release or refund that follows counts),
    // chain effects restored or lost (the same release or refund, carried out again), prices, surges, anchors,
    // vaults (a vault's jobs are in the report as jobs).
    case 'OrgRegistered':
    case 'AccountFunded':
    case 'MintRequested':
    case 'MintRestored':
    case 'FundsReserved':
    case 'FundsReleased':
    case 'NodeAvailabilityChanged':
    case 'NodeStakeChanged':
    case 'NodeKeyBound':
    case 'JobWaiting':
    case 'ContractOpened':
    case 'ContractToppedUp':
    case 'ContractRunwayLow':
    case 'ContractOpenFailed':
    case 'SettlementDecided':
    case 'ChainEffectRestored':
    case 'ChainEffectLost':
    case 'PriceChanged':
    case 'SurgeStarted':
    case 'SurgeEnded':
    case 'AnchorPosted':
    case 'VaultCreated':
    case 'VaultTemplateEdited':
    case 'VaultPaused':
    case 'VaultResumed':
    case 'VaultClosed':
    case 'VaultFired':
    case 'VaultFiringSkipped':
    case 'VaultFiringEnded':
    case 'VaultChainSynced':
    case 'VaultOpenFailed':
      return state;
    default:
      return assertNever(e);
  }
}

function assertNever(e: never): never {
  throw new Error(`an event type the report does not know: ${(e as { type: string }).type}`);
}

function providerOfJob(state: ReportState, jobId: string): string {
  const nodeId = state.jobs.get(jobId)?.nodeId;
  return nodeId === undefined ? UNKNOWN : nodeOf(state, nodeId).providerId;
}

/** The node's figures; a node the log has not registered (yet) belongs to `providerId`, UNKNOWN unless it is registering. */
function nodeOf(state: ReportState, nodeId: string, providerId = UNKNOWN): NodeFigures {
  let node = state.nodes.get(nodeId);
  if (!node) {
    if (state.nodes.size >= NODES_MAX) throw new ReportLimitError(`more than NODES_MAX (${NODES_MAX}) nodes in the log`);
    node = { nodeId, providerId, gpuModel: UNKNOWN, reputation: null, series: new ReputationSeries() };
    state.nodes.set(nodeId, node);
    providerOf(state, providerId).nodeIds.add(nodeId);
  }
  return node;
}

function providerOf(state: ReportState, providerId: string): ProviderFigures {
  let p = state.providers.get(providerId);
  if (!p) {
    if (state.providers.size >= PROVIDERS_MAX) throw new ReportLimitError(`more than PROVIDERS_MAX (${PROVIDERS_MAX}) providers in the log`);
    p = { providerId, nodeIds: new Set(), jobsMatched: 0, jobsReleased: 0, jobsRefunded: 0, gpuSeconds: 0, earnedWei: 0n, disputes: 0, slashes: 0, slashedWei: 0n, runtime: new RuntimeSample() };
    state.providers.set(providerId, p);
  }
  return p;
}

function orgOf(state: ReportState, orgId: string, category: string, gpuClass: string): OrgFigures {
  // \u0000 never appears in ids, categories or GPU models (the catalogue refuses NUL), so the key is unambiguous
  const key = `${orgId}\u0000${category}\u0000${gpuClass}`;
  let o = state.orgs.get(key);
  if (!o) {
    if (state.orgs.size >= ORG_ROWS_MAX) throw new ReportLimitError(`more than ORG_ROWS_MAX (${ORG_ROWS_MAX}) (org, category, GPU class) rows in the window`);
    o = { orgId, category, gpuClass, jobsMatched: 0, jobsReleased: 0, jobsRefunded: 0, gpuSeconds: 0, spentWei: 0n, refundedWei: 0n };
    state.orgs.set(key, o);
  }
  return o;
}

/** One bucket of a node's reputation series: the last value in it, and how many values it took. */
export interface ReputationPoint {
  readonly bucketStartMs: number;
  readonly bucketMs: number;
  readonly reputation: number;
  readonly changes: number;
}

/**
 * A node's reputation over time in at most REPUTATION_POINTS_PER_NODE_MAX buckets: one minute wide
 * at first, doubling in width whenever one more bucket would pass the bound (so a long window
 * keeps its whole span at a coarser step instead of dropping its start).
 */
export class ReputationSeries {
  private bucketMs = REPUTATION_BUCKET_MS_MIN;
  private buckets = new Map<number, { reputation: number; changes: number }>();

  add(atMs: number, reputation: number): void {
    const index = Math.floor(atMs / this.bucketMs);
    const b = this.buckets.get(index);
    if (b) {
      b.reputation = reputation;
      b.changes += 1;
      return;
    }
    this.buckets.set(index, { reputation, changes: 1 });
    while (this.buckets.size > REPUTATION_POINTS_PER_NODE_MAX) this.coarsen();
  }

  /** The buckets in time order. */
  points(): ReputationPoint[] {
    return [...this.buckets.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, b]) => ({ bucketStartMs: index * this.bucketMs, bucketMs: this.bucketMs, reputation: b.reputation, changes: b.changes }));
  }

  private coarsen(): void {
    const merged = new Map<number, { index: number; reputation: number; changes: number }>();
    for (const [index, b] of this.buckets) {
      const into = Math.floor(index / 2);
      const m = merged.get(into);
      if (!m) merged.set(into, { index, ...b });
      else merged.set(into, { index: Math.max(m.index, index), reputation: index > m.index ? b.reputation : m.reputation, changes: m.changes + b.changes });
    }
    this.bucketMs *= 2;
    this.buckets = new Map([...merged].map(([i, m]) => [i, { reputation: m.reputation, changes: m.changes }]));
  }
}
