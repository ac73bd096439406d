import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { OpenAPIObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { GatewayModule } from '../../apps/gateway/src/gateway.module';
import { openApiDocument, type DocumentOptions } from '../../apps/gateway/src/openapi';

/**
 * The gateway's OpenAPI document without starting anything: Nest's preview mode builds the module
 * graph (controllers and their metadata) and instantiates no provider, so no NATS, database or
 * chain is needed. The same function the running gateway serves at /docs.
 */
export async function buildOpenApiDocument(opts: DocumentOptions = {}): Promise<OpenAPIObject> {
  const app = await NestFactory.create(GatewayModule, { preview: true, logger: false, abortOnError: false });
  try {
    return openApiDocument(app, opts);
  } finally {
    await app.close();
  }
}
