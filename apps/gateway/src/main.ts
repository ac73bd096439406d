import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { createServiceApp, jsonBody, listen, logBootFailure, SERVICE_CONFIG } from '@starminer/service-kit';
import { startTracing } from '@starminer/telemetry';
import { defaultPublicOrigins } from './auth/node-deployment';
import type { GatewayConfig } from './gateway.config';
import { serveConsole } from './console/serve-console';
import { GatewayModule } from './gateway.module';
import { openApiDocument } from './openapi';

/**
 * The servers the served document names: the gateway's public origins, the same ones node
 * requests are signed for (GATEWAY_PUBLIC_ORIGIN, or the default from HTTP_HOST and the port it
 * listens on). The document is built on its first request, when the port is known.
 */
function publicServers(app: NestExpressApplication): string[] {
  const config = app.get<GatewayConfig>(SERVICE_CONFIG);
  if (config.GATEWAY_PUBLIC_ORIGIN) return [...config.GATEWAY_PUBLIC_ORIGIN];
  const bound = app.getHttpServer().address() as AddressInfo | string | null;
  return defaultPublicOrigins(config.HTTP_HOST, bound && typeof bound === 'object' ? bound.port : config.HTTP_PORT);
}

/**
 * The gateway as an application: the strict JSON body parser first (media type, charset, size,
 * depth; the raw bytes kept for node signatures), the web console at /app/ (static files), then the
 * API, its OpenAPI description at /docs, and health and metrics.
 */
export async function createGateway(opts: { logger?: ('log' | 'warn' | 'error')[] } = {}): Promise<NestExpressApplication> {
  const app = await createServiceApp(GatewayModule, { logger: opts.logger });
  app.use(jsonBody());
  serveConsole(app);
  SwaggerModule.setup('docs', app, () => openApiDocument(app, { servers: publicServers(app) }));
  return app;
}

async function main(): Promise<void> {
  // before anything else, as every service does (bootService): the first request is traced (off unless OTEL_* ask for it)
  startTracing({ service: 'gateway' });
  const app = await createGateway();
  new Logger('gateway').log(`listening on ${await listen(app)}`);
}

if (require.main === module) {
  main().catch((err) => {
    logBootFailure('gateway', err);
    process.exit(1);
  });
}
