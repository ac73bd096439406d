import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ServiceRuntime } from '@starminer/service-kit';
import type { ProjectionRunner } from '@starminer/trade-log';
import { JobView, MarketPriceView, NodeView, OrgRow } from './entities';
import { applyToViews } from './views.projection';

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
    this.runner = this.rt.projection('views', this.rt.filterOf(['account', 'job', 'contract', 'node', 'market']), applyToViews, {
      reset: async (em) => {
        for (const entity of [OrgRow, JobView, NodeView, MarketPriceView]) await em.getRepository(entity).clear();
      },
    });
    await this.runner.start();
  }

  /** Waits (bounded) until the read model has applied `seq`, so a client reads its own write. */
  async caughtUpTo(seq: number | null | undefined): Promise<void> {
    if (!seq) return;
    await this.runner.waitUntil(seq, READ_YOUR_WRITES_WAIT_MS).catch(() => undefined); // answer anyway: the write is on the log
  }
}
