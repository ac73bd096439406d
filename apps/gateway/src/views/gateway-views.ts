import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { subjectFor } from '@starminer/events';
import { ServiceRuntime, type ReadModel } from '@starminer/service-kit';
import type { ProjectionRunner } from '@starminer/trade-log';
import { JobUpdateRow } from '../job-events/job-update.entity';
import { JobView, MarketPricePoint, MarketPriceView, MarketSurgeView, NodeView, OrgRow } from './entities';
import { applyViewsBatch } from './views-batch';
import { applyToViews } from './views.projection';

/**
 * The shape of the gateway's read model. 2: job updates (SSE, history), node stake, settlement
 * times and the job's deadline kept. 3: each market's price points (the price history) and each
 * job's match time (the market stats). 4: each market's surge (market_surges, from SurgeStarted /
 * SurgeEnded). A store of a lower shape is rebuilt from the log at start.
 */
export const VIEWS_SHAPE_VERSION = 4;

/**
 * The gateway's views as a read model: what the service projects and the auditor's replay rebuilds.
 * A batch in a handful of statements; a batch of one (a quiet log, or the runner running a failed
 * batch again one event at a time, in savepoints, to find the event it fails on) takes the
 * per-event path, which writes the same rows. A job's traceparent comes from message headers, not
 * the log's bodies.
 */
export const VIEWS_MODEL: ReadModel = {
  name: 'views',
  kinds: ['account', 'job', 'contract', 'node', 'market'],
  apply: applyToViews,
  applyBatch: (em, events) => (events.length === 1 ? applyToViews(em, events[0]) : applyViewsBatch(em, events)),
  tables: [{ entity: OrgRow }, { entity: JobView, notFromLog: ['traceparent'] }, { entity: NodeView }, { entity: MarketPriceView }, { entity: MarketPricePoint }, { entity: MarketSurgeView }, { entity: JobUpdateRow }],
  shapeVersion: VIEWS_SHAPE_VERSION,
};

/** How long a write waits for its own event to reach the read model before answering anyway. */
export const READ_YOUR_WRITES_WAIT_MS = 5_000;

/**
 * The gateway's read model, projected from the log. Not critical: a parked event leaves one job or
 * node stale (the operator sees it), and every other answer right.
 */
@Injectable()
export class GatewayViews implements OnApplicationBootstrap {
  private runner!: ProjectionRunner;

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    this.runner = this.rt.readModel(VIEWS_MODEL);
    await this.runner.start();
  }

  /** Waits (bounded) until the read model has applied `seq`, so a client reads its own write. */
  async caughtUpTo(seq: number | null | undefined): Promise<void> {
    if (!seq) return;
    await this.runner.waitUntil(seq, READ_YOUR_WRITES_WAIT_MS).catch(() => undefined); // answer anyway: the write is on the log
  }

  /**
   * Before answering that a job does not exist: waits (bounded, as caughtUpTo) until the read model
   * has applied the last event of the job's subject on the log. A job submitted a moment ago, read
   * while the projection lags (a loaded replica, a restart), is then found rather than refused
   * JOB_NOT_FOUND; a job the log does not have costs one lookup and no wait.
   */
  async caughtUpWithJob(jobId: string): Promise<void> {
    await this.caughtUpTo(await this.rt.tradeLog.lastSeqOf(subjectFor('job', jobId, this.rt.tradeLog.subjectPrefix)));
  }

  /**
   * Before answering that a node does not exist: as caughtUpWithJob, for the node's subject. An
   * agent's first calls right after its registration (the registry appended NodeRegistered; this
   * replica's projection has not applied it yet) then find the node instead of NODE_NOT_FOUND.
   */
  async caughtUpWithNode(nodeId: string): Promise<void> {
    await this.caughtUpTo(await this.rt.tradeLog.lastSeqOf(subjectFor('node', nodeId, this.rt.tradeLog.subjectPrefix)));
  }

  /**
   * The last log sequence this replica's projection has seen committed (by it or by another replica:
   * the checkpoint is shared), so every row at or below it is readable.
   */
  get checkpoint(): number {
    return this.runner?.checkpoint ?? 0;
  }

  /**
   * Resolves true once the checkpoint passes `seq` (the read model has new rows), false after
   * `timeoutMs` or at once when the projection is not running: the job event streams wake on it.
   */
  advancedPast(seq: number, timeoutMs: number): Promise<boolean> {
    if (!this.runner) return Promise.resolve(false);
    return this.runner.waitUntil(seq + 1, timeoutMs).then(
      () => true,
      () => false,
    );
  }
}
