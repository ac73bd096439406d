import { Injectable } from '@nestjs/common';
import { EVENT_SCHEMAS, toJson, type EventData, type TradeEvent } from '@starminer/events';
import { MatchingEngine, type EngineConfig, type EngineSnapshot } from '@starminer/matching';
import { InjectConfig } from '@starminer/service-kit';
import type { TraceCarrier } from '@starminer/telemetry';
import { engineConfigOf, type MatchingConfig } from '../matching.config';
import { jobSpecOf, nodeSpecOf, requeuedJobSpecOf } from './to-engine';

/** Jobs whose trace context is kept (while tracing is on) until they are matched or end; the oldest go first. */
export const JOB_TRACES_MAX = 100_000;

/** What a snapshot holds besides the engine: the service's own view of nodes and reasons. */
export interface ServiceSnapshot {
  readonly engine: EngineSnapshot;
  /** NodeRegistered data in wire form (bigints as strings), for reputation updates. */
  readonly nodes: unknown[];
  readonly online: [string, boolean][];
  readonly waitingReasons: [string, string][];
  readonly lastEventMs: number;
}

/**
 * The matching service's state: the engine in memory and the service's view of nodes, folded
 * from the log in log order. Everything that reads or changes it (applying events, rounds,
 * snapshots, re-applying parked events) runs through `serial`, one piece of work at a time.
 */
@Injectable()
export class EngineState {
  readonly engineConfig: EngineConfig;
  engine: MatchingEngine;
  readonly nodes = new Map<string, EventData<'NodeRegistered'>>();
  readonly online = new Map<string, boolean>();
  /** Jobs this instance matched and appended, whose JobMatched has not come back yet. */
  readonly ownMatches = new Set<string>();
  /** Waiting reasons this instance appended, in order, whose JobWaiting has not come back yet. */
  readonly ownWaiting = new Map<string, string[]>();
  readonly waitingReasons = new Map<string, string>();
  /**
   * Each waiting job's trace context (its JobSubmitted's appender), so the decision that matches
   * it, rounds later, is a span of the job's trace. Not in snapshots: a job restored from one is
   * matched in a trace of its own.
   */
  readonly jobTraces = new Map<string, TraceCarrier>();
  lastEventMs = 0;
  /** The last stream sequence folded in (applied or parked). */
  lastSeq = 0;
  eventsSinceSnapshot = 0;
  caughtUp = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(@InjectConfig() config: MatchingConfig) {
    this.engineConfig = engineConfigOf(config);
    this.engine = new MatchingEngine(this.engineConfig);
  }

  /** Runs `work` after everything queued before it, never alongside other work on the state. */
  serial<T>(work: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Folds one event into the engine. Throws when the engine refuses it (a node or job it cannot
   * take): the caller parks the event; the engine changed nothing.
   */
  apply(e: TradeEvent, trace?: TraceCarrier): void {
    this.keepTrace(e, trace);
    const at = Date.parse(e.occurredAt);
    this.lastEventMs = Math.max(this.lastEventMs, at);
    switch (e.type) {
      case 'NodeRegistered':
        this.engine.upsertNode(nodeSpecOf(e.data, this.online.get(e.data.nodeId) ?? false), at);
        this.nodes.set(e.data.nodeId, e.data);
        return;
      case 'NodeAvailabilityChanged':
        this.online.set(e.data.nodeId, e.data.online);
        if (this.nodes.has(e.data.nodeId)) this.engine.setNodeOnline(e.data.nodeId, e.data.online, at);
        return;
      case 'NodeReputationChanged':
      case 'NodeStakeChanged': {
        const node = this.nodes.get(e.data.nodeId);
        if (!node) return;
        const updated = e.type === 'NodeReputationChanged' ? { ...node, reputation: e.data.reputation } : { ...node, poolId: e.data.poolId, stakeWei: e.data.stakeWei };
        this.engine.upsertNode(nodeSpecOf(updated, this.online.get(e.data.nodeId) ?? false), at);
        this.nodes.set(e.data.nodeId, updated);
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
        this.engine.recordMatch({ jobId: e.data.jobId, nodeId: e.data.nodeId, gpuCount: e.data.gpuCount, atMs: at, runtimeSec: quotedRuntimeSec(e.data.quote) });
        return;
      case 'JobRequeued':
        // re-match on failure: the failed node's GPUs are freed, the job queued again without the nodes that failed it
        this.engine.release(e.data.jobId, at);
        this.engine.submitJob(requeuedJobSpecOf(e.data, e.occurredAt));
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
        // a job queued again after a failed attempt whose escrow was refunded meanwhile (its deadline) leaves its queue
        this.engine.cancelJob(e.data.jobId);
        this.engine.release(e.data.jobId, at);
        return;
      case 'PriceChanged':
        this.engine.applyPriceChange(e.data);
        return;
      // a restarted engine (or another replica) is in the surge state the log says; its own decision coming back changes nothing
      case 'SurgeStarted':
        this.engine.applySurgeChange({ type: 'SurgeStarted', ...e.data });
        return;
      case 'SurgeEnded':
        this.engine.applySurgeChange({ type: 'SurgeEnded', ...e.data });
        return;
      default:
        return;
    }
  }

  private keepTrace(e: TradeEvent, trace: TraceCarrier | undefined): void {
    if (e.type === 'JobSubmitted' && trace) {
      this.jobTraces.set(e.data.jobId, trace);
      if (this.jobTraces.size > JOB_TRACES_MAX) this.jobTraces.delete(this.jobTraces.keys().next().value as string);
    } else if (e.type === 'JobMatched' || e.type === 'JobCancelled' || e.type === 'JobFailed') {
      this.jobTraces.delete(e.data.jobId);
    }
  }

  forgetOwnWaiting(jobId: string, which: 'first' | 'last'): void {
    const reasons = this.ownWaiting.get(jobId);
    if (!reasons) return;
    if (which === 'first') reasons.shift();
    else reasons.pop();
    if (reasons.length === 0) this.ownWaiting.delete(jobId);
  }

  snapshot(): ServiceSnapshot {
    return {
      engine: this.engine.snapshot(),
      nodes: [...this.nodes.values()].map((n) => JSON.parse(toJson(n))),
      online: [...this.online.entries()],
      waitingReasons: [...this.waitingReasons.entries()],
      lastEventMs: this.lastEventMs,
    };
  }

  restore(body: ServiceSnapshot, lastSeq: number): void {
    this.engine = MatchingEngine.restore(body.engine, this.engineConfig);
    for (const wire of body.nodes) {
      const node = EVENT_SCHEMAS.NodeRegistered.parse(wire);
      this.nodes.set(node.nodeId, node);
    }
    for (const [id, on] of body.online) this.online.set(id, on);
    for (const [id, reason] of body.waitingReasons) this.waitingReasons.set(id, reason);
    this.lastEventMs = body.lastEventMs;
    this.lastSeq = lastSeq;
  }
}

/**
 * The runtime a recorded match was quoted for (its expected end places the job in held nodes'
 * windows); undefined when the quote does not say, and the engine then counts it as overrunning.
 */
export function quotedRuntimeSec(quote: Record<string, unknown>): number | undefined {
  const r = quote.runtimeSec;
  return typeof r === 'number' && Number.isFinite(r) && r > 0 ? r : undefined;
}
