import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ProjectionRunner } from '@starminer/trade-log';
import { publicClientFor, sendCommand, ServiceRuntime } from '@starminer/service-kit';
import { GATEWAY_CONFIG, type GatewayConfig } from './gateway.config';
import { applyToViews } from './views.projection';

/** How long a write waits for its own event to reach the read model before answering anyway. */
export const READ_YOUR_WRITES_WAIT_MS = 5_000;

@Injectable()
export class GatewayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('gateway');
  private projection!: ProjectionRunner;
  readonly publicClient;

  constructor(
    readonly rt: ServiceRuntime,
    @Inject(GATEWAY_CONFIG) readonly config: GatewayConfig,
  ) {
    this.publicClient = publicClientFor(config);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.projection = this.rt.projection('views', this.rt.filterOf(['account', 'job', 'contract', 'node', 'market']), applyToViews);
    await this.projection.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.projection?.stop();
    await this.rt.close();
  }

  command<R>(service: string, verb: string, payload: unknown): Promise<R> {
    return sendCommand<R>(this.rt.nc, this.rt.commandSubject(service, verb), payload);
  }

  /** Waits (bounded) until the read model has applied `seq`, so a client reads its own write. */
  async caughtUpTo(seq: number | null | undefined): Promise<void> {
    if (!seq) return;
    await this.projection.waitUntil(seq, READ_YOUR_WRITES_WAIT_MS).catch(() => undefined); // answer anyway: the write is on the log
  }
}
