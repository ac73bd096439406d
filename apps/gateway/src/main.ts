import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createServiceApp, jsonBody, listen } from '@starminer/service-kit';
import { GatewayModule } from './gateway.module';

/**
 * The gateway as an application: the strict JSON body parser first (media type, charset, size,
 * depth; the raw bytes kept for node signatures), then the API, its OpenAPI description at /docs,
 * and health and metrics.
 */
export async function createGateway(opts: { logger?: ('log' | 'warn' | 'error')[] } = {}): Promise<NestExpressApplication> {
  const app = await createServiceApp(GatewayModule, { logger: opts.logger });
  app.use(jsonBody());
  const doc = new DocumentBuilder()
    .setTitle('StarMiner gateway')
    .setDescription('The exchange for GPU compute: orgs, jobs, the market, and the provider agent API. Amounts are AGPU base units (18 decimals) as decimal strings.')
    .setVersion('v1')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc));
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
