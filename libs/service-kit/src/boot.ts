import { Logger, type INestApplication, type LoggerService, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { natsTransport } from './commands';
import type { BaseConfig } from './config';
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
      'decorator metadata is missing: run services with `node -r ./tools/stack/register.cjs apps/<service>/src/main.ts` (swc), not tsx/esbuild',
    );
  }
}

export interface ServiceAppOptions {
  readonly logger?: LoggerService | LogLevel[] | false;
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
  const app = await NestFactory.create<NestExpressApplication>(module as never, { bodyParser: false, rawBody: opts.rawBody ?? false, abortOnError: false, logger: opts.logger ?? ['log', 'warn', 'error'] });
  const config = app.get<BaseConfig>(SERVICE_CONFIG);
  const { service } = app.get(ServiceRuntime); // the module imports ServiceKitModule.forService
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
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  return (await app.getUrl()).replace('[::1]', '127.0.0.1');
}

/** Boots a service from its environment. Exits non-zero on a failed boot. */
export async function bootService(name: string, module: unknown): Promise<void> {
  const logger = new Logger(name);
  try {
    const app = await createServiceApp(module);
    const url = await listen(app);
    logger.log(`${name} ready for commands; health and metrics on ${url}`);
  } catch (err) {
    logger.error(`boot failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  }
}
