import { AGGREGATE_OF, toJson, type EventData, type TradeEvent } from '@starminer/events';
import {
  DEFAULT_ENGINE_CONFIG,
  ENGINE_VERSION,
  engineConfigFromDelta,
  engineConfigHash,
  MatchingEngine,
  meetsNodeRequirements,
  quote as quoteOf,
  sizeFor,
  type EngineConfig,
  type JobSpec,
  type SerializedMix,
} from '@starminer/matching';
import { parkingKeyOf } from '@starminer/trade-log';
import { EngineState, quotedRuntimeSec } from '../../../apps/matching/src/engine/engine-state';
import { jobSpecOf, requeuedJobSpecOf } from '../../../apps/matching/src/engine/to-engine';
import { surgeSettingsOf, type MatchingConfig, type SurgeSetting } from '../../../apps/matching/src/matching.config';
import type { Difference } from '../shared/outcome';

/**
 * Events read but not yet folded in (they came after the state the next match was decided on).
 * Past this many the oldest are folded anyway (counted in `foldedEarly`): a matching service that
 * lagged the log by more than this decided on a state the re-run no longer has exactly.
 */
export const DEFERRED_EVENTS_MAX = 50_000;
/** Matches of one round whose re-run differed, kept until the round's end decides what they mean. */
export const ROUND_PENDING_MAX = 1_024;
/** Demand mixes kept by digest: receipts carry a mix once per change, and one instance scores with one at a time (a few replicas, a few each). */
export const MIXES_KEPT_MAX = 64;

/** The aggregates the matching service follows (its follower's filter). */
const FOLLOWED = new Set(['node', 'job', 'contract', 'market']);

/** Why a re-run that differs cannot be called a difference: the log does not hold the state it was decided on. */
export type Unverifiable =
  /** the JobMatched does not say which log sequence its engine had folded in (older events) */
  | 'state-unrecorded'
  /** the receipt does not record its configuration (older receipts): the tool's defaults were assumed */
  | 'config-unrecorded'
  /** the demand mix packFit scored with is not on the log (older receipts, or one whose receipt was lost) */
  | 'mix-differs'
  /** decided by one of several partitioned replicas: which partitions it held is not on the log */
  | 'leased'
  /** its round moved a match to place another (augmenting step): the order of decisions is not on the log */
  | 'rerouted-round'
  /** its round placed a hold: whether before or after this decision is not on the log */
  | 'hold-in-round';

export interface RerunFigures {
  events: number;
  /** JobMatched events read */
  matches: number;
  /** re-run on the state the log gives: the engine gave the same node, GPUs, price and receipt */
  rerunIdentical: number;
  /** re-run differed, but the log does not hold the state the decision was made on (by reason); checked approximately */
  rerunUnverifiable: Partial<Record<Unverifiable, number>>;
  /** price recomputed from the receipt's terms (pricing.ts) against the market's price on the log */
  pricesChecked: number;
  /** node found feasible and free on the log's state (re-run identical, or checked by itself) */
  nodesChecked: number;
  /** no feasible node scored better, beyond what the unknown demand mix can explain (mix-differs only) */
  bestNodeChecked: number;
  /** events the engine refused (the service parks them and the rest of their aggregate) */
  refused: number;
  /** demand mixes taken from receipts (the mix changes at reprice ticks, which leave no event when no price moves) */
  mixesLoaded: number;
  /** configurations the matches were decided with (distinct hashes) */
  configs: number;
  foldedEarly: number;
}

interface Stored {
  readonly seq: number;
  readonly subject: string;
  readonly event: TradeEvent;
  readonly atMs: number;
}

interface Round {
  readonly key: string;
  readonly atMs: number;
  /** the state's sequence (undefined: not recorded) */
  readonly decidedAfterSeq: number | undefined;
  rerouted: boolean;
  holdPlaced: boolean;
  readonly pending: PendingDifference[];
}

interface PendingDifference {
  readonly difference: Difference;
  /** reasons known at the check; the round adds its own at its end */
  readonly unverifiable: Unverifiable[];
  /** checked approximately when it cannot be called a difference */
  readonly approximate: { nodeChecked: boolean; bestNodeChecked: boolean };
}

type Receipt = Record<string, unknown> & {
  atMs?: unknown;
  jobId?: unknown;
  engineVersion?: unknown;
  rerouted?: unknown;
  hold?: { nodeId?: unknown; sinceMs?: unknown };
  winner?: { nodeId?: unknown };
  price?: Record<string, unknown>;
  config?: { hash?: unknown; delta?: unknown };
  mix?: { appliedAtMs?: unknown; digest?: unknown; applied?: unknown };
  weights?: Record<string, unknown>;
};

/** Canonical JSON (sorted keys): two receipts are the same decision when these are equal. */
export function canonical(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(sort(JSON.parse(toJson(value))));
}

/** A receipt without the demand mix itself (logged once per change; its digest stays). */
function decisionOf(receipt: object): object {
  const r = receipt as Receipt;
  if (!r.mix) return r;
  const { applied: _applied, ...mix } = r.mix as Record<string, unknown>;
  return { ...r, mix };
}

/**
 * Re-runs the matching engine over the log. Events are folded in with the matching service's own
 * fold (EngineState.apply) in log order, but each match is checked on the state its engine
 * decided on: the log up to its `decidedAfterSeq`, plus what that engine itself had decided before
 * (its earlier matches, waiting reports and holds, price moves), which it held before they came
 * back on the log, and the demand mix the receipt records (reprice ticks that move no price leave
 * no event). Everything else read after `decidedAfterSeq` waits until a
 * later match was decided after it.
 *
 * At each JobMatched the engine, built with the configuration the receipt records, is asked what
 * it gives for that job at that time (`route`, the search matchPending runs per job). The same
 * node, GPUs, price and receipt: identical. Otherwise a difference, unless the log does not hold
 * the state it was decided on (Unverifiable); those are checked for what the log does hold: the
 * price from the receipt's terms, the node feasible and free, and (when only the demand mix is
 * unknown) no feasible node better by more than the mix can move a score.
 */
export class MatchingRerun {
  readonly figures: RerunFigures = {
    events: 0,
    matches: 0,
    rerunIdentical: 0,
    rerunUnverifiable: {},
    pricesChecked: 0,
    nodesChecked: 0,
    bestNodeChecked: 0,
    refused: 0,
    mixesLoaded: 0,
    configs: 0,
    foldedEarly: 0,
  };
  private state: EngineState | null = null;
  private configHash = '';
  private readonly configsSeen = new Set<string>();
  private deferred: Stored[] = [];
  private readonly blocked = new Map<string, number>();
  /** queued jobs as the engine took them */
  private readonly jobs = new Map<string, JobSpec>();
  private round: Round | null = null;
  /** demand mixes receipts carried, by digest (the most recent MIXES_KEPT_MAX) */
  private readonly mixes = new Map<string, SerializedMix>();

  constructor(private readonly report: (d: Difference) => void) {}

  /** One event of the log, in log order. */
  accept(seq: number, subject: string, event: TradeEvent): void {
    this.figures.events += 1;
    if (!FOLLOWED.has(AGGREGATE_OF[event.type])) return;
    const stored: Stored = { seq, subject, event, atMs: Date.parse(event.occurredAt) };
    switch (event.type) {
      case 'JobMatched':
        this.matched(stored, event.data);
        return;
      case 'PriceChanged':
      case 'SurgeStarted':
      case 'SurgeEnded':
        // the deciding engine moved this price (or started or ended this surge) at a reprice tick, at
        // the end of a round: it held it before the event came back
        this.fold(stored);
        return;
      case 'JobWaiting': {
        const hold = event.data.hold;
        if (hold) {
          if (this.round && hold.sinceMs === this.round.atMs) this.round.holdPlaced = true;
          // the engine held the node from that round on; the job it holds was queued by then
          this.foldBefore(hold.sinceMs);
        }
        this.fold(stored);
        return;
      }
      default:
        this.deferred.push(stored);
        if (this.deferred.length > DEFERRED_EVENTS_MAX) {
          this.figures.foldedEarly += 1;
          this.fold(this.deferred.shift()!);
        }
    }
  }

  /** A message of the log that does not decode: the service parks it, and the rest of its aggregate waits behind it. */
  undecodable(seq: number, subject: string): void {
    this.figures.events += 1;
    this.figures.refused += 1;
    const key = parkingKeyOf(subject);
    if (!this.blocked.has(key)) this.blocked.set(key, seq);
  }

  /** The log has been read: the last round's verdicts are settled. */
  finish(): void {
    this.endRound();
    // what came after the last match: folded for the figures (what the engine refused)
    this.foldWhere(() => true);
  }

  // ------------------------------------------------------------------ folding

  private engineState(): EngineState {
    if (!this.state) this.useConfig(DEFAULT_ENGINE_CONFIG);
    return this.state!;
  }

  /**
   * The engine decides with `config` from here on. A change keeps the state (as the service does
   * when it restores its snapshot under a new configuration).
   */
  private useConfig(config: EngineConfig): void {
    const hash = engineConfigHash(config);
    if (this.state && hash === this.configHash) return;
    if (!this.state) {
      // the service's state, with its fold; its engine is replaced by one with the recorded configuration
      const serviceSettings: Pick<MatchingConfig, 'MATCHING_HOLD_AFTER_MS' | 'MATCHING_MAX_HOLDS' | 'MATCHING_PARTITIONS' | SurgeSetting> = {
        MATCHING_HOLD_AFTER_MS: config.queue.holdAfterMs,
        MATCHING_MAX_HOLDS: config.queue.maxHolds,
        MATCHING_PARTITIONS: 0,
        ...surgeSettingsOf(config),
      };
      this.state = new EngineState(serviceSettings as MatchingConfig);
      this.state.engine = new MatchingEngine(config);
    } else {
      this.state.engine = MatchingEngine.restore(this.state.engine.snapshot(), config);
    }
    this.configHash = hash;
  }

  /** One event into the engine with the service's fold; one the engine refuses is set aside with the rest of its aggregate, as the service parks them. */
  private fold(s: Stored): void {
    const key = parkingKeyOf(s.subject);
    if (this.blocked.has(key)) return;
    const state = this.engineState();
    try {
      state.apply(s.event);
    } catch {
      this.blocked.set(key, s.seq);
      this.figures.refused += 1;
      return;
    }
    const e = s.event;
    if (e.type === 'JobSubmitted') this.jobs.set(e.data.jobId, jobSpecOf(e.data, e.occurredAt));
    // queued again after a failed attempt: as the engine took it (its escrow as budget, its failed nodes excluded)
    else if (e.type === 'JobRequeued') this.jobs.set(e.data.jobId, requeuedJobSpecOf(e.data, e.occurredAt));
    else if (e.type === 'JobCancelled' || e.type === 'JobFailed') this.jobs.delete(e.data.jobId);
  }

  /** Folds the deferred events the predicate selects, in log order; the others keep waiting. */
  private foldWhere(take: (s: Stored) => boolean): void {
    if (this.deferred.length === 0) return;
    const keep: Stored[] = [];
    for (const s of this.deferred) {
      if (take(s)) this.fold(s);
      else keep.push(s);
    }
    this.deferred = keep;
  }

  /**
   * Before a hold the deciding engine placed at `atMs`: the current round's state if that is its
   * round, else every deferred event stamped before `atMs` (an engine folds only events stamped at
   * or before its round's time; one stamped earlier that it had not read yet is the approximation:
   * the job holding must be queued for the hold to be replayed).
   */
  private foldBefore(atMs: number): void {
    const r = this.round;
    if (r && r.atMs === atMs) return;
    this.foldWhere((s) => s.atMs < atMs);
  }

  /**
   * The demand mix the receipt was scored with: the engine's, or one a receipt carried (the
   * service logs a mix once per change). False when neither: the mix is not on the log.
   */
  private useMix(subject: string, seq: number, mix: Receipt['mix']): boolean {
    const engine = this.engineState().engine;
    if (!mix || typeof mix.digest !== 'string') return false;
    if (mix.applied !== undefined) {
      this.mixes.delete(mix.digest);
      this.mixes.set(mix.digest, mix.applied as SerializedMix);
      if (this.mixes.size > MIXES_KEPT_MAX) this.mixes.delete(this.mixes.keys().next().value as string);
    }
    const appliedAtMs = typeof mix.appliedAtMs === 'number' ? mix.appliedAtMs : null;
    const current = engine.demandMixApplied();
    if (mix.digest === current.digest) {
      // the same mix, applied again by a later tick (only its time is new)
      if (current.appliedAtMs !== appliedAtMs) engine.replayDemandMix(current.applied, appliedAtMs);
      return true;
    }
    const applied = this.mixes.get(mix.digest);
    if (!applied) return false;
    engine.replayDemandMix(applied, appliedAtMs);
    this.figures.mixesLoaded += 1;
    if (engine.demandMixApplied().digest === mix.digest) return true;
    this.report({ subject, message: `JobMatched #${seq}: the demand mix its receipt carries does not hash to the digest it records`, expected: mix.digest, actual: engine.demandMixApplied().digest });
    return false;
  }

  // ------------------------------------------------------------------ matches

  private matched(s: Stored, d: EventData<'JobMatched'>): void {
    this.figures.matches += 1;
    const receipt = d.receipt as Receipt;
    const atMs = typeof receipt.atMs === 'number' ? receipt.atMs : s.atMs;
    const key = `${atMs}/${d.decidedAfterSeq ?? '?'}/${d.lease?.partition ?? ''}`;
    if (this.round?.key !== key) {
      this.endRound();
      this.round = { key, atMs, decidedAfterSeq: d.decidedAfterSeq, rerouted: false, holdPlaced: false, pending: [] };
    }
    const round = this.round!;
    if (receipt.rerouted !== undefined) round.rerouted = true;
    const subject = `job ${d.jobId}`;
    const recorded = { seq: s.seq, nodeId: d.nodeId, gpuCount: d.gpuCount, priceWeiPerHour: d.priceWeiPerHour, costWei: d.costWei, receipt };

    if (d.engineVersion !== ENGINE_VERSION || receipt.engineVersion !== d.engineVersion) {
      this.report({ subject, message: `JobMatched #${s.seq} was decided by engine ${String(d.engineVersion)} (receipt: ${String(receipt.engineVersion)}); this tool re-runs ${ENGINE_VERSION} only`, actual: recorded });
      this.book(d, atMs);
      return;
    }
    const unverifiable: Unverifiable[] = [];
    const config = this.configOf(subject, s.seq, receipt, unverifiable);
    this.configsSeen.add(engineConfigHash(config));
    this.figures.configs = this.configsSeen.size;
    this.useConfig(config);
    if (d.decidedAfterSeq === undefined) unverifiable.push('state-unrecorded');
    if (d.lease) unverifiable.push('leased');
    // the state it was decided on: the log to decidedAfterSeq (else everything before it), and the
    // demand mix it scored with
    const through = d.decidedAfterSeq ?? s.seq - 1;
    this.foldWhere((e) => e.seq <= through);
    const engine = this.engineState().engine;
    if (!this.useMix(subject, s.seq, receipt.mix)) unverifiable.push('mix-differs');

    this.consistent(subject, s.seq, d, receipt);
    const job = this.jobs.get(d.jobId);
    if (!job || !engine.isQueued(d.jobId)) {
      this.report({ subject, message: `JobMatched #${s.seq} matches a job that was not queued on the log's state (never submitted, refused, matched, cancelled or failed before)`, actual: recorded });
      this.book(d, atMs);
      return;
    }
    this.checkPrice(subject, s.seq, d, receipt, job, atMs);
    const nodeChecked = this.checkNode(subject, s.seq, d, job);

    // the job routes with the node it holds back in the supply, as matchPending routes a holder
    if (engine.holdCount() > 0) engine.matchPending(atMs, 0); // re-estimates held nodes' windows at atMs, matches nothing
    const held = engine.holdOf(d.jobId);
    if (held) engine.recordWaiting({ jobId: d.jobId, reason: engine.waitingReason(d.jobId) ?? '' });
    const routed = engine.route(job, atMs);
    if ('match' in routed) {
      const m = routed.match;
      const rerun = { nodeId: m.nodeId, gpuCount: m.gpuCount, priceWeiPerHour: m.quote.priceWeiPerHour, costWei: m.quote.costWei, receipt: { ...m.receipt, ...(held ? { hold: { nodeId: held.nodeId, sinceMs: held.sinceMs } } : {}) } };
      const same =
        m.nodeId === d.nodeId &&
        m.gpuCount === d.gpuCount &&
        m.quote.priceWeiPerHour === d.priceWeiPerHour &&
        m.quote.costWei === d.costWei &&
        canonical(m.quote) === canonical(d.quote) &&
        canonical(decisionOf(rerun.receipt)) === canonical(decisionOf(receipt));
      if (same) this.figures.rerunIdentical += 1;
      else {
        const what = m.nodeId === d.nodeId && m.gpuCount === d.gpuCount && m.quote.costWei === d.costWei ? 'the same node and price with another receipt' : `node ${m.nodeId} (${m.gpuCount} GPUs) at ${m.quote.priceWeiPerHour} Wei/h, cost ${m.quote.costWei} Wei`;
        const bestNodeChecked = this.checkBest(subject, s.seq, d, job, atMs, unverifiable);
        this.pend(round, {
          difference: { subject, message: `JobMatched #${s.seq} puts it on node ${d.nodeId} (${d.gpuCount} GPUs) at ${d.priceWeiPerHour} Wei/h, cost ${d.costWei} Wei; the engine re-run on the log's state gives ${what}`, expected: rerun, actual: recorded },
          unverifiable,
          approximate: { nodeChecked, bestNodeChecked },
        });
      }
    } else {
      this.pend(round, {
        difference: { subject, message: `JobMatched #${s.seq} puts it on node ${d.nodeId}; the engine re-run on the log's state leaves it waiting: ${routed.waiting}`, expected: { waiting: routed.waiting }, actual: recorded },
        unverifiable,
        approximate: { nodeChecked, bestNodeChecked: false },
      });
    }
    this.book(d, atMs);
  }

  /** The configuration the receipt records, rebuilt over this version's defaults (a difference when its hash does not match). */
  private configOf(subject: string, seq: number, receipt: Receipt, unverifiable: Unverifiable[]): EngineConfig {
    const c = receipt.config;
    if (!c || typeof c.hash !== 'string' || c.delta === null || typeof c.delta !== 'object') {
      unverifiable.push('config-unrecorded');
      return this.state ? this.state.engine.config : DEFAULT_ENGINE_CONFIG;
    }
    const config = engineConfigFromDelta(c.delta as Record<string, unknown>);
    const hash = engineConfigHash(config);
    if (hash !== c.hash) {
      unverifiable.push('config-unrecorded');
      this.report({ subject, message: `JobMatched #${seq}: the configuration its receipt records (${c.hash}) is not the one its delta makes of ${ENGINE_VERSION}'s defaults here (${hash}): the engine's defaults changed without a new version`, expected: c.hash, actual: hash });
    }
    return config;
  }

  /** The event says what its receipt says (node, GPUs, price, job, quote). */
  private consistent(subject: string, seq: number, d: EventData<'JobMatched'>, receipt: Receipt): void {
    const p = receipt.price ?? {};
    const q = d.quote;
    const pairs: [string, unknown, unknown][] = [
      ['receipt.jobId', receipt.jobId, d.jobId],
      ['receipt.winner.nodeId', receipt.winner?.nodeId, d.nodeId],
      ['receipt.price.gpuCount', p.gpuCount, d.gpuCount],
      ['receipt.price.priceWeiPerHour', p.priceWeiPerHour, d.priceWeiPerHour.toString()],
      ['receipt.price.costWei', p.costWei, d.costWei.toString()],
      ...(['gpuClass', 'region', 'tier', 'basePriceWeiPerGpuHour', 'tierMultiplierBps', 'utilizationMultiplierBps', 'priceWeiPerHour', 'runtimeSec', 'costWei'] as const).map(
        (k): [string, unknown, unknown] => [`quote.${k}`, q[k], p[k]],
      ),
    ];
    const off = pairs.filter(([, a, b]) => String(a) !== String(b));
    if (off.length > 0)
      this.report({ subject, message: `JobMatched #${seq} disagrees with its own receipt: ${off.map(([k, a, b]) => `${k} ${String(a)} vs ${String(b)}`).join('; ')}`, expected: Object.fromEntries(off.map(([k, , b]) => [k, b])), actual: Object.fromEntries(off.map(([k, a]) => [k, a])) });
  }

  /**
   * The price from the receipt's terms, through pricing.ts: the job's tier, the size the engine
   * gives it in that market, the market's multiplier as the log's price moves leave it, the
   * configuration's base price; and the cost within the budget.
   */
  private checkPrice(subject: string, seq: number, d: EventData<'JobMatched'>, receipt: Receipt, job: JobSpec, atMs: number): void {
    this.figures.pricesChecked += 1;
    const engine = this.engineState().engine;
    const config = engine.config;
    const p = receipt.price ?? {};
    const gpuClass = String(p.gpuClass);
    const region = String(p.region);
    const market = [...engine.allMarkets()].find((m) => m.gpuClass === gpuClass && m.region === region);
    const size = market ? sizeFor(job, market, atMs, config) : null;
    const state = engine.marketState(gpuClass, region);
    if (!market || !state || size === null || size === 'no-speed' || config.pricing.basePricesWeiPerGpuHour[gpuClass] === undefined) {
      this.report({ subject, message: `JobMatched #${seq} is priced in market ${gpuClass}/${region}, where the engine could not size or price this job at ${new Date(atMs).toISOString()} (no such market, no base price, or its deadline cannot be met)`, actual: receipt.price });
      return;
    }
    const expected = quoteOf(
      { gpuClass, region, tier: config.pricing.urgencyTier[job.urgency], gpuCount: size.gpuCount, runtimeSec: size.runtimeSec, utilizationMultiplierBps: state.multiplierBps },
      config.pricing,
    );
    const want = { ...JSON.parse(toJson(expected)), gpuCount: size.gpuCount, budgetWei: job.budgetWei.toString() } as Record<string, unknown>;
    const off = Object.keys(want).filter((k) => String(want[k]) !== String(p[k]));
    if (off.length > 0) this.report({ subject, message: `JobMatched #${seq}: its price terms are not what pricing gives on the log's state (${off.join(', ')})`, expected: want, actual: p });
    if (d.costWei > job.budgetWei) this.report({ subject, message: `JobMatched #${seq} costs ${d.costWei} Wei, over the job's budget ${job.budgetWei} Wei`, expected: `<= ${job.budgetWei}`, actual: d.costWei });
  }

  /** The node exists, is online, in the receipt's market, meets the job's requirements and has the GPUs free on the log's state. */
  private checkNode(subject: string, seq: number, d: EventData<'JobMatched'>, job: JobSpec): boolean {
    const node = this.engineState().engine.getNode(d.nodeId);
    const p = ((d.receipt as Receipt).price ?? {}) as Record<string, unknown>;
    const why = !node
      ? 'is not registered'
      : !node.online
        ? 'is offline'
        : node.gpuModel !== p.gpuClass || node.region !== p.region
          ? `is a ${node.gpuModel} in ${node.region}, not in the receipt's market`
          : !meetsNodeRequirements(node, job) || (job.requirements.gpuModels.length > 0 && !job.requirements.gpuModels.includes(node.gpuModel)) || (job.requirements.regions.length > 0 && !job.requirements.regions.includes(node.region))
            ? "does not meet the job's requirements"
            : node.freeGpus < d.gpuCount
              ? `has ${node.freeGpus} GPUs free, not ${d.gpuCount}`
              : null;
    if (why === null) {
      this.figures.nodesChecked += 1;
      return true;
    }
    this.report({ subject, message: `JobMatched #${seq} puts it on node ${d.nodeId}, which on the log's state ${why}`, actual: { nodeId: d.nodeId, gpuCount: d.gpuCount, node: node ?? null } });
    return false;
  }

  /**
   * Only the demand mix unknown: no feasible node may score better than the recorded one by more
   * than the mix can move two scores (packFit's weight each).
   */
  private checkBest(subject: string, seq: number, d: EventData<'JobMatched'>, job: JobSpec, atMs: number, unverifiable: Unverifiable[]): boolean {
    if (unverifiable.length !== 1 || unverifiable[0] !== 'mix-differs') return false;
    const engine = this.engineState().engine;
    const candidates = engine.candidates(job, atMs);
    const mine = candidates.find((c) => c.nodeId === d.nodeId && c.gpuCount === d.gpuCount);
    const best = candidates[0];
    this.figures.bestNodeChecked += 1;
    const slack = 2 * engine.config.weights.packFit;
    if (mine && best && best.score.total - mine.score.total <= slack) return true;
    this.report({
      subject,
      message: `JobMatched #${seq} puts it on node ${d.nodeId}, but node ${best?.nodeId ?? '?'} scores ${best ? (best.score.total - (mine?.score.total ?? 0)).toFixed(6) : '?'} more on the log's state, beyond what the demand mix can explain (${slack})`,
      expected: best ?? null,
      actual: mine ?? { nodeId: d.nodeId, feasible: false },
    });
    return true;
  }

  private pend(round: Round, p: PendingDifference): void {
    if (round.pending.length < ROUND_PENDING_MAX) round.pending.push(p);
    else this.report(p.difference);
  }

  /** The match as the deciding engine booked it (at its decision time, with the quoted runtime). */
  private book(d: EventData<'JobMatched'>, atMs: number): void {
    const engine = this.engineState().engine;
    engine.recordMatch({ jobId: d.jobId, nodeId: d.nodeId, gpuCount: d.gpuCount, atMs, runtimeSec: quotedRuntimeSec(d.quote) });
    this.jobs.delete(d.jobId);
  }

  /** A round's re-runs that differed: differences, unless the log does not hold the state they were decided on. */
  private endRound(): void {
    const r = this.round;
    if (!r) return;
    this.round = null;
    for (const p of r.pending) {
      const reasons = [...p.unverifiable, ...(r.rerouted ? (['rerouted-round'] as const) : []), ...(r.holdPlaced ? (['hold-in-round'] as const) : [])];
      if (reasons.length === 0) {
        this.report(p.difference);
        continue;
      }
      const reason = reasons[0]!;
      this.figures.rerunUnverifiable[reason] = (this.figures.rerunUnverifiable[reason] ?? 0) + 1;
    }
  }
}
