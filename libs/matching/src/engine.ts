import { LIMITS, truncateText } from '@starminer/events';
import { BPS, type EngineConfig } from './config';
import { engineConfigRecord, jsonDigest, type EngineConfigRecord } from './config-record';
import { InvalidInputError, invariant, UnknownGpuModelError } from './errors';
import { floorCostWei, nextPriceState, quote } from './pricing';
import { DemandMix, type SerializedMix } from './fragmentation';
import { BinaryHeap, capacityKeyOf, CategoryDemand, entryBefore, priorityKey, runtimeClass, runtimeClassFloorSec, signatureOf, type PriorityQueue, type QueueEntry } from './queue';
import {
  fullScanSearch,
  indexedSearch,
  isBudgetAndDeadlineOnly,
  meetsNodeRequirements,
  screenMarkets,
  type Candidate,
  type MarketScreen,
} from './route';
import { nodeSpreadMax, scoreTerms, variantIndex } from './scoring';
import { Market, marketKey, NodeState } from './supply-index';
import { applySurgeChange, surgeTick, type SurgeChange } from './surge';
import {
  CATEGORIES,
  type Admission,
  type Category,
  type Hold,
  type JobSpec,
  type Match,
  type MatchReceipt,
  type NodeSpec,
  type PriceChange,
  type ReceiptCandidate,
} from './types';
import { deserializeJob, deserializeNode, serializeJob, serializeNode, SNAPSHOT_FORMAT, type EngineSnapshot } from './snapshot';

export type RoutingStrategy = 'indexed' | 'full-scan';

export interface EngineOptions {
  /** 'full-scan' routes every job by scanning every node: the benchmark baseline. */
  strategy?: RoutingStrategy;
}

interface Reservation {
  jobId: string;
  nodeId: string;
  gpuCount: number;
  /** expected end (matched at + runtime); 0 when unknown (counted as overrunning) */
  endsAtMs: number;
}

/** One place a matching pass takes jobs from: a category's fresh jobs, or one signature's. */
interface Source {
  heap: PriorityQueue;
  head: QueueEntry;
  fresh: boolean;
  failures: number;
}

const sourceBefore = (a: Source, b: Source): boolean => entryBefore(a.head, b.head);

/** Queued jobs of one (GPU models, regions) filter: they accept the same markets (surge queue depth). */
interface DemandFilter {
  gpuModels: readonly string[];
  regions: readonly string[];
  count: number;
}

const filterKeyOf = (job: JobSpec): string => `${[...job.requirements.gpuModels].sort().join(',')}|${[...job.requirements.regions].sort().join(',')}`;

/** What one reprice tick decided: the price moves and the surges started or ended, both for the log. */
export interface MarketTick {
  priceChanges: PriceChange[];
  surgeChanges: SurgeChange[];
}

const NOT_YET_ROUTED = 'queued: not yet routed';
/** how often a pass checks the queues for removed entries piling up, and the slack allowed */
const COMPACT_EVERY_PASSES = 256;
const COMPACT_SLACK = 1_024;
const CAPACITY_REASON = 'waiting for capacity';

const describe = (job: JobSpec, gpuCount = job.requirements.gpuCount): string => {
  const r = job.requirements;
  const parts = [`gpuModel=${r.gpuModels.length ? r.gpuModels.join('|') : 'any'}`, `count=${gpuCount === 0 ? 'engine-chosen' : gpuCount}`];
  if (r.minVramGiB > 0) parts.push(`minVramGiB=${r.minVramGiB}`);
  if (r.tee) parts.push('tee=true');
  if (r.regions.length) parts.push(`region=${r.regions.join('|')}`);
  if (r.maxLatencyMs !== undefined) parts.push(`maxLatencyMs=${r.maxLatencyMs}`);
  return parts.join(', ');
};

/**
 * The matching engine: supply index, four demand queues, score-fit routing, capacity reservation
 * and the Multi-Tier Pricing book. Pure: no I/O, no clock, no randomness; time comes in as atMs.
 */
export class MatchingEngine {
  private readonly nodes = new Map<string, NodeState>();
  private readonly nodeList: NodeState[] = [];
  private readonly markets = new Map<string, Market>();
  /** Set for one matchPending pass of a partitioned replica: the markets it may book nodes in. */
  private routable: ((marketKey: string) => boolean) | null = null;
  /** The jobs the last matchPending matched (until the next one), for unmatch. */
  private readonly lastMatched = new Map<string, JobSpec>();
  private readonly marketsByClass = new Map<string, Map<string, Market>>();
  private readonly demand: Record<Category, CategoryDemand>;
  /** the demand's job mix as seen, and as the markets' packFit tables were last built from (each reprice tick) */
  private readonly demandMix: DemandMix;
  private appliedMix: DemandMix;
  /** nodes held now (the search offers them apart to jobs that end before their holder starts) */
  private readonly heldNodes: NodeState[] = [];
  private readonly depth: Record<Category, number>;
  private readonly queued = new Map<string, QueueEntry>();
  /** queued jobs by the markets they accept (filterKeyOf): each market's queue depth for surges */
  private readonly queuedByFilter = new Map<string, DemandFilter>();
  private readonly reservations = new Map<string, Reservation>();
  /**
   * Redundancy (issue 17): the copies of each group the engine holds (queued or reserved), as the
   * job objects routing reads, by group id; a copy's reserved node joins the others' exclusions.
   */
  private readonly redundancyGroups = new Map<string, Map<string, JobSpec>>();
  private readonly redundancyGroupByJob = new Map<string, string>();
  private readonly waiting = new Map<string, string>();
  /** jobId → the node it holds */
  private readonly holds = new Map<string, Hold>();
  /** queued jobs whose waiting reason changed since the service last took them */
  private readonly reasonChanged = new Set<string>();
  private lastRepriceAtMs: number | null = null;
  /** the applied mix as receipts record it (one object, replaced when the mix changes): the tick that applied it, its digest, the mix */
  private mixRecord: Readonly<{ appliedAtMs: number | null; digest: string; applied: SerializedMix }>;
  /** the configuration as receipts record it (computed once) */
  private readonly configRecord: EngineConfigRecord;
  /** a price changed since the last matchPending: every holder is routed again (its budget may no longer reach) */
  private pricesMoved = false;
  /** matchPending calls so far (compaction cadence) */
  private passes = 0;
  /** hold choices made in the current matchPending call (bounded by maxHoldAttemptsPerCall) */
  private holdAttempts = 0;
  /** category served first next: categories take turns (round robin), kept across calls */
  private categoryCursor = 0;
  readonly strategy: RoutingStrategy;

  constructor(
    readonly config: EngineConfig,
    options: EngineOptions = {},
  ) {
    this.strategy = options.strategy ?? 'indexed';
    validateSurgeConfig(config);
    this.demand = Object.fromEntries(CATEGORIES.map((c) => [c, new CategoryDemand()])) as Record<Category, CategoryDemand>;
    this.demandMix = new DemandMix(config.maxGpusPerNode);
    this.appliedMix = new DemandMix(config.maxGpusPerNode);
    this.depth = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
    this.mixRecord = this.recordMix(null);
    this.configRecord = engineConfigRecord(config);
  }

  // ---------------------------------------------------------------- supply

  upsertNode(node: NodeSpec, atMs: number): void {
    this.validateNode(node);
    const spec: NodeSpec = { ...node };
    const existing = this.nodes.get(spec.nodeId);
    const market = this.marketFor(spec.gpuModel, spec.region);
    if (existing) {
      // a reputation or stake update keeps a hold; a change that makes the node unfit for its holder ends it
      if (existing.heldBy !== null && !this.holdSurvives(existing, spec, market)) this.dropHold(existing.heldBy);
      existing.market.account(existing, -1);
      if (existing.market !== market) {
        existing.market.removeMember(existing);
        market.addMember(existing);
      }
      if (existing.heldBy !== null) market.heldGpus += spec.gpuCount - existing.spec.gpuCount;
      existing.spec = spec;
      existing.market = market;
      existing.staticScores = new NodeState(spec, market, this.config).staticScores;
      this.setHoldWindow(existing, atMs);
      market.account(existing, 1);
      return;
    }
    const state = new NodeState(spec, market, this.config);
    this.nodes.set(spec.nodeId, state);
    this.nodeList.push(state);
    market.addMember(state);
    market.account(state, 1);
  }

  private holdSurvives(node: NodeState, spec: NodeSpec, market: Market): boolean {
    const hold = this.holds.get(node.heldBy!)!;
    const job = this.queued.get(hold.jobId)!.job;
    return market === node.market && spec.online && spec.gpuCount >= hold.gpuCount && meetsNodeRequirements(spec, job);
  }

  setNodeOnline(nodeId: string, online: boolean, _atMs: number): void {
    const node = this.nodes.get(nodeId);
    if (!node || node.spec.online === online) return;
    if (node.heldBy !== null) this.dropHold(node.heldBy);
    node.market.account(node, -1);
    node.spec = { ...node.spec, online };
    node.market.account(node, 1);
  }

  getNode(nodeId: string): (NodeSpec & { freeGpus: number; reservedGpus: number }) | undefined {
    const n = this.nodes.get(nodeId);
    return n ? { ...n.spec, freeGpus: n.freeGpus, reservedGpus: n.reservedGpus } : undefined;
  }

  nodeCount(): number {
    return this.nodes.size;
  }

  private validateNode(node: NodeSpec): void {
    const bad = (why: string) => {
      throw new InvalidInputError('invalid-node', `node ${node.nodeId}: ${why}`, { nodeId: node.nodeId });
    };
    if (!node.nodeId) bad('empty nodeId');
    if (!Number.isInteger(node.gpuCount) || node.gpuCount < 0 || node.gpuCount > this.config.maxGpusPerNode)
      bad(`gpuCount must be an integer in 0..${this.config.maxGpusPerNode}`);
    if (!(node.vramGiB >= 0) || !(node.latencyMs >= 0)) bad('vramGiB and latencyMs must be >= 0');
    if (!(node.reputation >= 0 && node.reputation <= 1) || !(node.renewableShare >= 0 && node.renewableShare <= 1))
      bad('reputation and renewableShare must be in 0..1');
    if (!Object.prototype.hasOwnProperty.call(this.config.pricing.basePricesWeiPerGpuHour, node.gpuModel)) throw new UnknownGpuModelError(node.nodeId, node.gpuModel);
  }

  private marketFor(gpuClass: string, region: string): Market {
    const key = marketKey(gpuClass, region);
    let market = this.markets.get(key);
    if (!market) {
      market = new Market(gpuClass, region, this.config);
      market.fragmentation.rebuild(this.appliedMix, key);
      this.markets.set(key, market);
      let byRegion = this.marketsByClass.get(gpuClass);
      if (!byRegion) this.marketsByClass.set(gpuClass, (byRegion = new Map()));
      byRegion.set(region, market);
    }
    return market;
  }

  // ---------------------------------------------------------------- demand

  submitJob(job: JobSpec): void {
    if (this.queued.has(job.jobId) || this.reservations.has(job.jobId)) return; // idempotent redelivery
    this.validateJob(job);
    const fresh = this.demand[job.category].fresh;
    const q = this.config.queue;
    const entry: QueueEntry = { job: cloneJob(job), key: priorityKey(job, q), sig: signatureOf(job, q), capKey: capacityKeyOf(job, q), at: fresh, routed: false };
    this.joinRedundancyGroup(entry.job);
    this.queued.set(job.jobId, entry);
    fresh.push(entry);
    this.depth[job.category]++;
    this.countFilter(entry.job, 1);
    const r = job.requirements;
    this.demandMix.observe(r.gpuCount, r.gpuModels.length === 0 && r.regions.length === 0 ? 'all' : [...this.candidateMarkets(job)].map((m) => m.key));
    this.setWaiting(job.jobId, NOT_YET_ROUTED);
  }

  cancelJob(jobId: string): boolean {
    const entry = this.queued.get(jobId);
    if (!entry) return false;
    this.dropHold(jobId, false);
    this.queued.delete(jobId);
    this.depth[entry.job.category]--;
    this.countFilter(entry.job, -1);
    this.waiting.delete(jobId);
    this.reasonChanged.delete(jobId);
    this.pruneRedundancyGroup(jobId);
    return true;
  }

  release(jobId: string, atMs: number): void {
    const reservation = this.reservations.get(jobId);
    if (!reservation) return;
    this.reservations.delete(jobId);
    this.pruneRedundancyGroup(jobId);
    const node = this.nodes.get(reservation.nodeId);
    invariant(node !== undefined, 'reservation on unknown node', { ...reservation });
    node.market.account(node, -1);
    node.reservedGpus -= reservation.gpuCount;
    invariant(node.reservedGpus >= 0, 'negative reservation', { ...reservation });
    const at = node.running.findIndex((r) => r.jobId === jobId);
    if (at >= 0) node.running.splice(at, 1);
    this.setHoldWindow(node, atMs);
    node.market.account(node, 1);
  }

  /**
   * Apply a match decided earlier (replaying JobMatched from the log, or decided by another
   * instance): the job leaves its queue and its GPUs are reserved. The log is authoritative, so a
   * recorded match is kept even on a node that no longer shows that much free capacity.
   */
  recordMatch(m: { jobId: string; nodeId: string; gpuCount: number; atMs: number; runtimeSec?: number }): void {
    const copy = this.queued.get(m.jobId)?.job;
    this.cancelJob(m.jobId);
    // a redundant copy stays in its group while it runs: its node is excluded for its siblings
    if (copy?.redundancyGroup !== undefined && !this.reservations.has(m.jobId) && this.nodes.has(m.nodeId)) this.joinRedundancyGroup(copy);
    if (this.reservations.has(m.jobId)) return;
    const node = this.nodes.get(m.nodeId);
    if (!node) return;
    const endsAtMs = m.runtimeSec !== undefined && m.runtimeSec > 0 ? m.atMs + m.runtimeSec * 1000 : 0;
    this.addReservation(node, { jobId: m.jobId, nodeId: m.nodeId, gpuCount: m.gpuCount, endsAtMs }, m.atMs);
  }

  private addReservation(node: NodeState, r: Reservation, atMs: number): void {
    this.excludeForSiblings(r.jobId, r.nodeId);
    node.market.account(node, -1);
    node.reservedGpus += r.gpuCount;
    node.running.push({ jobId: r.jobId, gpuCount: r.gpuCount, endsAtMs: r.endsAtMs });
    this.setHoldWindow(node, atMs);
    node.market.account(node, 1);
    this.reservations.set(r.jobId, r);
  }

  /** A copy enters its group: the nodes its siblings hold now are excluded for it. */
  private joinRedundancyGroup(job: JobSpec): void {
    if (job.redundancyGroup === undefined) return;
    let members = this.redundancyGroups.get(job.redundancyGroup);
    if (!members) this.redundancyGroups.set(job.redundancyGroup, (members = new Map()));
    members.set(job.jobId, job);
    this.redundancyGroupByJob.set(job.jobId, job.redundancyGroup);
    for (const sibling of members.keys()) {
      const held = sibling === job.jobId ? undefined : this.reservations.get(sibling);
      if (held) excludeNode(job, held.nodeId);
    }
  }

  /**
   * A group is kept while one of its copies is queued or reserved (a copy released for a re-match,
   * or moved within a pass, keeps its siblings' exclusions and its own); then it is forgotten.
   */
  private pruneRedundancyGroup(jobId: string): void {
    const groupId = this.redundancyGroupByJob.get(jobId);
    if (groupId === undefined) return;
    const members = this.redundancyGroups.get(groupId)!;
    for (const member of members.keys()) if (this.queued.has(member) || this.reservations.has(member)) return;
    for (const member of members.keys()) this.redundancyGroupByJob.delete(member);
    this.redundancyGroups.delete(groupId);
  }

  /** A copy reserved on `nodeId`: its siblings never run there (the group's results must be independent). */
  private excludeForSiblings(jobId: string, nodeId: string): void {
    const groupId = this.redundancyGroupByJob.get(jobId);
    if (groupId === undefined) return;
    for (const [sibling, job] of this.redundancyGroups.get(groupId)!) if (sibling !== jobId) excludeNode(job, nodeId);
  }

  /** Set a held node's window (holdWindow); only between account(-1) and account(+1) of the node. */
  private setHoldWindow(node: NodeState, atMs: number): void {
    const [startMs, spareGpus] = this.holdWindow(node, atMs);
    node.holdStartMs = startMs;
    node.holdSpareGpus = spareGpus;
  }

  /**
   * When a held node can start its holder: the expected end of enough running jobs (one past its
   * expected end counts as ending overrunGraceMs from now), and the GPUs free then beyond what
   * the holder needs. [Infinity, 0] for a node nobody holds.
   */
  private holdWindow(node: NodeState, atMs: number): [startMs: number, spareGpus: number] {
    return node.heldBy === null ? [Infinity, 0] : this.windowFor(node, this.holds.get(node.heldBy)!.gpuCount, atMs);
  }

  /**
   * When `need` GPUs of a node are expected free (now, or the expected end of enough running
   * jobs; Infinity if never), and how many more are free then.
   */
  private windowFor(node: NodeState, need: number, atMs: number): [startMs: number, spareGpus: number] {
    let free = node.freeGpus;
    if (free >= need) return [atMs, free - need];
    const ends = this.expectedEnds(node, atMs);
    let startMs = Infinity;
    for (let i = 0; i < ends.length && free < need; i++) {
      free += ends[i]![1];
      startMs = ends[i]![0];
      while (i + 1 < ends.length && ends[i + 1]![0] === startMs) free += ends[++i]![1];
    }
    return free < need ? [Infinity, 0] : [startMs, free - need];
  }

  /**
   * The node's running jobs as [expected end, GPUs], earliest first. One past its expected end
   * (or whose end is unknown: 0) is expected to end overrunGraceMs from now.
   */
  private expectedEnds(node: NodeState, atMs: number): (readonly [number, number])[] {
    const grace = atMs + this.config.queue.overrunGraceMs;
    return node.running.map((r) => [r.endsAtMs > 0 && r.endsAtMs >= atMs ? r.endsAtMs : grace, r.gpuCount] as const).sort((a, b) => a[0] - b[0]);
  }

  /** Re-estimate every held node's window at atMs (time moves overrunning jobs' estimated ends). */
  private refreshHolds(atMs: number): void {
    for (const node of this.heldNodes) {
      const [startMs, spareGpus] = this.holdWindow(node, atMs);
      if (startMs === node.holdStartMs && spareGpus === node.holdSpareGpus) continue;
      node.market.account(node, -1);
      node.holdStartMs = startMs;
      node.holdSpareGpus = spareGpus;
      node.market.account(node, 1);
    }
  }

  /** A queued job joins (+1) or leaves (-1) the count of its market filter (surge queue depth). */
  private countFilter(job: JobSpec, sign: 1 | -1): void {
    const key = filterKeyOf(job);
    const filter = this.queuedByFilter.get(key);
    if (filter) {
      filter.count += sign;
      invariant(filter.count >= 0, 'negative queue depth', { key });
      if (filter.count === 0) this.queuedByFilter.delete(key);
      return;
    }
    invariant(sign === 1, 'a job left a filter it was not counted in', { jobId: job.jobId });
    const r = job.requirements;
    this.queuedByFilter.set(key, { gpuModels: [...new Set(r.gpuModels)], regions: [...new Set(r.regions)], count: 1 });
  }

  /**
   * Each market's surge queue depth: the queued jobs (holders included) whose GPU models and regions
   * accept it. The proxy the engine has for "jobs that could run there": whether a node of the
   * market could meet a job's other requirements (count, VRAM, TEE, latency, budget) is not
   * checked, and a job accepting several markets counts in each. Costs (distinct filters x the
   * markets each accepts), once per reprice tick.
   */
  queueDepthByMarket(): Map<string, number> {
    const depth = new Map<string, number>();
    for (const f of this.queuedByFilter.values()) for (const m of this.marketsAccepting(f)) depth.set(m.key, (depth.get(m.key) ?? 0) + f.count);
    return depth;
  }

  /** Up to `max` queued job ids, in submission order (for reporting waiting reasons). */
  queuedJobIds(max: number): string[] {
    const out: string[] = [];
    for (const jobId of this.queued.keys()) {
      if (out.length >= max) break;
      out.push(jobId);
    }
    return out;
  }

  isQueued(jobId: string): boolean {
    return this.queued.has(jobId);
  }

  reservationOf(jobId: string): { nodeId: string; gpuCount: number } | undefined {
    const r = this.reservations.get(jobId);
    return r ? { nodeId: r.nodeId, gpuCount: r.gpuCount } : undefined;
  }

  queueDepths(): Record<Category, number> {
    return { ...this.depth };
  }

  waitingReason(jobId: string): string | undefined {
    return this.waiting.get(jobId);
  }

  /**
   * Up to `max` queued jobs whose waiting reason changed since they were last taken, in the order
   * the reasons changed: what the service reports on the log (it reads waitingReason and holdOf
   * when it writes each, as events applied meanwhile may change them).
   */
  takeChangedWaiting(max: number): string[] {
    const out: string[] = [];
    for (const jobId of this.reasonChanged) {
      if (out.length >= max) break;
      this.reasonChanged.delete(jobId);
      const reason = this.waiting.get(jobId);
      if (reason !== undefined && reason !== NOT_YET_ROUTED) out.push(jobId);
    }
    return out;
  }

  /** A report taken by takeChangedWaiting that could not be written: offer it again. */
  reportWaitingAgain(jobId: string): void {
    if (this.queued.has(jobId)) this.reasonChanged.add(jobId);
  }

  /** The node a queued job holds, if any. */
  holdOf(jobId: string): Hold | undefined {
    const h = this.holds.get(jobId);
    return h ? { ...h } : undefined;
  }

  /**
   * When the node a queued job holds is expected to have its GPUs (the reservation's start), as
   * last estimated; undefined when it holds none.
   */
  holdStartOf(jobId: string): number | undefined {
    const h = this.holds.get(jobId);
    return h ? this.nodes.get(h.nodeId)!.holdStartMs : undefined;
  }

  holdCount(): number {
    return this.holds.size;
  }

  /**
   * Apply a waiting report from the log (replay): the reason, and the node held or none. The
   * reason is already on the log, so it does not count as changed.
   */
  recordWaiting(w: { jobId: string; reason: string; hold?: { nodeId: string; gpuCount: number; sinceMs: number } }): void {
    const entry = this.queued.get(w.jobId);
    if (!entry) return;
    this.waiting.set(w.jobId, w.reason);
    this.reasonChanged.delete(w.jobId);
    // routed by whoever reported it: it waits by signature, as after a restore
    if (w.reason !== NOT_YET_ROUTED && !entry.routed) {
      entry.routed = true;
      if (entry.at === this.demand[entry.job.category].fresh) this.waitAgain(entry);
    }
    if (w.hold) this.recordHold({ jobId: w.jobId, ...w.hold });
    else this.dropHold(w.jobId);
  }

  /**
   * Apply a hold decided earlier (replaying the log): the job must still be queued and the node
   * free of other holds; otherwise it is ignored, as the engine would not have placed it.
   */
  recordHold(hold: Hold): void {
    const current = this.holds.get(hold.jobId);
    if (current?.nodeId === hold.nodeId) return;
    const node = this.nodes.get(hold.nodeId);
    // the log is authoritative: a hold recorded for this job ends another job's hold of the node
    // (their reports may come in either order)
    if (node && node.heldBy !== null && node.heldBy !== hold.jobId && this.queued.has(hold.jobId)) this.dropHold(node.heldBy);
    // a hold the engine could not have taken now (node gone offline or shrunk since) is not applied
    if (!this.queued.has(hold.jobId) || !node || node.heldBy !== null || !node.spec.online || node.spec.gpuCount < hold.gpuCount) {
      if (current) this.dropHold(hold.jobId);
      return;
    }
    if (current) this.dropHold(hold.jobId);
    this.placeHold({ ...hold }, hold.sinceMs); // its window is re-estimated at the next matchPending
  }

  private setWaiting(jobId: string, full: string): void {
    // the reason goes on the log as it is: cut to the catalogue's limit here, where it is made
    const reason = truncateText(full, LIMITS.reasonLengthMax);
    if (this.waiting.get(jobId) === reason) return;
    this.waiting.set(jobId, reason);
    // reports go out in the order reasons changed (a hold given up before another job takes the node)
    this.reasonChanged.delete(jobId);
    this.reasonChanged.add(jobId);
  }

  /** The job holds the node; it leaves its queue until it starts or gives the hold up. */
  private placeHold(hold: Hold, atMs: number): void {
    const node = this.nodes.get(hold.nodeId)!;
    invariant(node.heldBy === null, 'node held twice', { ...hold, heldBy: node.heldBy });
    this.holds.set(hold.jobId, hold);
    node.market.account(node, -1);
    node.heldBy = hold.jobId;
    this.setHoldWindow(node, atMs);
    node.market.heldGpus += node.spec.gpuCount;
    node.market.account(node, 1);
    this.heldNodes.push(node);
    const entry = this.queued.get(hold.jobId);
    if (entry) entry.at = null;
  }

  /** Ends a hold; `requeue`: the job, still queued, waits in its queue again. */
  private dropHold(jobId: string, requeue = true): Hold | undefined {
    const hold = this.holds.get(jobId);
    if (!hold) return undefined;
    const node = this.nodes.get(hold.nodeId)!;
    node.market.account(node, -1);
    node.heldBy = null;
    this.setHoldWindow(node, 0);
    node.market.heldGpus -= node.spec.gpuCount;
    node.market.account(node, 1);
    this.holds.delete(jobId);
    this.heldNodes.splice(this.heldNodes.indexOf(node), 1);
    const entry = this.queued.get(jobId);
    if (requeue && entry && entry.at === null) this.waitAgain(entry);
    return hold;
  }

  /** Back into its queue: by signature once routed (its reason known), else with the fresh jobs. */
  private waitAgain(entry: QueueEntry): void {
    const demand = this.demand[entry.job.category];
    entry.at = entry.routed ? demand.sigQueue(entry.sig) : demand.fresh;
    entry.at.push(entry);
  }

  private validateJob(job: JobSpec): void {
    const r = job.requirements;
    const bad = (why: string) => {
      throw new InvalidInputError('invalid-job', `job ${job.jobId}: ${why}`, { jobId: job.jobId });
    };
    if (!job.jobId) bad('empty jobId');
    if (!CATEGORIES.includes(job.category)) bad(`unknown category ${job.category}`);
    if (!Number.isInteger(r.gpuCount) || r.gpuCount < 0) bad('gpuCount must be a non-negative integer');
    if (!(job.expectedRuntimeSec > 0)) bad('expectedRuntimeSec must be > 0');
    if (job.budgetWei < 0n) bad('budgetWei must be >= 0');
    if (!Number.isFinite(job.submittedAtMs)) bad('submittedAtMs must be finite');
  }

  /** Intake's check: refuse what can never match, with a machine-readable code and the reason. */
  checkAdmissible(job: JobSpec): Admission {
    const r = job.requirements;
    const prices = this.config.pricing.basePricesWeiPerGpuHour;
    if (!Number.isInteger(r.gpuCount) || r.gpuCount < 0) return { ok: false, code: 'invalid-gpu-count', reason: `gpuCount ${r.gpuCount} is not a non-negative integer` };
    if (r.gpuCount > this.config.maxGpusPerNode)
      return { ok: false, code: 'gpu-count-too-large', reason: `no node has more than ${this.config.maxGpusPerNode} GPUs; asked ${r.gpuCount} on one node` };
    if (!(job.expectedRuntimeSec > 0)) return { ok: false, code: 'invalid-runtime', reason: 'expectedRuntimeSec must be > 0' };
    if (job.budgetWei <= 0n) return { ok: false, code: 'budget-below-any-price', reason: 'budget must be positive' };
    const unknown = r.gpuModels.filter((m) => prices[m] === undefined);
    if (unknown.length) return { ok: false, code: 'unknown-gpu-model', reason: `unknown GPU model ${unknown.join(', ')}` };
    const models = r.gpuModels.length ? r.gpuModels : Object.keys(prices);
    const tier = this.config.pricing.urgencyTier[job.urgency];
    let floor: bigint | null = null;
    for (const model of models) {
      let gpuCount = r.gpuCount;
      let runtimeSec = Math.max(1, Math.ceil(job.expectedRuntimeSec));
      if (isBudgetAndDeadlineOnly(job)) {
        const speed = this.config.gpuSpeed[model];
        if (!speed) continue;
        gpuCount = 1;
        runtimeSec = Math.max(1, Math.ceil(job.expectedRuntimeSec / speed));
      }
      const c = floorCostWei(prices[model]!, tier, gpuCount, runtimeSec, this.config);
      if (floor === null || c < floor) floor = c;
    }
    if (floor !== null && job.budgetWei < floor)
      return { ok: false, code: 'budget-below-any-price', reason: `budget ${job.budgetWei} Wei is below the lowest possible price ${floor} Wei for ${describe(job)}` };
    if (this.config.admission.requireCurrentSupply && !this.anyNodeCouldEverServe(job))
      return { ok: false, code: 'no-node-satisfies', reason: `no node satisfies ${describe(job)}` };
    return { ok: true };
  }

  private anyNodeCouldEverServe(job: JobSpec): boolean {
    const r = job.requirements;
    const markets = new Set(this.candidateMarkets(job));
    const count = r.gpuCount === 0 ? 1 : r.gpuCount;
    for (const node of this.nodeList) {
      if (markets.has(node.market) && node.spec.gpuCount >= count && meetsNodeRequirements(node.spec, job)) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- routing

  /** The markets a job may be routed onto now: all of them, or those routable in this pass. */
  private *candidateMarkets(job: JobSpec): Iterable<Market> {
    const routable = this.routable;
    if (!routable) {
      yield* this.allCandidateMarkets(job);
      return;
    }
    for (const m of this.allCandidateMarkets(job)) if (routable(m.key)) yield m;
  }

  private allCandidateMarkets(job: JobSpec): Iterable<Market> {
    return this.marketsAccepting(job.requirements);
  }

  private *marketsAccepting(r: { readonly gpuModels: readonly string[]; readonly regions: readonly string[] }): Iterable<Market> {
    const classes = r.gpuModels.length ? r.gpuModels : [...this.marketsByClass.keys()];
    for (const gpuClass of classes) {
      const byRegion = this.marketsByClass.get(gpuClass);
      if (!byRegion) continue;
      if (r.regions.length) {
        for (const region of r.regions) {
          const m = byRegion.get(region);
          if (m) yield m;
        }
      } else yield* byRegion.values();
    }
  }

  /** Route one job against the current supply without reserving anything. */
  route(job: JobSpec, atMs: number): { match: Match } | { waiting: string } {
    return this.routeScreened(job, atMs);
  }

  /** route, and for a job left waiting the market screen it was routed on (for choosing a hold). */
  private routeScreened(job: JobSpec, atMs: number): { match: Match } | { waiting: string; screen: MarketScreen } {
    const screen = screenMarkets(job, this.candidateMarkets(job), atMs, this.config);
    const result =
      this.strategy === 'indexed'
        ? indexedSearch(job, screen, this.config, atMs, this.routable ? this.heldNodes.filter((n) => this.routable!(n.market.key)) : this.heldNodes)
        : fullScanSearch(job, screen, this.nodeList, this.config, atMs);
    // the reason a job waits is the whole market's, not one partition's (another replica may hold the supply it names)
    if (!result.best) return { waiting: this.explain(job, this.routable ? screenMarkets(job, this.allCandidateMarkets(job), atMs, this.config) : screen), screen };
    return { match: this.buildMatch(job, atMs, screen, result.best, result.runnerUp, result.candidatesConsidered) };
  }

  /**
   * Every node that could take this job now, with its score term by term, best first (full scan,
   * nothing reserved): for audits that re-run a decision and for the quality benchmark.
   */
  candidates(job: JobSpec, atMs: number): ReceiptCandidate[] {
    const screen = screenMarkets(job, this.candidateMarkets(job), atMs, this.config);
    const out: { c: Candidate; total: number }[] = [];
    fullScanSearch(job, screen, this.nodeList, this.config, atMs, (c) => out.push({ c, total: c.total }));
    out.sort((a, b) => b.total - a.total || (a.c.node.spec.nodeId < b.c.node.spec.nodeId ? -1 : 1));
    return out.map(({ c }) => this.receiptCandidate(job, c));
  }

  /**
   * Route queued jobs in fairness order, reserve their capacity, and return the matches.
   *
   * Holders go first (a hold whose node has gathered enough GPUs starts its job, as a reservation
   * does). Then categories take turns (round robin); in each, the next job is the first in
   * fairness order among the fresh jobs (never routed) and the signatures that may place now.
   * A signature (signatureOf) whose oldest job could neither take capacity nor a hold is skipped
   * whole: every job of it shares that check. So a pass costs about (signatures + jobs routed),
   * not the whole queue. A signature whose jobs were routed in vain maxFailuresPerSignature times
   * rests until the next call.
   */
  matchPending(atMs: number, maxMatches: number, routable?: (marketKey: string) => boolean): Match[] {
    if (!routable) return this.pass(atMs, maxMatches);
    // one replica of several: this pass books nodes of the markets whose partition it holds only
    this.routable = routable;
    try {
      return this.pass(atMs, maxMatches);
    } finally {
      this.routable = null;
    }
  }

  /**
   * A match of the last matchPending that its caller could not record (an append that failed or
   * timed out, a lease that ran out): its GPUs are freed and the job goes back to its queue, as
   * submitted. If the match did land after all, replaying its JobMatched (recordMatch) takes the
   * job off the queue again. False when `jobId` was not matched by the last pass.
   */
  unmatch(jobId: string, atMs: number): boolean {
    const job = this.lastMatched.get(jobId);
    if (!job) return false;
    this.lastMatched.delete(jobId);
    this.release(jobId, atMs);
    this.submitJob(job);
    return true;
  }

  private pass(atMs: number, maxMatches: number): Match[] {
    this.lastMatched.clear();
    const matches: Match[] = [];
    const matched: { entry: QueueEntry; match: Match }[] = [];
    const parked: QueueEntry[] = [];
    const q = this.config.queue;
    let scanned = 0;
    this.holdAttempts = 0;
    /** capacity keys found without capacity in this pass: capacity only shrinks within a pass */
    const noCapacity = new Set<string>();
    this.compactQueues();
    this.refreshHolds(atMs);
    const take = (entry: QueueEntry): 'matched' | 'waiting' | 'skipped' => {
      const job = entry.job;
      if (entry.routed && !this.holds.has(job.jobId) && !this.mayTakeHold(job, atMs) && !this.mayPlace(entry, atMs, noCapacity)) {
        parked.push(entry); // still no free capacity anywhere it could go: keep its reason, skip the search
        return 'skipped';
      }
      entry.at = null;
      entry.routed = true;
      const routed = this.routeQueued(job, atMs);
      if ('waiting' in routed) {
        this.setWaiting(job.jobId, routed.waiting);
        if (!this.holds.has(job.jobId)) parked.push(entry);
        return 'waiting';
      }
      this.reserve(routed.match);
      this.dequeueMatched(entry);
      this.lastMatched.set(job.jobId, job);
      matches.push(routed.match);
      matched.push({ entry, match: routed.match });
      return 'matched';
    };
    const pricesMoved = this.pricesMoved;
    this.pricesMoved = false;
    // holders first, in fairness order: those whose node is ready, or who may fit elsewhere now
    const holders = [...this.holds.keys()].map((id) => this.queued.get(id)!).sort((a, b) => (entryBefore(a, b) ? -1 : 1));
    for (const entry of holders) {
      if (matches.length >= maxMatches || scanned >= q.maxScanPerCall) break;
      // also routed: a holder with a deadline, and every holder after prices moved (either may
      // make it wait for something other than capacity, and then it gives the hold up)
      if (!this.holdReady(entry.job.jobId) && entry.job.deadlineAtMs === undefined && !pricesMoved && !this.mayHaveCapacity(entry.job, atMs)) continue;
      scanned++;
      take(entry);
    }
    const sources = CATEGORIES.map((c) => this.sourcesOf(c, atMs, noCapacity));
    while (matches.length < maxMatches && scanned < q.maxScanPerCall) {
      // one round: the next job of every category with one, in cyclic order from the persistent cursor
      let servedInRound = 0;
      for (let k = 0; k < CATEGORIES.length; k++) {
        if (matches.length >= maxMatches || scanned >= q.maxScanPerCall) break;
        const ci = (this.categoryCursor + k) % CATEGORIES.length;
        const source = sources[ci]!.pop();
        if (!source) continue;
        const entry = source.heap.pop()!;
        invariant(entry === source.head, 'a source head moved during a pass', { jobId: entry.job.jobId });
        scanned++;
        servedInRound++;
        this.categoryCursor = (ci + 1) % CATEGORIES.length;
        k = -1; // restart the cycle from the new cursor
        const outcome = take(entry);
        if (outcome === 'skipped' && !source.fresh) continue; // the rest of this signature cannot place either
        // only a wait for capacity counts against the signature: budget and deadline are the job's own
        if (outcome === 'waiting' && !source.fresh && this.waiting.get(entry.job.jobId)?.startsWith(CAPACITY_REASON) && ++source.failures >= q.maxFailuresPerSignature) continue;
        const next = this.liveHead(source.heap);
        if (next) {
          source.head = next;
          sources[ci]!.push(source);
        }
      }
      if (servedInRound === 0) break;
    }
    const stillParked = this.augment(parked, matched, matches, atMs, maxMatches);
    for (const entry of stillParked) this.waitAgain(entry);
    return matches;
  }

  /** The places a pass takes a category's jobs from: its fresh jobs, and each signature that may place now. */
  private sourcesOf(category: Category, atMs: number, noCapacity: Set<string>): BinaryHeap<Source> {
    const demand = this.demand[category];
    const sources = new BinaryHeap<Source>(sourceBefore);
    const fresh = this.liveHead(demand.fresh);
    if (fresh) sources.push({ heap: demand.fresh, head: fresh, fresh: true, failures: 0 });
    for (const [sig, heap] of demand.bySig) {
      const head = this.liveHead(heap);
      if (!head) {
        demand.bySig.delete(sig);
        continue;
      }
      // the head is the signature's oldest job: if it can neither place nor take a hold, none can
      if (!this.mayTakeHold(head.job, atMs) && !this.mayPlace(head, atMs, noCapacity)) continue;
      sources.push({ heap, head, fresh: false, failures: 0 });
    }
    return sources;
  }

  /**
   * Route a queued job. A job holding a node routes with that node back in the supply (so it
   * takes it, or a better one that freed up); if it still waits for capacity it keeps or takes a
   * hold, and if it now waits for any other reason (a deadline that passed) it gives the hold up.
   */
  private routeQueued(job: JobSpec, atMs: number): { match: Match } | { waiting: string } {
    const held = this.dropHold(job.jobId, false);
    const routed = this.routeScreened(job, atMs);
    if ('match' in routed) {
      if (held) routed.match.receipt.hold = { nodeId: held.nodeId, sinceMs: held.sinceMs };
      return routed;
    }
    if (!routed.waiting.startsWith(CAPACITY_REASON)) return { waiting: routed.waiting };
    const hold = held ?? this.chooseHold(job, atMs, routed.screen);
    if (!hold) return { waiting: routed.waiting };
    this.placeHold(hold, atMs);
    return { waiting: `${routed.waiting}; holding node ${hold.nodeId} until ${hold.gpuCount} of its GPUs are free` };
  }

  /** Cheap: could routing this job now give it a hold (so it must not skip the search)? */
  private mayTakeHold(job: JobSpec, atMs: number): boolean {
    const q = this.config.queue;
    return (
      !this.holds.has(job.jobId) &&
      this.holds.size < q.maxHolds &&
      this.holdAttempts < q.maxHoldAttemptsPerCall &&
      atMs - job.submittedAtMs >= q.holdAfterMs &&
      (job.requirements.gpuCount >= 2 || isBudgetAndDeadlineOnly(job))
    );
  }

  private holdReady(jobId: string): boolean {
    const hold = this.holds.get(jobId);
    return hold !== undefined && this.nodes.get(hold.nodeId)!.freeGpus >= hold.gpuCount;
  }

  /**
   * The node a large job should hold, if it has waited long enough and holds are left: among
   * online, unheld nodes of its eligible markets that could ever fit it (busy or not), the one
   * where it can start earliest (from running jobs' expected ends, as EASY backfilling reserves),
   * then the most free GPUs, then the best node-only score for the job, then the smallest nodeId.
   * Markets are visited by key and their nodes by nodeId, so the choice, even when the scan is
   * cut at maxHoldScan, does not depend on the order nodes were registered in.
   */
  private chooseHold(job: JobSpec, atMs: number, screen: MarketScreen): Hold | null {
    if (!this.mayTakeHold(job, atMs)) return null;
    this.holdAttempts++;
    const q = this.config.queue;
    const eligible = screen.eligible.filter((e) => e.gpuCount >= 2).sort((a, b) => (a.market.key < b.market.key ? -1 : 1));
    const v = variantIndex(job.latencyPreference, job.green);
    let best: { node: NodeState; gpuCount: number; startMs: number } | null = null;
    let scanned = 0;
    for (const e of eligible) {
      const heldCap = (e.market.totalGpus * q.maxHeldShareBps) / BPS;
      for (const node of e.market.members) {
        if (++scanned > q.maxHoldScan) break;
        if (e.market.heldGpus > 0 && e.market.heldGpus + node.spec.gpuCount > heldCap) continue; // one hold per market always allowed
        if (!node.spec.online || node.heldBy !== null || node.spec.gpuCount < e.gpuCount || !meetsNodeRequirements(node.spec, job)) continue;
        const [startMs] = this.windowFor(node, e.gpuCount, atMs);
        if (!best || startMs < best.startMs || (startMs === best.startMs && holdBefore(node, best.node, v))) best = { node, gpuCount: e.gpuCount, startMs };
      }
    }
    return best ? { jobId: job.jobId, nodeId: best.node.spec.nodeId, gpuCount: best.gpuCount, sinceMs: atMs } : null;
  }

  /** mayHaveCapacity, remembering within a pass the capacity keys that have none (they cannot gain any in it). */
  private mayPlace(entry: QueueEntry, atMs: number, noCapacity: Set<string>): boolean {
    if (noCapacity.has(entry.capKey)) return false;
    if (this.mayHaveCapacity(entry.job, atMs)) return true;
    noCapacity.add(entry.capKey);
    return false;
  }

  /**
   * Necessary condition for a match, cheap: some candidate market has an indexed node with enough
   * free GPUs, or a held node has them for a job of its runtime class that would end before the
   * holder starts (TEE, VRAM, latency, budget and deadline are left to the full search). The same
   * for every job of one signature but for the held nodes' windows, checked with the shortest
   * runtime of the signature's class, so the oldest job answers for all.
   */
  private mayHaveCapacity(job: JobSpec, atMs: number): boolean {
    const g = Math.max(1, job.requirements.gpuCount);
    const v = variantIndex(job.latencyPreference, job.green);
    for (const market of this.candidateMarkets(job)) {
      if (market.totalGpus - market.usedGpus >= g && market.bestStaticFor(v, g) > -Infinity) return true;
    }
    if (this.heldNodes.length === 0) return false;
    const r = job.requirements;
    const shortest = job.requirements.gpuCount === 0 ? 1 : Math.max(1, runtimeClassFloorSec(runtimeClass(job.expectedRuntimeSec, this.config.queue), this.config.queue));
    for (const node of this.heldNodes) {
      if (node.heldBy === job.jobId || !node.spec.online || node.freeGpus < g || atMs + shortest * 1000 > node.holdStartMs) continue;
      if (this.routable && !this.routable(node.market.key)) continue;
      if ((r.gpuModels.length === 0 || r.gpuModels.includes(node.market.gpuClass)) && (r.regions.length === 0 || r.regions.includes(node.market.region))) return true;
    }
    return false;
  }

  private dequeueMatched(entry: QueueEntry): void {
    this.dropHold(entry.job.jobId, false);
    this.queued.delete(entry.job.jobId);
    this.depth[entry.job.category]--;
    this.countFilter(entry.job, -1);
    this.waiting.delete(entry.job.jobId);
    this.reasonChanged.delete(entry.job.jobId);
  }

  /**
   * Augmenting step (bounded): a job left waiting for capacity in this call may take the node of a
   * job matched earlier in the same call, if that job can move to another free node and the sum of
   * both scores beats the first job's score alone. Nothing has been published yet, so this only
   * improves the call's assignment (more jobs placed, higher total score), deterministically.
   */
  private augment(parked: QueueEntry[], matched: { entry: QueueEntry; match: Match }[], matches: Match[], atMs: number, maxMatches: number): QueueEntry[] {
    const q = this.config.queue;
    if (parked.length === 0 || matched.length === 0 || q.maxAugmentationsPerCall <= 0) return parked;
    const still: QueueEntry[] = [];
    let attempts = 0;
    for (const entry of parked) {
      if (attempts >= q.maxAugmentationsPerCall || matches.length >= maxMatches || !this.waiting.get(entry.job.jobId)?.startsWith(CAPACITY_REASON)) {
        still.push(entry);
        continue;
      }
      const job = entry.job;
      const screen = screenMarkets(job, this.candidateMarkets(job), atMs, this.config);
      const sizeByMarket = new Map(screen.eligible.map((e) => [e.market, e.gpuCount]));
      let placed = false;
      let tried = 0;
      for (let i = 0; i < matched.length && tried < q.maxAugmentationCandidates && attempts < q.maxAugmentationsPerCall; i++) {
        const holder = matched[i]!;
        const node = this.nodes.get(holder.match.nodeId)!;
        const need = sizeByMarket.get(node.market);
        // a node held (possibly since earlier in this call) cannot take the job back: skip it
        if (need === undefined || !node.spec.online || node.heldBy !== null || !meetsNodeRequirements(node.spec, job)) continue;
        if (node.freeGpus + holder.match.gpuCount < need) continue;
        tried++;
        attempts++;
        this.release(holder.match.jobId, atMs);
        const forJob = this.route(job, atMs);
        if ('waiting' in forJob) {
          this.reserve(holder.match);
          continue;
        }
        this.reserve(forJob.match);
        const moved = this.route(holder.entry.job, atMs);
        if ('waiting' in moved || moved.match.receipt.winner.score.total + forJob.match.receipt.winner.score.total <= holder.match.receipt.winner.score.total) {
          this.release(forJob.match.jobId, atMs);
          this.reserve(holder.match);
          continue;
        }
        moved.match.receipt.rerouted = { forJobId: job.jobId, fromNodeId: holder.match.nodeId };
        this.reserve(moved.match);
        matches[matches.indexOf(holder.match)] = moved.match;
        holder.match = moved.match;
        this.dequeueMatched(entry);
        matches.push(forJob.match);
        matched.push({ entry, match: forJob.match });
        placed = true;
        break;
      }
      if (!placed) still.push(entry);
    }
    return still;
  }

  /** Entries held in the demand heaps, live or removed (removal is lazy; compaction bounds it): for specs. */
  demandHeapEntries(): number {
    return CATEGORIES.reduce((n, c) => n + this.demand[c].entryCount(), 0);
  }

  /** The first entry of a heap that still lives there (cancelled, matched or moved ones are dropped lazily). */
  private liveHead(heap: PriorityQueue): QueueEntry | undefined {
    for (;;) {
      const head = heap.peek();
      if (!head || this.livesIn(head, heap)) return head;
      heap.pop();
    }
  }

  private livesIn(entry: QueueEntry, heap: PriorityQueue): boolean {
    return this.queued.get(entry.job.jobId) === entry && entry.at === heap;
  }

  /** Every COMPACT_EVERY_PASSES passes: a category whose heaps hold more than twice its jobs (plus slack) is rebuilt. */
  private compactQueues(): void {
    if (++this.passes % COMPACT_EVERY_PASSES !== 0) return;
    for (const category of CATEGORIES) {
      const demand = this.demand[category];
      if (demand.entryCount() > 2 * this.depth[category] + COMPACT_SLACK) demand.compact((e, heap) => this.livesIn(e, heap));
    }
  }

  private reserve(match: Match): void {
    const node = this.nodes.get(match.nodeId)!;
    const endsAtMs = match.matchedAtMs + match.quote.runtimeSec * 1000;
    invariant(node.spec.online && node.usableFree(endsAtMs) >= match.gpuCount, 'reservation over capacity', {
      nodeId: match.nodeId,
      free: node.usableFree(endsAtMs),
      asked: match.gpuCount,
    });
    this.addReservation(node, { jobId: match.jobId, nodeId: match.nodeId, gpuCount: match.gpuCount, endsAtMs }, match.matchedAtMs);
    invariant(node.reservedGpus <= node.spec.gpuCount, 'node over capacity', { nodeId: match.nodeId });
  }

  private buildMatch(job: JobSpec, atMs: number, screen: MarketScreen, best: Candidate, runnerUp: Candidate | null, considered: number): Match {
    const tier = this.config.pricing.urgencyTier[job.urgency];
    const e = best.eligible;
    const q = quote(
      { gpuClass: e.market.gpuClass, region: e.market.region, tier, gpuCount: e.gpuCount, runtimeSec: e.runtimeSec, utilizationMultiplierBps: e.market.multiplierBps },
      this.config.pricing,
    );
    invariant(q.costWei <= job.budgetWei, 'quote over budget', { jobId: job.jobId });
    const w = this.config.weights;
    const receipt: MatchReceipt = {
      engineVersion: this.config.engineVersion,
      strategy: this.strategy,
      jobId: job.jobId,
      atMs,
      tier,
      candidatesConsidered: considered,
      marketsEligible: screen.eligible.length,
      winner: this.receiptCandidate(job, best),
      runnerUp: runnerUp ? this.receiptCandidate(job, runnerUp) : null,
      price: {
        gpuClass: q.gpuClass,
        region: q.region,
        tier,
        basePriceWeiPerGpuHour: q.basePriceWeiPerGpuHour.toString(),
        tierMultiplierBps: q.tierMultiplierBps,
        utilizationMultiplierBps: q.utilizationMultiplierBps,
        gpuCount: e.gpuCount,
        priceWeiPerHour: q.priceWeiPerHour.toString(),
        runtimeSec: q.runtimeSec,
        costWei: q.costWei.toString(),
        budgetWei: job.budgetWei.toString(),
      },
      weights: {
        priceFit: w.priceFit,
        headroom: w.headroom,
        packFit: w.packFit,
        reservedLiquidity: w.reservedLiquidity,
        reputation: w.reputation,
        performance: w.performance,
        proximity: w.proximity[job.latencyPreference],
        energy: job.green ? w.energy : 0,
      },
      referenceCostWei: screen.referenceCostWei.toString(),
      surge: e.market.surge,
      ...(e.market.surgeState.status === 'surging' ? { surgePreference: { sinceMs: e.market.surgeState.sinceMs, winnerStaked: best.node.staked } } : {}),
      config: { hash: this.configRecord.hash, delta: this.configRecord.delta },
      mix: this.demandMixApplied(),
    };
    return { jobId: job.jobId, nodeId: best.node.spec.nodeId, gpuCount: e.gpuCount, quote: q, receipt, matchedAtMs: atMs, category: job.category, submittedAtMs: job.submittedAtMs };
  }

  private receiptCandidate(job: JobSpec, c: Candidate): ReceiptCandidate {
    const score = scoreTerms(c.node.spec, job.latencyPreference, job.green, c.eligible.priceFit, c.eligible.headroom, c.packFit, c.reservedLiquidity, this.config);
    invariant(score.total === c.total, 'receipt score differs from the compared score', { nodeId: c.node.spec.nodeId });
    return { nodeId: c.node.spec.nodeId, gpuClass: c.eligible.market.gpuClass, region: c.eligible.market.region, gpuCount: c.eligible.gpuCount, score };
  }

  /** A visible reason for a job left waiting, most specific first. */
  private explain(job: JobSpec, screen: MarketScreen): string {
    const r = job.requirements;
    const unknown = r.gpuModels.filter((m) => this.config.pricing.basePricesWeiPerGpuHour[m] === undefined);
    if (unknown.length) return `unknown GPU model ${unknown.join(', ')}`;
    if (screen.considered === 0 || screen.failedSupply === screen.considered) return `no node satisfies ${describe(job)}`;
    if (screen.eligible.length === 0) {
      if (screen.failedBudget > 0 && screen.failedDeadline === 0)
        return `budget ${job.budgetWei} Wei below price: cheapest quote ${screen.cheapestRejectedCostWei} Wei for ${describe(job)}`;
      if (screen.failedDeadline > 0 && screen.failedBudget === 0) return `deadline ${job.deadlineAtMs} cannot be met for ${describe(job)}`;
      return `no market meets budget and deadline for ${describe(job)}`;
    }
    const count = Math.min(...screen.eligible.map((e) => e.gpuCount));
    if (!screen.eligible.some((e) => e.market.hasRegisteredWithAtLeast(e.gpuCount, true))) return `no online node satisfies ${describe(job, count)}`;
    return `${CAPACITY_REASON}: no free node satisfies ${describe(job, count)}`;
  }

  // ---------------------------------------------------------------- pricing

  /**
   * Smoothed, bounded utilization-driven price moves of every market; the service logs them. With
   * `routable` (partitioned matching), only the markets this replica holds move here: the others
   * move by their holder's PriceChanged on the log (applyPriceChange), so every engine prices what
   * the log says, and a market nobody holds yet keeps its price rather than one only in memory.
   */
  repriceTick(atMs: number, routable?: (marketKey: string) => boolean): PriceChange[] {
    return this.marketTick(atMs, routable).priceChanges;
  }

  /**
   * The reprice tick (repriceTick), and at the same tick each market's surge decision (surge.ts)
   * from its smoothed utilization after the price step and its queue depth (queueDepthByMarket):
   * both lists go on the log, in this order. With `routable`, only this replica's markets decide;
   * the others follow the log (applyPriceChange, applySurgeChange).
   */
  marketTick(atMs: number, routable?: (marketKey: string) => boolean): MarketTick {
    if (this.lastRepriceAtMs !== null && atMs - this.lastRepriceAtMs < this.config.pricing.repriceIntervalMs) return { priceChanges: [], surgeChanges: [] };
    const elapsedMs = this.lastRepriceAtMs === null ? 0 : atMs - this.lastRepriceAtMs;
    this.lastRepriceAtMs = atMs;
    this.applyDemandMix(elapsedMs, atMs);
    const priceChanges: PriceChange[] = [];
    const surgeChanges: SurgeChange[] = [];
    const depth = this.queueDepthByMarket();
    for (const key of [...this.markets.keys()].sort()) {
      if (routable && !routable(key)) continue;
      const m = this.markets.get(key)!;
      const utilizationBps = m.utilizationBps();
      const next = nextPriceState({ multiplierBps: m.multiplierBps, smoothedUtilizationBps: m.smoothedUtilizationBps }, utilizationBps, this.config.pricing);
      if (next.multiplierBps !== m.multiplierBps || next.smoothedUtilizationBps !== m.smoothedUtilizationBps) {
        const change: PriceChange = {
          gpuClass: m.gpuClass,
          region: m.region,
          atMs,
          previousMultiplierBps: m.multiplierBps,
          multiplierBps: next.multiplierBps,
          utilizationBps,
          smoothedUtilizationBps: next.smoothedUtilizationBps,
        };
        this.applyPriceChange(change);
        priceChanges.push(change);
      }
      const figures = { smoothedUtilizationBps: m.smoothedUtilizationBps, queueDepth: depth.get(key) ?? 0 };
      const decided = surgeTick(m.surgeState, { gpuClass: m.gpuClass, region: m.region, atMs, figures }, this.config.surge);
      m.surgeState = decided.state;
      if (decided.change) surgeChanges.push(decided.change);
    }
    return { priceChanges, surgeChanges };
  }

  /**
   * A surge started or ended, as on the log (SurgeStarted / SurgeEnded): replay, another replica's
   * decision, or this engine's own coming back (which changes nothing). See applySurgeChange in surge.ts.
   */
  applySurgeChange(change: SurgeChange): void {
    const m = this.marketFor(change.gpuClass, change.region);
    m.surgeState = applySurgeChange(m.surgeState, change);
  }

  /** Whether a market is in surge, and since when (null: calm or unknown). */
  surgeOf(gpuClass: string, region: string): { sinceMs: number } | null {
    const s = this.markets.get(marketKey(gpuClass, region))?.surgeState;
    return s?.status === 'surging' ? { sinceMs: s.sinceMs } : null;
  }

  /**
   * The demand mix a recorded decision scored with (its receipt's `mix.applied`), for an auditor
   * re-running it: packFit scores with it from here on, until the next reprice tick. The prices
   * come from the log's PriceChanged (applyPriceChange); the mix changes at ticks that leave no
   * event when no price moves, so the receipts carry it.
   */
  replayDemandMix(applied: SerializedMix, appliedAtMs: number | null): void {
    this.appliedMix.load(applied);
    this.mixRecord = this.recordMix(appliedAtMs);
    this.rebuildFragmentation();
  }

  /** The demand mix packFit scores with now, as receipts record it: when a tick applied it, its digest, and the mix (read-only). */
  demandMixApplied(): Readonly<{ appliedAtMs: number | null; digest: string; applied: SerializedMix }> {
    return this.mixRecord;
  }

  private recordMix(appliedAtMs: number | null): Readonly<{ appliedAtMs: number | null; digest: string; applied: SerializedMix }> {
    const applied = this.appliedMix.serialize();
    return { appliedAtMs, digest: jsonDigest(applied), applied };
  }

  /**
   * The demand mix moves with demand: decay what was seen by the time elapsed, and rebuild every
   * market's packFit table from it. Only at reprice ticks, never between them.
   */
  private applyDemandMix(elapsedMs: number, atMs: number): void {
    const halfLife = this.config.fragmentation.mixHalfLifeMs;
    if (elapsedMs > 0 && halfLife > 0) this.demandMix.decay(0.5 ** (elapsedMs / halfLife));
    this.appliedMix = this.demandMix.copy();
    this.mixRecord = this.recordMix(atMs);
    this.rebuildFragmentation();
  }

  private rebuildFragmentation(): void {
    for (const m of this.markets.values()) if (m.fragmentation.rebuild(this.appliedMix, m.key)) m.invalidateBounds();
  }

  /** packFit's factor for g GPUs on a node of a market with f free (before weight and TEE factor); undefined: no such market. */
  fragmentationFit(gpuClass: string, region: string, gpuCount: number, freeGpus: number): number | undefined {
    return this.markets.get(marketKey(gpuClass, region))?.fragmentation.fit(gpuCount, freeGpus);
  }

  applyPriceChange(change: PriceChange): void {
    const p = this.config.pricing;
    this.pricesMoved = true;
    invariant(change.multiplierBps >= p.minMultiplierBps && change.multiplierBps <= p.maxMultiplierBps, 'price change out of band', { ...change });
    const m = this.marketFor(change.gpuClass, change.region);
    m.smoothedUtilizationBps = change.smoothedUtilizationBps;
    m.setMultiplier(change.multiplierBps);
    if (this.lastRepriceAtMs === null || change.atMs > this.lastRepriceAtMs) this.lastRepriceAtMs = change.atMs;
  }

  /**
   * Read-only, for quotes (quote.ts): every market the engine knows (a GPU model × region with a
   * node registered or a price recorded), with its nodes and price. Callers change nothing.
   */
  allMarkets(): Iterable<Market> {
    return this.markets.values();
  }

  /** Read-only, for quotes (quote.ts): the queued jobs, in submission order. Callers change nothing. */
  *queuedJobs(): Generator<Readonly<JobSpec>> {
    for (const entry of this.queued.values()) yield entry.job;
  }

  marketState(gpuClass: string, region: string): { multiplierBps: number; smoothedUtilizationBps: number; utilizationBps: number; totalGpus: number; usedGpus: number } | undefined {
    const m = this.markets.get(marketKey(gpuClass, region));
    return m ? { multiplierBps: m.multiplierBps, smoothedUtilizationBps: m.smoothedUtilizationBps, utilizationBps: m.utilizationBps(), totalGpus: m.totalGpus, usedGpus: m.usedGpus } : undefined;
  }

  // ---------------------------------------------------------------- snapshot

  snapshot(): EngineSnapshot {
    const byId = <T extends { jobId: string }>(a: T, b: T) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
    return {
      format: SNAPSHOT_FORMAT,
      engineVersion: this.config.engineVersion,
      nodes: [...this.nodes.values()].map((n) => serializeNode(n.spec)).sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1)),
      reservations: [...this.reservations.values()].map((r) => ({ ...r })).sort(byId),
      demandMix: { seen: this.demandMix.serialize(), applied: this.appliedMix.serialize() },
      mixAppliedAtMs: this.mixRecord.appliedAtMs,
      queued: [...this.queued.values()].map((e) => serializeJob(e.job)).sort(byId),
      markets: [...this.markets.values()]
        .filter((m) => m.multiplierBps !== BPS || m.smoothedUtilizationBps !== 0 || m.surgeState.changedAtMs !== null)
        .map((m) => ({
          gpuClass: m.gpuClass,
          region: m.region,
          multiplierBps: m.multiplierBps,
          smoothedUtilizationBps: m.smoothedUtilizationBps,
          ...(m.surgeState.changedAtMs !== null ? { surge: { ...m.surgeState } } : {}),
        }))
        .sort((a, b) => (marketKey(a.gpuClass, a.region) < marketKey(b.gpuClass, b.region) ? -1 : 1)),
      waiting: [...this.waiting.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
      lastRepriceAtMs: this.lastRepriceAtMs,
      categoryCursor: this.categoryCursor,
      holds: [...this.holds.values()].map((h) => ({ ...h })).sort(byId),
    };
  }

  static restore(s: EngineSnapshot, config: EngineConfig, options: EngineOptions = {}): MatchingEngine {
    invariant(s.format === SNAPSHOT_FORMAT, `unknown snapshot format ${String(s.format)}`);
    const engine = new MatchingEngine(config, options);
    for (const n of s.nodes) engine.upsertNode(deserializeNode(n), 0);
    for (const m of s.markets) {
      const market = engine.marketFor(m.gpuClass, m.region);
      market.smoothedUtilizationBps = m.smoothedUtilizationBps;
      market.setMultiplier(m.multiplierBps);
      if (m.surge) market.surgeState = { ...m.surge };
    }
    for (const r of s.reservations) {
      const node = engine.nodes.get(r.nodeId);
      invariant(node !== undefined, 'snapshot reservation on unknown node', { ...r });
      engine.addReservation(node, { jobId: r.jobId, nodeId: r.nodeId, gpuCount: r.gpuCount, endsAtMs: r.endsAtMs ?? 0 }, 0);
    }
    for (const j of s.queued) engine.submitJob(deserializeJob(j));
    if (s.demandMix) {
      engine.appliedMix.load(s.demandMix.applied);
      engine.rebuildFragmentation();
      engine.demandMix.load(s.demandMix.seen);
      engine.mixRecord = engine.recordMix(s.mixAppliedAtMs ?? null);
    }
    engine.waiting.clear();
    for (const [jobId, reason] of s.waiting) engine.waiting.set(jobId, reason);
    // jobs already routed wait by signature (the cheap check may skip them), as before the snapshot
    for (const entry of engine.queued.values()) {
      const reason = engine.waiting.get(entry.job.jobId);
      if (reason === undefined || reason === NOT_YET_ROUTED) continue;
      entry.routed = true;
      engine.waitAgain(entry);
    }
    for (const h of s.holds ?? []) engine.recordHold(h);
    // every restored reason counts as changed: the service reports what its own record lacks
    engine.reasonChanged.clear();
    for (const [jobId] of s.waiting) engine.reasonChanged.add(jobId);
    engine.lastRepriceAtMs = s.lastRepriceAtMs;
    engine.categoryCursor = s.categoryCursor ?? 0;
    return engine;
  }
}

/** hold preference: more free GPUs, then the better node-only score for the job, then the smaller nodeId */
function holdBefore(a: NodeState, b: NodeState, v: number): boolean {
  if (a.freeGpus !== b.freeGpus) return a.freeGpus > b.freeGpus;
  const sa = a.staticScores[v]!;
  const sb = b.staticScores[v]!;
  if (sa !== sb) return sa > sb;
  return a.spec.nodeId < b.spec.nodeId;
}

/**
 * Refuses a configuration whose surge would not do what it says: end thresholds above the start
 * ones (no hysteresis), or a reservedLiquidity weight that does not dominate the other node-level
 * terms (a staked node could lose to an unstaked one of its market during a surge). 0 turns the
 * preference off.
 */
function validateSurgeConfig(config: EngineConfig): void {
  const s = config.surge;
  const bad = (why: string) => {
    throw new InvalidInputError('invalid-config', `engine config: ${why}`, {});
  };
  if (!(s.endUtilizationBps <= s.startUtilizationBps) || !(s.endQueueDepth <= s.startQueueDepth)) bad('surge end thresholds must not exceed the start ones');
  if (!(s.startQueueDepth >= 1) || !(s.endQueueDepth >= 0) || !(s.endUtilizationBps >= 0) || !(s.minDwellMs >= 0)) bad('surge thresholds and dwell must be non-negative, startQueueDepth >= 1');
  const w = config.weights.reservedLiquidity;
  if (w !== 0 && !(w > nodeSpreadMax(config))) bad(`weights.reservedLiquidity (${w}) must be 0 or above the node-level spread ${nodeSpreadMax(config)}, so that it dominates during surges`);
}

function excludeNode(job: JobSpec, nodeId: string): void {
  const excluded = job.requirements.excludedNodeIds ?? [];
  if (!excluded.includes(nodeId)) job.requirements.excludedNodeIds = [...excluded, nodeId];
}

function cloneJob(job: JobSpec): JobSpec {
  return { ...job, requirements: { ...job.requirements, gpuModels: [...job.requirements.gpuModels], regions: [...job.requirements.regions] } };
}
