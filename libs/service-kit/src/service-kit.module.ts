import { Inject, Injectable, Logger, Module, type DynamicModule, type OnApplicationShutdown, type Type } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import type { DestinationStream } from 'pino';
import type { EntitySchema, MixedList } from 'typeorm';
import type { z } from 'zod';
import type { ServiceWithCommands } from '@starminer/events';
import { flushTracing } from '@starminer/telemetry';
import { CommandBus } from './commands';
import { chainConfigSchema, loadConfig, type BaseConfig } from './config';
import { CHAIN_PROBE, chainProbeFor, HealthController, ServiceHealth } from './health';
import { HttpDrain } from './http-drain';
import { EdgeErrorFilter } from './http-errors';
import { createLogger, SERVICE_LOGGER, serviceLoggingModule } from './logging';
import { CommandMetricsInterceptor, ServiceMetrics } from './metrics';
import { JobScopeInterceptor } from './job-scope';
import { stopStep } from './lifecycle';
import { parkingHandlers } from './parking';
import { ServiceRuntime } from './runtime';

/** The service's parsed configuration (its own schema's output). */
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');

export interface ServiceKitOptions<S extends z.ZodType<BaseConfig>> {
  readonly service: ServiceWithCommands;
  /** The service's configuration schema: read once from the environment, failing at boot with the variable named. */
  readonly config: S;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  readonly entities: MixedList<Function | string | EntitySchema>;
  /** The service talks to the chain: readiness checks that it answers (a function decides from the environment when the app is created). */
  readonly chain?: boolean | ((env: NodeJS.ProcessEnv) => boolean);
  /** The environment to read (tests pass their own); defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Where the log lines go (tests capture them, as JSON); defaults to stdout. */
  readonly logDestination?: DestinationStream;
}

@Injectable()
class ServiceKitLifecycle implements OnApplicationShutdown {
  private readonly logger = new Logger('lifecycle');
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly bus: CommandBus,
  ) {}

  /** Readers first (each finishes what it has in hand), then the command bus, the log and the database. */
  async onApplicationShutdown(): Promise<void> {
    const warn = (line: string) => this.logger.warn(line);
    for (const r of this.rt.readers) await stopStep(warn, `reader ${r.name}`, () => r.stop()).catch((err: Error) => this.logger.warn(`stopping ${r.name}: ${err.message}`));
    await stopStep(warn, 'the command bus', () => this.bus.close());
    await stopStep(warn, 'the trade log and the database', () => this.rt.close());
    await stopStep(warn, 'the traces export', () => flushTracing()); // what the last work traced, before the process goes
  }
}

/**
 * What every service's Nest module imports: its configuration, its ServiceRuntime (log, schema,
 * parking lot, readers), a CommandBus to call other services, the one error filter of every edge,
 * liveness, readiness and metrics, and the operator's commands over its parked events.
 */
@Module({})
export class ServiceKitModule {
  static forService<S extends z.ZodType<BaseConfig>>(opts: ServiceKitOptions<S>): DynamicModule {
    const controllers: Type<unknown>[] = [HealthController, parkingHandlers(opts.service)];
    // read when the application is created, not when the module is defined: a test sets its environment first
    const env = () => opts.env ?? process.env;
    return {
      module: ServiceKitModule,
      global: true,
      imports: [TerminusModule.forRoot({ logger: false }), serviceLoggingModule()],
      controllers,
      providers: [
        { provide: SERVICE_CONFIG, useFactory: () => loadConfig(opts.config, env()) },
        {
          provide: SERVICE_LOGGER,
          inject: [SERVICE_CONFIG],
          useFactory: (config: BaseConfig) => createLogger({ service: opts.service, level: config.LOG_LEVEL, format: config.LOG_FORMAT }, opts.logDestination),
        },
        {
          provide: ServiceRuntime,
          inject: [SERVICE_CONFIG],
          useFactory: (config: BaseConfig) => ServiceRuntime.start({ service: opts.service, config, entities: opts.entities }),
        },
        {
          provide: CommandBus,
          inject: [SERVICE_CONFIG],
          useFactory: async (config: BaseConfig) => {
            const bus = new CommandBus({ servers: config.NATS_URL, name: opts.service });
            await bus.connect();
            return bus;
          },
        },
        {
          provide: CHAIN_PROBE,
          useFactory: () => {
            const on = typeof opts.chain === 'function' ? opts.chain(env()) : (opts.chain ?? false);
            return on ? chainProbeFor(loadConfig(chainConfigSchema, env())) : undefined;
          },
        },
        { provide: ServiceMetrics, inject: [ServiceRuntime], useFactory: (rt: ServiceRuntime) => rt.meters },
        ServiceHealth,
        ServiceKitLifecycle,
        HttpDrain,
        { provide: APP_FILTER, useClass: EdgeErrorFilter },
        { provide: APP_INTERCEPTOR, useClass: CommandMetricsInterceptor },
        { provide: APP_INTERCEPTOR, useClass: JobScopeInterceptor },
      ],
      exports: [SERVICE_CONFIG, SERVICE_LOGGER, ServiceRuntime, CommandBus, ServiceMetrics, ServiceHealth],
    };
  }
}

/** `@InjectConfig() config: IntakeConfig` in a service's providers. */
export const InjectConfig = (): ParameterDecorator => Inject(SERVICE_CONFIG);
