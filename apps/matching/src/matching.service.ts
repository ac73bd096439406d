import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { uuidv7 } from 'uuidv7';
import { decodeEvent, EVENT_SCHEMAS, makeEvent, toJson, type EventData, type TradeEvent } from '@starminer/events';
import { DomainError, jobDecider } from '@starminer/domain';
import { MatchingEngine, type EngineConfig, type EngineSnapshot, type Match } from '@starminer/matching';
import { ServiceRuntime, Ticker } from '@starminer/service-kit';
import { follow } from './follow';
import { engineConfigOf, MATCHING_CONFIG, type MatchingConfig } from './matching.config';
import { EngineSnapshotRow } from './snapshot.entity';
import { jobSpecOf, nodeSpecOf } from './to-engine';

/** A snapshot is taken after this many applied events, or this long after the last one with changes. */
export const SNAPSHOT_EVERY_EVENTS = 5_000;
export const SNAPSHOT_INTERVAL_MS = 30_000;

interface ServiceSnapshot {
  readonly engine: EngineSnapshot;
  /** NodeRegistered data in wire form (bigints as strings), for reputation updates. */
  readonly nodes: unknown[];
  readonly online: [string, boolean][];
  readonly waitingReasons: [string, string][];
  readonly lastEventMs: number;
}

/** Most matches one round appends; the rest wait for the next round. */
export const MATCHES_PER_ROUND_MAX = 256;
/** Rounds also run on a timer, for aging and repricing when no event arrives. */
export const ROUND_INTERVAL_MS = 1_000;

/**
 * The matching service: the engine's state lives in memory, rebuilt from the log at start
 * (nodes, jobs, matches, outcomes, prices in log order). It decides matches only once it has
 * caught up, and appends each as `JobMatched` through the job decider.
 */
@Injectable()
export class MatchingService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('matching');
  private readonly engineConfig: EngineConfig;
  private engine: MatchingEngine;
  private readonly nodes = new Map<string, EventData<'NodeRegistered'>>();
  private readonly online = new Map<string, boolean>();
  /** Jobs this instance matched and appended, whose JobMatched has not come back yet. */
  private readonly ownMatches = new Set<string>();
  /** Waiting reasons this instance appended, in order, whose JobWaiting has not come back yet. */
  private readonly ownWaiting = new Map<string, string[]>();
  private readonly waitingReasons = new Map<string, string>();
  private lastEventMs = 0;
  private caughtUp = false;
  private lastSeq = 0;
  private eventsSinceSnapshot = 0;
  private readonly snapshots = new Ticker('matching-snapshot', SNAPSHOT_INTERVAL_MS, () => this.takeSnapshot());
  private follower?: { stop(): Promise<void> };
  private readonly rounds = new Ticker('matching-round', ROUND_INTERVAL_MS, () => this.scheduleRound(Date.now()));
  private roundQueued: Promise<void> = Promise.resolve();

  constructor(
    private readonly rt: ServiceRuntime,
    @Inject(MATCHING_CONFIG) config: MatchingConfig,
  ) {
    this.engineConfig = engineConfigOf(config);
    this.engine = new MatchingEngine(this.engineConfig);
  }

  async onApplicationBootstrap(): Promise<void> {
    const filters = this.rt.filterOf(['node', 'job', 'contract', 'market']);
    await this.restoreSnapshot();
    if ((await this.rt.tradeLog.lastSeq()) <= this.lastSeq) this.markCaughtUp();
    this.follower = await follow(this.rt.tradeLog, {
      filterSubjects: filters,
      fromSeq: this.lastSeq + 1,
      decode: decodeEvent,
      handler: async (batch, caughtUp) => {
        for (const stored of batch) {
          this.lastSeq = stored.seq;
          this.eventsSinceSnapshot += 1;
          try {
            this.apply(stored.event as TradeEvent);
          } catch (err) {
            // An event the engine refuses (e.g. a malformed job) must not stop the market: it is
            // reported and skipped; the job stays visible as queued with no match.
            this.logger.error(`event ${stored.seq} (${stored.event.type}) refused by the engine: ${(err as Error).message}`);
          }
        }
        if (caughtUp && !this.caughtUp) this.markCaughtUp();
        if (this.caughtUp) await this.scheduleRound(this.lastEventMs);
        if (this.eventsSinceSnapshot >= SNAPSHOT_EVERY_EVENTS) await this.takeSnapshot();
      },
    });
    this.snapshots.start();
    this.rounds.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.rounds.stop();
    this.snapshots.stop();
    await this.follower?.stop();
    await this.roundQueued;
    await this.takeSnapshot().catch((err: Error) => this.logger.warn(`final snapshot failed: ${err.message}`));
    await this.rt.close();
  }

  /** Saves the engine with the sequence it reflects (only between rounds, so nothing is half done). */
  async takeSnapshot(): Promise<void> {
    if (this.eventsSinceSnapshot === 0 || !this.caughtUp) return;
    const taken = this.roundQueued.then(async () => {
      const body: ServiceSnapshot = {
        engine: this.engine.snapshot(),
        nodes: [...this.nodes.values()].map((n) => JSON.parse(toJson(n))),
        online: [...this.online.entries()],
        waitingReasons: [...this.waitingReasons.entries()],
        lastEventMs: this.lastEventMs,
      };
      const seq = this.lastSeq;
      await this.rt.db
        .getRepository(EngineSnapshotRow)
        .upsert({ engineVersion: this.engineConfig.engineVersion, lastSeq: String(seq), body: JSON.parse(toJson(body)), takenAt: new Date() }, ['engineVersion']);
      this.eventsSinceSnapshot = 0;
      this.logger.log(`snapshot at seq ${seq}`);
    });
    this.roundQueued = taken.catch((err: Error) => this.logger.warn(`snapshot failed: ${err.message}`));
    await taken;
  }

  private async restoreSnapshot(): Promise<void> {
    const row = await this.rt.db.getRepository(EngineSnapshotRow).findOne({ where: { engineVersion: this.engineConfig.engineVersion } });
    if (!row) return;
    const body = row.body as ServiceSnapshot;
    this.engine = MatchingEngine.restore(body.engine, this.engineConfig);
    for (const wire of body.nodes) {
      const node = EVENT_SCHEMAS.NodeRegistered.parse(wire);
      this.nodes.set(node.nodeId, node);
    }
    for (const [id, on] of body.online) this.online.set(id, on);
    for (const [id, reason] of body.waitingReasons) this.waitingReasons.set(id, reason);
    this.lastEventMs = body.lastEventMs;
    this.lastSeq = Number(row.lastSeq);
    this.logger.log(`restored the engine from the snapshot at seq ${row.lastSeq}`);
  }

  private markCaughtUp(): void {
    this.caughtUp = true;
    this.logger.log(`caught up with the log: ${this.nodes.size} nodes, queues ${JSON.stringify(this.engine.queueDepths())}`);
  }

  private apply(e: TradeEvent): void {
    this.lastEventMs = Math.max(this.lastEventMs, Date.parse(e.occurredAt));
    const at = Date.parse(e.occurredAt);
    switch (e.type) {
      case 'NodeRegistered':
        this.nodes.set(e.data.nodeId, e.data);
        this.engine.upsertNode(nodeSpecOf(e.data, this.online.get(e.data.nodeId) ?? false), at);
        return;
      case 'NodeAvailabilityChanged':
        this.online.set(e.data.nodeId, e.data.online);
        if (this.nodes.has(e.data.nodeId)) this.engine.setNodeOnline(e.data.nodeId, e.data.online, at);
        return;
      case 'NodeReputationChanged': {
        const node = this.nodes.get(e.data.nodeId);
        if (!node) return;
        const updated = { ...node, reputation: e.data.reputation };
        this.nodes.set(e.data.nodeId, updated);
        this.engine.upsertNode(nodeSpecOf(updated, this.online.get(e.data.nodeId) ?? false), at);
        return;
      }
      case 'NodeStakeChanged': {
        const node = this.nodes.get(e.data.nodeId);
        if (!node) return;
        const updated = { ...node, poolId: e.data.poolId, stakeWei: e.data.stakeWei };
        this.nodes.set(e.data.nodeId, updated);
        this.engine.upsertNode(nodeSpecOf(updated, this.online.get(e.data.nodeId) ?? false), at);
        return;
      }
      case 'JobSubmitted':
        this.engine.submitJob(jobSpecOf(e.data, e.occurredAt));
        return;
      case 'JobWaiting':
        // this instance's own report coming back (they come back in the order appended): its engine
        // already was in that state
        if (this.ownWaiting.get(e.data.jobId)?.[0] === e.data.reason) {
          this.forgetOwnWaiting(e.data.jobId, 'first');
          return;
        }
        // replay, or another instance's decision: the reason and the node held (if any)
        this.waitingReasons.set(e.data.jobId, e.data.reason);
        this.engine.recordWaiting(e.data);
        return;
      case 'JobMatched':
        if (this.ownMatches.delete(e.data.jobId)) return; // reserved when this instance decided it
        this.engine.recordMatch({ jobId: e.data.jobId, nodeId: e.data.nodeId, gpuCount: e.data.gpuCount, atMs: at });
        return;
      case 'JobCancelled':
      case 'JobFailed':
        this.engine.cancelJob(e.data.jobId);
        this.engine.release(e.data.jobId, at);
        this.waitingReasons.delete(e.data.jobId);
        return;
      case 'ContractOpenFailed':
      case 'ContractReleased':
      case 'ContractRefunded':
        this.engine.release(e.data.jobId, at);
        return;
      case 'PriceChanged':
        this.engine.applyPriceChange(e.data);
        return;
      default:
        return;
    }
  }

  private scheduleRound(atMs: number): Promise<void> {
    this.roundQueued = this.roundQueued.then(() => this.round(atMs)).catch((err: Error) => this.logger.warn(`round failed: ${err.message}`));
    return this.roundQueued;
  }

  /** One matching round: match what can be matched, say why the rest waits, move prices. */
  private async round(atMs: number): Promise<void> {
    if (!this.caughtUp) return;
    const now = Math.max(atMs, this.lastEventMs);
    const matches = this.engine.matchPending(now, MATCHES_PER_ROUND_MAX);
    for (const m of matches) await this.appendMatch(m);
    await this.reportWaiting();
    for (const change of this.engine.repriceTick(now)) {
      const event = makeEvent('PriceChanged', change, {
        id: uuidv7(),
        aggregateId: change.gpuClass,
        occurredAt: new Date(now).toISOString(),
        correlationId: change.gpuClass,
        causationId: 'reprice',
        actor: 'service:matching',
      });
      await this.rt.tradeLog.append(this.rt.subject('market', change.gpuClass), [event], { expectedLastSubjectSeq: 'any' });
    }
  }

  private async appendMatch(m: Match): Promise<void> {
    const node = this.nodes.get(m.nodeId);
    if (!node) throw new Error(`engine matched unknown node ${m.nodeId}`);
    this.ownMatches.add(m.jobId);
    try {
      await this.rt.execute(
        'job',
        m.jobId,
        jobDecider,
        {
          type: 'RecordMatch',
          match: {
            nodeId: m.nodeId,
            nodeAddress: node.nodeAddress,
            gpuCount: m.gpuCount,
            priceWeiPerHour: m.quote.priceWeiPerHour,
            costWei: m.quote.costWei,
            quote: JSON.parse(toJson(m.quote)),
            receipt: JSON.parse(toJson(m.receipt)),
            engineVersion: m.receipt.engineVersion,
          },
        },
        { correlationId: m.jobId, causationId: m.jobId, actor: 'service:matching' },
      );
      this.waitingReasons.delete(m.jobId);
    } catch (err) {
      this.ownMatches.delete(m.jobId);
      this.engine.release(m.jobId, m.matchedAtMs);
      if (err instanceof DomainError) {
        this.logger.warn(`match of ${m.jobId} refused: ${err.code}`);
        return;
      }
      throw err;
    }
  }

  /**
   * Jobs that could not be matched get their reason on the log once, and again when it changes,
   * with the node they hold if they hold one. At most WAITING_REPORTS_PER_ROUND_MAX a round; the
   * engine keeps the rest for the next rounds.
   */
  private async reportWaiting(): Promise<void> {
    const batch = this.engine.takeChangedWaiting(WAITING_REPORTS_PER_ROUND_MAX);
    for (let i = 0; i < batch.length; i++) {
      const jobId = batch[i]!;
      // read now, not when the batch was taken: events applied meanwhile may have moved the job on
      const reason = this.engine.waitingReason(jobId);
      if (reason === undefined || this.waitingReasons.get(jobId) === reason) continue;
      const hold = this.engine.holdOf(jobId);
      const command = hold ? { type: 'RecordWaiting' as const, reason, hold: { nodeId: hold.nodeId, gpuCount: hold.gpuCount, sinceMs: hold.sinceMs } } : { type: 'RecordWaiting' as const, reason };
      this.ownWaiting.set(jobId, [...(this.ownWaiting.get(jobId) ?? []), reason]);
      try {
        const { events } = await this.rt.execute('job', jobId, jobDecider, command, { correlationId: jobId, causationId: jobId, actor: 'service:matching' });
        if (events.length === 0) this.forgetOwnWaiting(jobId, 'last'); // the job had moved on: nothing comes back
      } catch (err) {
        this.forgetOwnWaiting(jobId, 'last');
        for (const rest of batch.slice(i)) this.engine.reportWaitingAgain(rest);
        throw err;
      }
      this.waitingReasons.set(jobId, reason);
    }
  }

  private forgetOwnWaiting(jobId: string, which: 'first' | 'last'): void {
    const reasons = this.ownWaiting.get(jobId);
    if (!reasons) return;
    if (which === 'first') reasons.shift();
    else reasons.pop();
    if (reasons.length === 0) this.ownWaiting.delete(jobId);
  }
}

/** Bound on how many waiting jobs one round explains. */
export const WAITING_REPORTS_PER_ROUND_MAX = 64;
