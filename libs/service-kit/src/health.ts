import { Controller, Get, Header, Inject, Injectable, Logger, Optional, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus';
import { collectDefaultMetrics, Gauge, register as defaultRegistry } from 'prom-client';
import type { ServiceStatus, ServiceWithParking } from '@starminer/events';
import { publicClientFor } from './chain-clients';
import type { ChainConfig } from './config';
import { CommandBus } from './commands';
import { METRIC } from './metrics';
import { readersCheckOf, ServiceRuntime, withTimeout, type Check, type ReadersReport } from './runtime';

/** How long one dependency may take to answer a readiness probe. */
export const HEALTH_CHECK_TIMEOUT_MS = 2_000;

/** Tells readiness whether the chain answers (services that use it provide one). */
export const CHAIN_PROBE = Symbol('CHAIN_PROBE');
export type ChainProbe = () => Promise<{ up: boolean; detail: Record<string, unknown> }>;

export function chainProbeFor(config: Pick<ChainConfig, 'RPC_URL' | 'CHAIN_ID'>): ChainProbe {
  const client = publicClientFor(config);
  return async () => {
    try {
      const block = await withTimeout(client.getBlockNumber(), HEALTH_CHECK_TIMEOUT_MS, 'the chain did not answer');
      return { up: true, detail: { block: block.toString() } };
    } catch (err) {
      return { up: false, detail: { error: (err as Error).message } };
    }
  };
}

let defaultMetricsOn = false;

/** Everything readiness checks, each once: GET /health/ready's verdict and the operator's status are both made from it. */
interface Assessment {
  readonly nats: Check;
  readonly postgres: Check;
  readonly readers: ReadersReport;
  readonly commands?: Check;
  readonly chain?: Check;
}

/** A check as the status shows it: up, or down with why (its error, else `downMessage`). */
function dependencyOf(c: Check, downMessage: string): ServiceStatus['checks']['nats'] {
  if (c.up) return { status: 'up' };
  const error = c.detail.error;
  return { status: 'down', message: typeof error === 'string' && error.length > 0 ? error : downMessage };
}

/**
 * Liveness, readiness and metrics of one service, with @nestjs/terminus and prom-client:
 * - `GET /health/live`: 200 while the process serves and no reader gave up (a 503 tells the
 *   supervisor to restart it);
 * - `GET /health/ready`: 200 when NATS is connected, Postgres answers, the chain answers (where
 *   used), and every reader runs, is not retrying, is not far behind, and (for a reader of money)
 *   has nothing parked; 503 with every check's detail otherwise;
 * - `GET /metrics`: Prometheus text (readers' lag, position and state, parked events, process).
 */
@Injectable()
export class ServiceHealth {
  private readonly logger = new Logger('health');
  private lastReady: boolean | undefined;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly rt: ServiceRuntime,
    @Optional() private readonly bus?: CommandBus,
    @Optional() @Inject(CHAIN_PROBE) private readonly chain?: ChainProbe,
  ) {
    if (!defaultMetricsOn) {
      collectDefaultMetrics();
      defaultMetricsOn = true;
    }
    if (chain) {
      // asked at each scrape (bounded by HEALTH_CHECK_TIMEOUT_MS), so it is true when no probe runs
      new Gauge({
        name: METRIC.chainUp,
        help: '1 when the chain answered (its block number) at this scrape, 0 when not',
        registers: [rt.metrics],
        async collect() {
          this.set((await chain()).up ? 1 : 0);
        },
      });
    }
  }

  private result(key: string, c: { up: boolean; detail: Record<string, unknown> }): HealthIndicatorResult {
    const session = this.indicators.check(key);
    return c.up ? session.up(c.detail) : session.down(c.detail);
  }

  live(): Promise<HealthCheckResult> {
    return this.health.check([() => this.result('readers', this.rt.liveness())]);
  }

  async ready(): Promise<HealthCheckResult> {
    return this.verdict(await this.assess());
  }

  /**
   * The operator's status of this service (cmd.<service>.status): readiness' verdict, made by the
   * same code from the same checks as GET /health/ready, with each dependency and each reader.
   */
  async status(): Promise<ServiceStatus> {
    const a = await this.assess();
    const ready = await this.verdict(a).then(
      () => true,
      (err: unknown) => {
        if (err instanceof ServiceUnavailableException) return false;
        throw err;
      },
    );
    return {
      service: this.rt.service as ServiceWithParking,
      ready,
      checks: {
        nats: dependencyOf(a.nats, 'the trade log is not connected'),
        postgres: dependencyOf(a.postgres, 'Postgres did not answer'),
        ...(a.commands ? { commands: dependencyOf(a.commands, 'the command bus is not connected') } : {}),
        ...(a.chain ? { chain: dependencyOf(a.chain, 'the chain did not answer') } : {}),
      },
      readers: a.readers.readers.map((r) => ({
        name: r.name,
        kind: r.health.kind,
        state: r.health.state,
        checkpointSeq: r.health.position,
        lagEvents: r.health.lag,
        parked: r.parked,
        critical: r.health.critical,
        problems: [...r.problems],
        ...(r.health.lastError === undefined ? {} : { lastError: r.health.lastError }),
      })),
      startedAt: this.rt.startedAt.toISOString(),
    };
  }

  /** Every check readiness makes, at once (each bounded by HEALTH_CHECK_TIMEOUT_MS). */
  private async assess(): Promise<Assessment> {
    const [postgres, readers, chain] = await Promise.all([this.rt.postgres(HEALTH_CHECK_TIMEOUT_MS), this.rt.readersReport(), this.chain?.()]);
    return {
      nats: this.rt.nats(),
      postgres,
      readers,
      ...(this.bus ? { commands: { up: this.bus.connected, detail: {} } } : {}),
      ...(chain ? { chain } : {}),
    };
  }

  /** Terminus' verdict on the checks: the result when all are up, else its 503 exception (with every check's detail). */
  private async verdict(a: Assessment): Promise<HealthCheckResult> {
    const checks: (() => HealthIndicatorResult)[] = [() => this.result('nats', a.nats), () => this.result('postgres', a.postgres), () => this.result('readers', readersCheckOf(a.readers))];
    if (a.commands) checks.push(() => this.result('commands', a.commands!));
    if (a.chain) checks.push(() => this.result('chain', a.chain!));
    try {
      const r = await this.health.check(checks);
      this.transition(true, r);
      return r;
    } catch (err) {
      if (err instanceof ServiceUnavailableException) this.transition(false, err.getResponse() as HealthCheckResult);
      throw err;
    }
  }

  /** One log line when readiness changes, not one per probe. */
  private transition(ready: boolean, r: HealthCheckResult): void {
    if (this.lastReady === ready) return;
    this.lastReady = ready;
    if (ready) this.logger.log(`${this.rt.service} is ready`);
    else this.logger.warn(`${this.rt.service} is NOT ready: ${JSON.stringify(r.error ?? r.details)}`);
  }

  /** The process's metrics and the service's own (each registry keeps its default `service` label). */
  async metricsText(): Promise<{ contentType: string; body: string }> {
    const [processMetrics, serviceMetrics] = await Promise.all([defaultRegistry.metrics(), this.rt.metrics.metrics()]);
    return { contentType: this.rt.metrics.contentType, body: `${processMetrics}\n${serviceMetrics}` };
  }
}

type Reply = { status(code: number): unknown; setHeader(name: string, value: string): unknown };

/** The probe endpoints, excluded from the public API description. */
@ApiExcludeController()
@Controller()
export class HealthController {
  constructor(private readonly health: ServiceHealth) {}

  @Get('health/live')
  @HealthCheck()
  live(@Res({ passthrough: true }) res: Reply): Promise<HealthCheckResult> {
    return answered(this.health.live(), res);
  }

  @Get('health/ready')
  @HealthCheck()
  ready(@Res({ passthrough: true }) res: Reply): Promise<HealthCheckResult> {
    return answered(this.health.ready(), res);
  }

  @Get('metrics')
  @Header('cache-control', 'no-store')
  async metrics(@Res({ passthrough: true }) res: Reply): Promise<string> {
    const m = await this.health.metricsText();
    res.setHeader('content-type', m.contentType);
    return m.body;
  }
}

/** Terminus answers a failed check with a 503 exception; the body is the check's detail, not our error envelope. */
async function answered(check: Promise<HealthCheckResult>, res: Reply): Promise<HealthCheckResult> {
  try {
    return await check;
  } catch (err) {
    if (!(err instanceof ServiceUnavailableException)) throw err;
    res.status(503);
    return err.getResponse() as HealthCheckResult;
  }
}

