import type { IncomingMessage } from 'node:http';
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { InjectConfig, ServiceRuntime } from '@starminer/service-kit';
import type { GatewayConfig } from '../gateway.config';
import { JOB_EVENTS_WAKE_WAIT_MS } from '../job-events/job-events-limits';
import { StreamHub } from '../job-events/stream-hub';
import type { JobView } from '../views/entities';
import { GatewayViews } from '../views/gateway-views';

/** New work for a node: a job whose contract is open and that it has not started. */
export const hasNewWork = (jobs: readonly Pick<JobView, 'status'>[]): boolean => jobs.some((j) => j.status === 'contracted');

/**
 * The provider agents' long polls (`GET .../assignments?waitMs=`): a poll that finds no new work
 * waits until a contract for its node reaches the read model, or until waitMs. One loop per process
 * waits on the views projection (the job event streams' hub, keyed here by node); each time it moves,
 * ONE query finds which waiting nodes got a contracted job in the sequences it moved over, and only
 * their polls wake. At the bound, or while the gateway stops, a poll answers at once, as a plain
 * poll would: the agent polls again.
 */
@Injectable()
export class AssignmentWaits implements OnModuleDestroy {
  private readonly logger = new Logger('assignments');
  private readonly hub: StreamHub;

  constructor(
    views: GatewayViews,
    private readonly rt: ServiceRuntime,
    @InjectConfig() config: GatewayConfig,
  ) {
    this.hub = new StreamHub({
      progress: views,
      updatedAmong: (nodeIds, from, to) => this.contractedAmong(nodeIds, from, to),
      streamsMax: config.ASSIGNMENT_WAITS_MAX,
      retryAfterSec: 0,
      wakeWaitMs: JOB_EVENTS_WAKE_WAIT_MS,
      onError: (err) => this.logger.warn(`waking assignment polls: ${(err as Error)?.message ?? String(err)}`),
    });
    const hub = this.hub;
    new Gauge({
      name: 'starminer_assignment_polls_waiting',
      help: 'Provider long polls for assignments this gateway holds open now',
      registers: [rt.metrics],
      collect() {
        this.set(hub.size);
      },
    });
  }

  /**
   * The node's assignments: at once when there is new work or `waitMs` is 0, else once a contract
   * for the node is projected or `waitMs` has passed (or the client left), whichever comes first.
   */
  async read<T extends Pick<JobView, 'status'>>(req: IncomingMessage, nodeId: string, waitMs: number, read: () => Promise<T[]>): Promise<T[]> {
    if (waitMs <= 0) return read();
    let slot;
    try {
      // opened before the first read, so a contract projected after that read wakes it: two reads per idle poll
      slot = this.hub.open(nodeId);
    } catch {
      return read(); // at the bound, or stopping: answer as a plain poll
    }
    const gone = (): void => slot.close();
    req.once('close', gone);
    try {
      const now = await read();
      if (hasNewWork(now)) return now;
      await slot.wait(waitMs);
      return slot.closed && req.socket.destroyed ? now : await read();
    } finally {
      req.off('close', gone);
      slot.close();
    }
  }

  /** Which of `nodeIds` got a contracted job in the log sequences (fromSeq, toSeq]. */
  private async contractedAmong(nodeIds: readonly string[], fromSeq: number, toSeq: number): Promise<string[]> {
    if (nodeIds.length === 0 || toSeq <= fromSeq) return [];
    const rows: { nodeId: string }[] = await this.rt.db.query(
      `SELECT DISTINCT "nodeId" FROM "${this.rt.service}"."jobs" WHERE "nodeId" = ANY($1) AND "status" = 'contracted' AND "lastSeq" > $2 AND "lastSeq" <= $3`,
      [[...nodeIds], String(fromSeq), String(toSeq)],
    );
    return rows.map((r) => r.nodeId);
  }

  async onModuleDestroy(): Promise<void> {
    await this.hub.stop();
  }
}
