import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { nodeDecider } from '@starminer/domain';
import { InjectConfig, ServiceRuntime, Ticker } from '@starminer/service-kit';
import { NodeRow } from '../nodes/node-row.entity';
import type { RegistryConfig } from '../registry.config';
import { NodeLiveness } from './node-liveness.entity';

/** How often the registry looks for silent nodes, at most (a shorter timeout scans more often). */
export const LIVENESS_SCAN_MS_MAX = 5_000;
/** Nodes one round marks offline; the rest wait for the next round. */
export const LIVENESS_SCAN_ROWS_MAX = 500;

/** Twice per timeout (at most every LIVENESS_SCAN_MS_MAX): a silent node is marked offline within 1.5 timeouts. */
export const livenessScanIntervalMs = (timeoutMs: number): number => Math.min(LIVENESS_SCAN_MS_MAX, Math.floor(timeoutMs / 2));

/**
 * Marks offline, on the log, the nodes the read model lists online that have not been heard from
 * for `REGISTRY_NODE_TIMEOUT_MS` (no liveness row at all counts as silent). Every replica scans;
 * the node decider records a node's going offline once, whoever gets there first.
 */
@Injectable()
export class LivenessScanner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('liveness');
  private readonly timeoutMs: number;
  private readonly ticker: Ticker;

  constructor(
    private readonly rt: ServiceRuntime,
    @InjectConfig() config: RegistryConfig,
  ) {
    this.timeoutMs = config.REGISTRY_NODE_TIMEOUT_MS;
    this.ticker = new Ticker('liveness', livenessScanIntervalMs(this.timeoutMs), async () => void (await this.scan()));
  }

  onApplicationBootstrap(): void {
    this.ticker.start();
  }

  // before the kit closes the log and the database (its global module's shutdown hooks run first)
  async onModuleDestroy(): Promise<void> {
    await this.ticker.stop();
  }

  /** One round: returns how many nodes it marked offline. */
  async scan(now: Date = new Date()): Promise<number> {
    const silentSince = new Date(now.getTime() - this.timeoutMs);
    const silent: { nodeId: string }[] = await this.rt.db
      .getRepository(NodeRow)
      .createQueryBuilder('n')
      .leftJoin(NodeLiveness, 'l', 'l.nodeId = n.nodeId')
      .select('n.nodeId', 'nodeId')
      .where('n.online = true AND (l.lastSeenAt IS NULL OR l.lastSeenAt < :silentSince)', { silentSince })
      .orderBy('n.nodeId')
      .limit(LIVENESS_SCAN_ROWS_MAX)
      .getRawMany();
    let marked = 0;
    for (const { nodeId } of silent) {
      try {
        // a heartbeat that came since the query keeps the node online (the round may have run long)
        const seen = await this.rt.db.getRepository(NodeLiveness).findOneBy({ nodeId });
        if (seen && seen.lastSeenAt >= silentSince) continue;
        const { events } = await this.rt.execute('node', nodeId, nodeDecider, { type: 'MarkOffline', reason: `no heartbeat for ${this.timeoutMs} ms` }, {
          correlationId: nodeId,
          causationId: nodeId,
          actor: 'service:registry',
        });
        marked += events.length;
      } catch (err) {
        // one node that cannot be marked (its aggregate unreadable) does not keep the others online
        this.logger.warn(`node ${nodeId} could not be marked offline: ${(err as Error).message}`);
      }
    }
    return marked;
  }
}
