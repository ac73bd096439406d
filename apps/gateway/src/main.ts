import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createServiceApp, jsonBody, listen } from '@starminer/service-kit';
import { GatewayModule } from './gateway.module';
import { openApiDocument } from './openapi';

/** The servers the document names: the gateway's public origins when configured. */
const publicServers = (): string[] => (process.env.GATEWAY_PUBLIC_ORIGIN ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/**
 * The gateway as an application: the strict JSON body parser first (media type, charset, size,
 * depth; the raw bytes kept for node signatures), then the API, its OpenAPI description at /docs,
 * and health and metrics.
 */
export async function createGateway(opts: { logger?: ('log' | 'warn' | 'error')[] } = {}): Promise<NestExpressApplication> {
  const app = await createServiceApp(GatewayModule, { logger: opts.logger });
  app.use(jsonBody());
  SwaggerModule.setup('docs', app, () => openApiDocument(app, { servers: publicServers() }));
  return app;
}

async function main(): Promise<void> {
  const app = await createGateway();
  new Logger('gateway').log(`listening on ${await listen(app)}`);
}

if (require.main === module) {
  main().catch((err) => {
    new Logger('gateway').error(`boot failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
