import { AGGREGATE_OF, EXAMPLE_EVENT_DATA, makeEvent, subjectFor, toJson, type EventData, type EventType, type TradeEvent } from '@starminer/events';
import { DEFAULT_ENGINE_CONFIG, ENGINE_VERSION, MatchingEngine, type EngineConfig } from '@starminer/matching';
import { EngineState } from '../../../apps/matching/src/engine/engine-state';
import { surgeSettingsOf, type MatchingConfig } from '../../../apps/matching/src/matching.config';
import type { Difference } from '../shared/outcome';
import { MatchingRerun, type RerunFigures } from './rerun';

const AGPU = 10n ** 18n;
const T0 = Date.parse('2026-11-28T10:00:00.000Z');

interface Stored {
  seq: number;
  subject: string;
  event: TradeEvent;
}

const aggregateIdOf = (type: EventType, data: Record<string, unknown>): string =>
  String(AGGREGATE_OF[type] === 'market' ? data.gpuClass : AGGREGATE_OF[type] === 'node' ? data.nodeId : data.jobId);

/**
 * A log and a matching service over it, as apps/matching runs: the service's fold (EngineState)
 * follows the log when told to, and a round decides on what it has folded, appends its matches
 * (with the sequence it decided after), its waiting reports and its price moves, as MatchRound does.
 */
class Market {
  readonly log: Stored[] = [];
  private readonly live: EngineState;
  private folded = 0;
  private loggedMixDigest?: string;

  constructor(config: EngineConfig = DEFAULT_ENGINE_CONFIG) {
    this.live = new EngineState({ MATCHING_HOLD_AFTER_MS: config.queue.holdAfterMs, MATCHING_MAX_HOLDS: config.queue.maxHolds, MATCHING_PARTITIONS: 0, ...surgeSettingsOf(config) } as MatchingConfig);
    this.live.engine = new MatchingEngine(config);
  }

  append<T extends EventType>(type: T, data: EventData<T>, atMs: number): Stored {
    const aggregateId = aggregateIdOf(type, data as Record<string, unknown>);
    const event = makeEvent(type, data, { id: `e${this.log.length + 1}`, aggregateId, occurredAt: new Date(atMs).toISOString(), correlationId: aggregateId, causationId: aggregateId, actor: 'spec' }) as TradeEvent;
    const stored = { seq: this.log.length + 1, subject: subjectFor(AGGREGATE_OF[type], aggregateId), event };
    this.log.push(stored);
    return stored;
  }

  node(nodeId: string, atMs: number, over: Partial<EventData<'NodeRegistered'>> = {}): void {
    this.append('NodeRegistered', { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId, gpuModel: 'L40S', gpuCount: 4, vramGiB: 48, region: 'eu-central', poolId: undefined, ...over }, atMs);
    this.append('NodeAvailabilityChanged', { nodeId, online: true, reason: 'registered' }, atMs);
  }

  job(jobId: string, atMs: number, requirements: Partial<EventData<'JobSubmitted'>['requirements']> = {}): void {
    const base = EXAMPLE_EVENT_DATA.JobSubmitted;
    this.append('JobSubmitted', { ...base, jobId, budgetWei: 20n * AGPU, requirements: { ...base.requirements, gpuModels: ['L40S'], regions: [], maxLatencyMs: undefined, minVramGiB: 0, ...requirements } }, atMs);
  }

  /** The service folds everything appended so far. */
  follow(): void {
    for (const s of this.log.slice(this.folded)) {
      try {
        this.live.apply(s.event);
      } catch {
        // refused: the service parks it
      }
    }
    this.folded = this.log.length;
  }

  /** One round at `nowMs`, on what the service has folded. */
  round(nowMs: number): void {
    const engine = this.live.engine;
    const decidedAfterSeq = this.folded;
    for (const m of engine.matchPending(nowMs, 256)) {
      this.live.ownMatches.add(m.jobId);
      const node = this.live.nodes.get(m.nodeId)!;
      const receipt = JSON.parse(toJson(m.receipt)) as { mix: { digest: string; applied?: unknown } };
      if (receipt.mix.digest === this.loggedMixDigest) delete receipt.mix.applied; // logged once per change, as MatchRound does
      this.loggedMixDigest = receipt.mix.digest;
      this.append(
        'JobMatched',
        {
          jobId: m.jobId,
          nodeId: m.nodeId,
          nodeAddress: node.nodeAddress,
          gpuCount: m.gpuCount,
          priceWeiPerHour: m.quote.priceWeiPerHour,
          costWei: m.quote.costWei,
          quote: JSON.parse(toJson(m.quote)),
          receipt,
          engineVersion: m.receipt.engineVersion,
          decidedAfterSeq,
        },
        nowMs + 5,
      );
    }
    for (const jobId of engine.takeChangedWaiting(64)) {
      const reason = engine.waitingReason(jobId)!;
      const hold = engine.holdOf(jobId);
      this.live.ownWaiting.set(jobId, [...(this.live.ownWaiting.get(jobId) ?? []), reason]);
      this.append('JobWaiting', { jobId, reason, ...(hold ? { hold: { nodeId: hold.nodeId, gpuCount: hold.gpuCount, sinceMs: hold.sinceMs } } : {}) }, nowMs + 6);
    }
    const tick = engine.marketTick(nowMs);
    for (const change of tick.priceChanges) this.append('PriceChanged', change, nowMs + 7);
    for (const { type, ...data } of tick.surgeChanges) this.append(type, data as never, nowMs + 8);
  }

  /** Folds, then a round (the follower's round after a batch). */
  settle(nowMs: number): void {
    this.follow();
    this.round(nowMs);
  }

  matched(jobId: string): Stored & { event: TradeEvent<'JobMatched'> } {
    return this.log.find((s) => s.event.type === 'JobMatched' && s.event.data.jobId === jobId) as Stored & { event: TradeEvent<'JobMatched'> };
  }
}

function audit(log: readonly Stored[]): { differences: Difference[]; figures: RerunFigures } {
  const differences: Difference[] = [];
  const rerun = new MatchingRerun((d) => differences.push(d));
  for (const s of log) rerun.accept(s.seq, s.subject, s.event);
  rerun.finish();
  return { differences, figures: rerun.figures };
}

/** A JobMatched changed in place (the tamper an auditor must catch). */
function tamper(s: Stored, change: (d: Record<string, unknown> & { receipt: Record<string, unknown> }) => void): void {
  const data = JSON.parse(JSON.stringify(s.event.data, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)), (_k, v: unknown) => (typeof v === 'string' && /^[0-9]+n$/.test(v) ? BigInt(v.slice(0, -1)) : v));
  change(data);
  (s.event as { data: unknown }).data = data;
}

/**
 * Two nodes, four jobs over three rounds a minute apart: prices move at each round's tick, and the
 * tick after job-3's round applies the demand mix job-4 is scored with.
 */
function tradedMarket(): Market {
  const m = new Market();
  m.node('node-a', T0, { reputation: 0.9 });
  m.node('node-b', T0, { gpuCount: 2, reputation: 0.4 });
  m.settle(T0 + 100);
  m.job('job-1', T0 + 1_000);
  m.job('job-2', T0 + 1_000, { gpuCount: 2 });
  m.settle(T0 + 1_100);
  m.job('job-3', T0 + 61_000);
  m.settle(T0 + 61_100);
  m.job('job-4', T0 + 62_000);
  m.settle(T0 + 62_100);
  return m;
}

describe('matching re-run: every JobMatched is what the engine gives on the state the log gives', () => {
  it('given matches decided over rounds with price moves, then each re-runs identically (node, GPUs, price, receipt)', () => {
    const m = tradedMarket();
    const { differences, figures } = audit(m.log);
    expect(differences).toEqual([]);
    expect(figures).toMatchObject({ matches: 4, rerunIdentical: 4, pricesChecked: 4, nodesChecked: 4, rerunUnverifiable: {}, refused: 0 });
  });

  it('given the round decided before a better node registered (appended before its matches), then the re-run decides without that node', () => {
    const m = new Market();
    m.node('node-a', T0, { reputation: 0.2 });
    m.job('job-1', T0 + 1_000);
    m.follow();
    m.node('node-late', T0 + 1_050, { reputation: 1 }); // on the log before the match, not in the state it was decided on
    m.round(T0 + 1_100);
    expect(m.matched('job-1').event.data.nodeId).toBe('node-a');
    const { differences, figures } = audit(m.log);
    expect(differences).toEqual([]);
    expect(figures.rerunIdentical).toBe(1);
  });

  it('given the same match without decidedAfterSeq (an older event), then the re-run differs but is counted unverifiable, not a difference, and the price is still checked', () => {
    const m = new Market();
    m.node('node-a', T0, { reputation: 0.2 });
    m.job('job-1', T0 + 1_000);
    m.follow();
    m.node('node-late', T0 + 1_050, { reputation: 1 });
    m.round(T0 + 1_100);
    tamper(m.matched('job-1'), (d) => delete d.decidedAfterSeq);
    const { differences, figures } = audit(m.log);
    expect(differences).toEqual([]);
    expect(figures).toMatchObject({ rerunIdentical: 0, rerunUnverifiable: { 'state-unrecorded': 1 }, pricesChecked: 1, nodesChecked: 1 });
  });

  it('given several matches of one round on one node, then each is re-run after the previous ones were booked', () => {
    const m = new Market();
    m.node('node-a', T0, { gpuCount: 2 });
    for (const id of ['job-1', 'job-2', 'job-3']) m.job(id, T0 + 1_000);
    m.settle(T0 + 1_100);
    expect(m.log.filter((s) => s.event.type === 'JobMatched')).toHaveLength(2);
    const { differences, figures } = audit(m.log);
    expect(differences).toEqual([]);
    expect(figures).toMatchObject({ matches: 2, rerunIdentical: 2 });
  });

  it('given a large job that holds a node while small ones run out, then its match (receipt.hold) and the others re-run identically', () => {
    const m = new Market();
    m.node('node-a', T0, { gpuCount: 4 });
    for (const id of ['job-1', 'job-2', 'job-3']) m.job(id, T0 + 1_000);
    m.settle(T0 + 1_100);
    m.job('job-big', T0 + 2_000, { gpuCount: 4 });
    m.settle(T0 + 2_100);
    expect(m.log.some((s) => s.event.type === 'JobWaiting' && s.event.data.jobId === 'job-big' && s.event.data.hold?.nodeId === 'node-a')).toBe(true);
    m.job('job-small', T0 + 3_000);
    m.settle(T0 + 3_100);
    for (const id of ['job-1', 'job-2', 'job-3']) m.append('ContractReleased', { ...EXAMPLE_EVENT_DATA.ContractReleased, jobId: id }, T0 + 70_000);
    m.settle(T0 + 70_100);
    expect(m.matched('job-big').event.data.receipt).toMatchObject({ hold: { nodeId: 'node-a' } });
    const { differences, figures } = audit(m.log);
    expect(differences).toEqual([]);
    expect(figures).toMatchObject({ matches: 4, rerunIdentical: 4 });
  });

  it('given a JobMatched whose price was raised (event and receipt), then a difference names the job and carries both receipts', () => {
    const m = tradedMarket();
    const s = m.matched('job-1');
    tamper(s, (d) => {
      d.priceWeiPerHour = (d.priceWeiPerHour as bigint) * 2n;
      (d.receipt.price as Record<string, unknown>).priceWeiPerHour = String(d.priceWeiPerHour);
      (d.quote as Record<string, unknown>).priceWeiPerHour = String(d.priceWeiPerHour);
    });
    const { differences } = audit(m.log);
    expect(differences.map((d) => d.subject)).toEqual(['job job-1', 'job job-1']);
    expect(differences[0]!.message).toContain('price terms are not what pricing gives');
    expect(differences[1]!.message).toMatch(/JobMatched #\d+ puts it on node node-a .* the engine re-run on the log's state gives the same node and price with another receipt|gives node/);
    const rerun = differences[1]!.expected as { receipt: { price: { priceWeiPerHour: string } } };
    const recorded = differences[1]!.actual as { receipt: { price: { priceWeiPerHour: string } } };
    expect(BigInt(recorded.receipt.price.priceWeiPerHour)).toBe(2n * BigInt(rerun.receipt.price.priceWeiPerHour));
  });

  it('given a JobMatched moved to the node the engine did not choose, then the difference names both nodes', () => {
    const m = tradedMarket();
    const s = m.matched('job-3');
    const chosen = s.event.data.nodeId;
    const other = chosen === 'node-a' ? 'node-b' : 'node-a';
    tamper(s, (d) => {
      d.nodeId = other;
      (d.receipt.winner as Record<string, unknown>).nodeId = other;
    });
    const { differences } = audit(m.log);
    // the first is the moved match; later matches were decided on the state the log does not give any more
    expect(differences[0]).toMatchObject({ subject: 'job job-3', expected: { nodeId: chosen }, actual: { nodeId: other } });
    expect(differences[0]!.message).toContain(`puts it on node ${other}`);
    expect(differences[0]!.message).toContain(`gives node ${chosen}`);
  });

  it('given a JobMatched for a job never submitted, then it is a difference: the job was not queued', () => {
    const m = tradedMarket();
    const copy = m.matched('job-1');
    m.append('JobMatched', { ...copy.event.data, jobId: 'job-ghost', receipt: { ...copy.event.data.receipt, jobId: 'job-ghost' } } as EventData<'JobMatched'>, T0 + 70_000);
    const { differences } = audit(m.log);
    expect(differences).toHaveLength(1);
    expect(differences[0]).toMatchObject({ subject: 'job job-ghost' });
    expect(differences[0]!.message).toContain('not queued');
  });

  it('given an engine version this tool does not know, then that match is a difference naming the version', () => {
    const m = tradedMarket();
    tamper(m.matched('job-2'), (d) => {
      d.engineVersion = 'starminer-matching/9.9.9';
      d.receipt.engineVersion = 'starminer-matching/9.9.9';
    });
    const { differences, figures } = audit(m.log);
    expect(differences).toHaveLength(1);
    expect(differences[0]!.message).toContain(`decided by engine starminer-matching/9.9.9`);
    expect(differences[0]!.message).toContain(`re-runs ${ENGINE_VERSION} only`);
    expect(figures.rerunIdentical).toBe(3);
  });

  it('given a configuration other than the defaults (holds off), then it is rebuilt from the receipt and the matches re-run identically', () => {
    const config = { ...DEFAULT_ENGINE_CONFIG, queue: { ...DEFAULT_ENGINE_CONFIG.queue, maxHolds: 0 } };
    const m = new Market(config);
    m.node('node-a', T0);
    m.job('job-1', T0 + 1_000);
    m.settle(T0 + 1_100);
    expect(m.matched('job-1').event.data.receipt).toMatchObject({ config: { delta: { queue: { maxHolds: 0 } } } });
    const { differences, figures } = audit(m.log);
    expect(differences).toEqual([]);
    expect(figures).toMatchObject({ rerunIdentical: 1, configs: 1 });
  });

  it('given a surge decided at a tick (SurgeStarted on the log), then the matches routed in it (staked node first) re-run identically', () => {
    const config = { ...DEFAULT_ENGINE_CONFIG, surge: { ...DEFAULT_ENGINE_CONFIG.surge, startQueueDepth: 2, endQueueDepth: 1 } };
    const m = new Market(config);
    m.node('node-a', T0, { gpuCount: 1, reputation: 0.9 });
    m.node('node-s', T0, { gpuCount: 1, reputation: 0.3, poolId: 'pool-1', stakeWei: AGPU });
    m.settle(T0 + 100);
    for (const id of ['job-1', 'job-2', 'job-3', 'job-4']) m.job(id, T0 + 1_000);
    m.settle(T0 + 1_100); // calm: job-1 on the better node; job-3 and job-4 wait
    m.settle(T0 + 60_100); // the tick sees 2 queued: SurgeStarted
    expect(m.log.filter((x) => x.event.type === 'SurgeStarted')).toHaveLength(1);
    for (const id of ['job-1', 'job-2']) m.append('JobFailed', { jobId: id, code: 'TEST', reason: 'ended' }, T0 + 61_000);
    m.settle(T0 + 61_100);
    expect(m.matched('job-1').event.data.nodeId).toBe('node-a');
    expect(m.matched('job-3').event.data).toMatchObject({ nodeId: 'node-s', receipt: { surge: true, surgePreference: { winnerStaked: true } } });
    const { differences, figures } = audit(m.log);
    expect(differences).toEqual([]);
    expect(figures).toMatchObject({ matches: 4, rerunIdentical: 4 });
  });

  it("given a receipt whose configuration hash is not its delta's, then a difference says the defaults changed without a new version", () => {
    const m = tradedMarket();
    tamper(m.matched('job-1'), (d) => {
      (d.receipt.config as Record<string, unknown>).hash = `sha256:${'0'.repeat(64)}`;
    });
    const { differences } = audit(m.log);
    expect(differences.map((d) => d.message).join('\n')).toContain('changed without a new version');
  });

  it('given receipts that carry the demand mix once per change, then the re-run scores with the mix each names', () => {
    const m = tradedMarket();
    const mixes = m.log.filter((s) => s.event.type === 'JobMatched').map((s) => (s.event.data as EventData<'JobMatched'>).receipt.mix as { applied?: unknown });
    // job-4 was the first scored after a reprice tick applied a mix with the jobs seen so far
    expect(mixes.map((x) => x.applied !== undefined)).toEqual([true, false, false, true]);
    const { differences, figures } = audit(m.log);
    expect(differences).toEqual([]);
    expect(figures).toMatchObject({ rerunIdentical: 4, mixesLoaded: 1 });
  });

  it('given a receipt whose demand mix is not what its digest says, then it is a difference', () => {
    const m = tradedMarket();
    tamper(m.matched('job-4'), (d) => {
      (d.receipt.mix as { applied: { total: number } }).applied.total += 1;
    });
    const { differences } = audit(m.log);
    expect(differences.map((d) => d.message)).toContainEqual(expect.stringContaining('does not hash to the digest it records'));
  });

  it('given a receipt scored with a demand mix the log does not hold, then the re-run counts it unverifiable and checks that no node scored better beyond the mix', () => {
    const m = tradedMarket();
    tamper(m.matched('job-4'), (d) => {
      const mix = d.receipt.mix as Record<string, unknown>;
      mix.digest = `sha256:${'1'.repeat(64)}`;
      delete mix.applied;
    });
    const { differences, figures } = audit(m.log);
    expect(differences).toEqual([]);
    expect(figures).toMatchObject({ rerunIdentical: 3, rerunUnverifiable: { 'mix-differs': 1 }, bestNodeChecked: 1 });
  });

  it('given a job the engine refuses (the service parks it), then later events of that job are set aside too and counted', () => {
    const m = tradedMarket();
    m.job('job-bad', T0 + 63_000, { gpuCount: -1 } as never);
    m.append('JobCancelled', { jobId: 'job-bad', reason: 'cancelled by requester' }, T0 + 63_100);
    m.job('job-5', T0 + 63_200);
    m.settle(T0 + 63_300);
    const { differences, figures } = audit(m.log);
    expect(differences).toEqual([]);
    expect(figures).toMatchObject({ refused: 1, matches: 5, rerunIdentical: 5 });
  });
});
