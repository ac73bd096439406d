import 'reflect-metadata';
import { Logger, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { assertDecoratorMetadata, ErrorEnvelopeFilter } from '@starminer/service-kit';
import { JobsController } from './controllers';
import { GATEWAY_CONFIG, type GatewayConfig } from './gateway.config';
import { GatewayModule } from './gateway.module';

/** Request bodies above this are refused with 413. */
export const BODY_BYTES_MAX = 256 * 1024;

export async function createGateway(opts: { logger?: ('log' | 'warn' | 'error')[] } = {}): Promise<NestExpressApplication> {
  assertDecoratorMetadata(JobsController);
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule, { rawBody: true, logger: opts.logger ?? ['log', 'warn', 'error'] });
  app.useBodyParser('json', { limit: BODY_BYTES_MAX });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, stopAtFirstError: false }));
  app.useGlobalFilters(new ErrorEnvelopeFilter());
  app.enableShutdownHooks();
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
  const config = app.get<GatewayConfig>(GATEWAY_CONFIG);
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  new Logger('gateway').log(`listening on ${await app.getUrl()}`);
}

if (require.main === module) {
  main().catch((err) => {
    new Logger('gateway').error(`boot failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
