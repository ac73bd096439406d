import { Injectable, Logger } from '@nestjs/common';
import { uuidv7 } from 'uuidv7';
import { EventSchemaError, makeEvent, toJson, type EventMeta, type TradeEvent } from '@starminer/events';
import { DomainError, jobDecider } from '@starminer/domain';
import type { Match, SurgeChange } from '@starminer/matching';
import { ServiceRuntime, Ticker } from '@starminer/service-kit';
import { contextOf, JOB_ID_ATTR, SERVICE_ATTR, withSpan } from '@starminer/telemetry';
import { EngineState } from '../engine/engine-state';
import { MatchingPartitions } from '../partitions/matching-partitions';
import { MatchingMetrics } from './matching-metrics';

/** Most matches one round appends; the rest wait for the next round. */
export const MATCHES_PER_ROUND_MAX = 256;
/** Bound on how many waiting jobs one round explains. */
export const WAITING_REPORTS_PER_ROUND_MAX = 64;
/** Rounds also run on a timer, for aging and repricing when no event arrives. */
export const ROUND_INTERVAL_MS = 1_000;

/**
 * One matching round: match what can be matched and append each as JobMatched through the job
 * decider, say why the rest waits (once, and again when the reason changes, with the node held),
 * and move prices. Runs only once the state has caught up with the log.
 */
@Injectable()
export class MatchRound {
  private readonly logger = new Logger('matching');
  private readonly ticker = new Ticker('matching-round', ROUND_INTERVAL_MS, () => this.schedule(Date.now()));

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly state: EngineState,
    private readonly metrics: MatchingMetrics,
    private readonly partitions: MatchingPartitions,
  ) {}

  private stopped = false;
  /** The digest of the demand mix this instance last logged in full in a receipt: later receipts scored with it carry the digest only. */
  private loggedMixDigest?: string;

  start(): void {
    this.ticker.start();
  }

  /** No round starts after this; the promise resolves once the one in progress (if any) has ended. */
  stop(): Promise<void> {
    this.stopped = true;
    this.ticker.stop();
    return this.state.serial(() => undefined);
  }

  /** Queues a round at `atMs` (event time, or the clock when no event came). */
  schedule(atMs: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.state.serial(() => this.round(atMs)).catch((err: Error) => this.logger.warn(`round failed: ${err.message}`));
  }

  private async round(atMs: number): Promise<void> {
    if (!this.state.caughtUp || this.stopped) return;
    const now = Math.max(atMs, this.state.lastEventMs);
    const p = this.partitions;
    const routable = p.partitioned ? p.routable : undefined;
    // the state the pass decides on: the log folded in to here (an auditor re-runs it on the same)
    const decidedAfterSeq = this.state.lastSeq;
    const matches = this.metrics.timed('match', () => this.state.engine.matchPending(now, MATCHES_PER_ROUND_MAX, routable));
    for (let i = 0; i < matches.length; i++) {
      try {
        await this.appendMatch(matches[i]!, decidedAfterSeq);
      } catch (err) {
        // the rest were never appended: they wait again rather than hold their nodes for nothing
        for (const rest of matches.slice(i + 1)) this.state.engine.unmatch(rest.jobId, rest.matchedAtMs);
        throw err;
      }
    }
    await this.reportWaiting();
    // partitioned: a market's price and surge move by its partition's holder only; the other replicas take them from the log
    const tick = this.metrics.timed('reprice', () => this.state.engine.marketTick(now, routable));
    for (const change of tick.priceChanges) await this.appendMarketEvent(makeEvent('PriceChanged', change, this.marketEnvelope(change.gpuClass, now, 'reprice')));
    // after the prices of the same tick: a surge is decided on the smoothed utilization they carry
    for (const change of tick.surgeChanges) {
      await this.appendMarketEvent(surgeEvent(change, this.marketEnvelope(change.gpuClass, now, 'surge')));
      this.logger.log(`${change.type} ${change.gpuClass}/${change.region}: smoothed utilization ${change.smoothedUtilizationBps} bps, queue depth ${change.queueDepth}`);
    }
  }

  private marketEnvelope(gpuClass: string, now: number, causationId: string): EventMeta {
    return { id: uuidv7(), aggregateId: gpuClass, occurredAt: new Date(now).toISOString(), correlationId: gpuClass, causationId, actor: 'service:matching' };
  }

  private async appendMarketEvent(event: TradeEvent): Promise<void> {
    await this.rt.tradeLog.append(this.rt.subject('market', event.aggregateId), [event], { expectedLastSubjectSeq: 'any' });
  }

  /** The route decision of one job, as a span of the job's trace (its parent: the append of its JobSubmitted). */
  private appendMatch(m: Match, decidedAfterSeq: number): Promise<void> {
    const attrs = { [SERVICE_ATTR]: this.rt.service, [JOB_ID_ATTR]: m.jobId, 'starminer.node_id': m.nodeId, 'starminer.price_wei_per_hour': m.quote.priceWeiPerHour.toString(), 'starminer.cost_wei': m.quote.costWei.toString(), 'starminer.gpu_count': m.gpuCount };
    return withSpan('matching route', attrs, () => this.recordMatch(m, decidedAfterSeq), { parent: contextOf(this.state.jobTraces.get(m.jobId)) });
  }

  private async recordMatch(m: Match, decidedAfterSeq: number): Promise<void> {
    const node = this.state.nodes.get(m.nodeId);
    if (!node) throw new Error(`engine matched unknown node ${m.nodeId}`);
    const lease = this.partitions.partitioned ? this.partitions.writeLease(node.gpuModel, node.region) : undefined;
    if (this.partitions.partitioned && !lease) {
      // the lease ran out (or is about to) since the pass: the next holder decides this job
      this.state.engine.unmatch(m.jobId, m.matchedAtMs);
      return;
    }
    this.state.ownMatches.add(m.jobId);
    const receipt = JSON.parse(toJson(m.receipt)) as { mix?: { digest: string; applied?: unknown } };
    // the demand mix goes on the log once per change (an auditor re-runs the match with it)
    if (receipt.mix && receipt.mix.digest === this.loggedMixDigest) delete receipt.mix.applied;
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
            receipt,
            engineVersion: m.receipt.engineVersion,
            ...(lease ? { lease } : {}),
            decidedAfterSeq,
          },
        },
        { correlationId: m.jobId, causationId: m.jobId, actor: 'service:matching' },
      );
      this.state.waitingReasons.delete(m.jobId);
      this.loggedMixDigest = receipt.mix?.digest;
      this.metrics.matched(m);
    } catch (err) {
      this.state.ownMatches.delete(m.jobId);
      // the job moved on (cancelled, or matched by another replica: its JobMatched comes), or the
      // match does not fit the catalogue: the job stays where it is
      if (err instanceof DomainError || err instanceof EventSchemaError) {
        this.state.engine.release(m.jobId, m.matchedAtMs);
        this.logger.warn(`match of ${m.jobId} refused: ${err instanceof DomainError ? err.code : err.message}`);
        return;
      }
      // the append failed or timed out: the job waits again (if it landed after all, its JobMatched takes it off the queue)
      this.state.engine.unmatch(m.jobId, m.matchedAtMs);
      throw err;
    }
  }

  /**
   * Jobs that could not be matched get their reason on the log once, and again when it changes,
   * with the node they hold if they hold one. At most WAITING_REPORTS_PER_ROUND_MAX a round; the
   * engine keeps the rest for the next rounds.
   */
  private async reportWaiting(): Promise<void> {
    const batch = this.state.engine.takeChangedWaiting(WAITING_REPORTS_PER_ROUND_MAX);
    for (let i = 0; i < batch.length; i++) {
      const jobId = batch[i]!;
      if (!this.partitions.reports(jobId)) continue; // another replica's to say (partitioned matching)
      // read now, not when the batch was taken: events applied meanwhile may have moved the job on
      const reason = this.state.engine.waitingReason(jobId);
      if (reason === undefined || this.state.waitingReasons.get(jobId) === reason) continue;
      const hold = this.state.engine.holdOf(jobId);
      const command = hold ? { type: 'RecordWaiting' as const, reason, hold: { nodeId: hold.nodeId, gpuCount: hold.gpuCount, sinceMs: hold.sinceMs } } : { type: 'RecordWaiting' as const, reason };
      this.state.ownWaiting.set(jobId, [...(this.state.ownWaiting.get(jobId) ?? []), reason]);
      try {
        const { events } = await this.rt.execute('job', jobId, jobDecider, command, { correlationId: jobId, causationId: jobId, actor: 'service:matching' });
        if (events.length === 0) this.state.forgetOwnWaiting(jobId, 'last'); // the job had moved on: nothing comes back
      } catch (err) {
        this.state.forgetOwnWaiting(jobId, 'last');
        for (const rest of batch.slice(i)) this.state.engine.reportWaitingAgain(rest);
        throw err;
      }
      this.state.waitingReasons.set(jobId, reason);
    }
  }
}

/** A surge decided by the engine, as its event on the log (SurgeStarted / SurgeEnded). */
export function surgeEvent(change: SurgeChange, meta: EventMeta): TradeEvent<'SurgeStarted' | 'SurgeEnded'> {
  if (change.type === 'SurgeStarted') {
    const { type, ...data } = change;
    return makeEvent(type, data, meta);
  }
  const { type, ...data } = change;
  return makeEvent(type, data, meta);
}
