import { Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import type { Logger as PinoLogger } from 'pino';
import { httpServerSpan, startTracing } from '@starminer/telemetry';
import { natsTransport } from './commands';
import type { BaseConfig } from './config';
import { httpLogger, logBootFailure, pinoLevelOf, SERVICE_LOGGER, type ServiceLoggerOption } from './logging';
import { HttpDrain } from './http-drain';
import { ServiceRuntimeProbe } from './probe';
import { ServiceRuntime } from './runtime';
import { SERVICE_CONFIG } from './service-kit.module';

/** Why a service refuses to boot when the TypeScript runner dropped decorator metadata. */
export class DecoratorMetadataMissingError extends Error {
  override readonly name = 'DecoratorMetadataMissingError';
  readonly code = 'DECORATOR_METADATA_MISSING';
}

/**
 * NestJS reads constructor and handler parameter types from decorator metadata: without it, it
 * cannot inject. esbuild (tsx) does not emit it, so a service refuses to start rather than run
 * half wired.
 */
export function assertDecoratorMetadata(decorated: object): void {
  const types: unknown = (Reflect as unknown as { getMetadata(k: string, t: object): unknown }).getMetadata('design:paramtypes', decorated);
  if (!Array.isArray(types)) {
    throw new DecoratorMetadataMissingError(
      'decorator metadata is missing: run services built (`npm run build`, then `node dist/apps/<service>/src/main.js`) or from source with `node -r ./tools/stack/register.cjs apps/<service>/src/main.ts` (swc), not tsx/esbuild',
    );
  }
}

export interface ServiceAppOptions {
  /** Nest log levels (tests ask for `['error', 'warn']`: the pino level they amount to), false for none; LOG_LEVEL by default. */
  readonly logger?: ServiceLoggerOption;
  /** The gateway parses bodies itself (limits, content types); services serve no bodies over HTTP. */
  readonly rawBody?: boolean;
}

/**
 * A service as one Nest application: HTTP (the gateway's API, and every service's health and
 * metrics) and its command handlers on NATS (`@nestjs/microservices`, a queue group per service).
 * Not listening yet: `listen` starts both.
 */
export async function createServiceApp(module: unknown, opts: ServiceAppOptions = {}): Promise<NestExpressApplication> {
  assertDecoratorMetadata(ServiceRuntimeProbe);
  // Nest's own lines wait until the service's logger is in place (JSON from the first line); a boot
  // that fails leaves them unprinted, and bootService reports the error once, as JSON.
  const app = await NestFactory.create<NestExpressApplication>(module as never, { bodyParser: false, rawBody: opts.rawBody ?? false, abortOnError: false, bufferLogs: true, autoFlushLogs: false });
  // first: every later middleware and the request's log line run inside the request's span
  app.use(httpServerSpan(app.get(ServiceRuntime).service));
  useServiceLogger(app, opts.logger);
  const config = app.get<BaseConfig>(SERVICE_CONFIG);
  const { service, meters } = app.get(ServiceRuntime); // the module imports ServiceKitModule.forService
  app.use(meters.httpMiddleware()); // first, so that what the body parser refuses is timed too
  app.use(app.get(HttpDrain).middleware()); // a stopping service's answers close their connections
  app.connectMicroservice(natsTransport({ servers: config.NATS_URL, service }), { inheritAppConfig: true });
  app.enableShutdownHooks();
  return app;
}

/**
 * How long an idle keep-alive connection stays open. Longer than any client's or proxy's own idle
 * timeout (undici 4 s, Kubernetes ingresses and cloud load balancers 60 s), so the client always
 * closes first: Node's default of 5 s lets a server close a socket a client is just reusing, and
 * that request fails with ECONNRESET (a 502 behind a proxy).
 */
export const HTTP_KEEP_ALIVE_MS = 65_000;

/** Starts the command handlers and the HTTP server on HTTP_HOST:HTTP_PORT; returns the URL. */
export async function listen(app: INestApplication): Promise<string> {
  const config = app.get<BaseConfig>(SERVICE_CONFIG);
  await app.startAllMicroservices();
  const server = app.getHttpServer() as import('node:http').Server;
  server.keepAliveTimeout = HTTP_KEEP_ALIVE_MS;
  server.headersTimeout = HTTP_KEEP_ALIVE_MS + 1_000; // must exceed keepAliveTimeout
  app.get(HttpDrain).track(server);
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  return (await app.getUrl()).replace('[::1]', '127.0.0.1');
}

/**
 * Every log line of the service through its pino logger: Nest's `Logger` (nestjs-pino) and a line
 * per HTTP request, the request logger ahead of the body parsers so that what they refuse is
 * logged too. A level the caller asks for replaces LOG_LEVEL; it is set before the
 * request logger is made, since pino's children keep the level they were made with.
 */
function useServiceLogger(app: NestExpressApplication, option: ServiceLoggerOption | undefined): void {
  const logger = app.get<PinoLogger>(SERVICE_LOGGER);
  if (Array.isArray(option) || option === false) logger.level = pinoLevelOf(option);
  app.use(httpLogger(logger));
  app.useLogger(option !== undefined && !Array.isArray(option) && option !== false ? option : app.get(NestPinoLogger));
  app.flushLogs();
}

/** Boots a service from its environment. Exits non-zero on a failed boot. */
export async function bootService(name: string, module: unknown): Promise<void> {
  const logger = new Logger(name);
  try {
    // before anything else, so that the first request and command are traced (off unless OTEL_* ask for it)
    startTracing({ service: name });
    const app = await createServiceApp(module);
    const url = await listen(app);
    logger.log(`${name} ready for commands; health and metrics on ${url}`);
  } catch (err) {
    logBootFailure(name, err);
    process.exit(1);
  }
}
