import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ServiceRuntimeProbe } from './probe';

/** Why a service refuses to boot when the TypeScript runner dropped decorator metadata. */
export class DecoratorMetadataMissingError extends Error {
  override readonly name = 'DecoratorMetadataMissingError';
  readonly code = 'DECORATOR_METADATA_MISSING';
}

/**
 * NestJS reads constructor and handler parameter types from decorator metadata: without it, it
 * cannot inject, and ValidationPipe silently validates nothing. esbuild (tsx) does not emit it, so
 * a service refuses to start rather than run unvalidated.
 */
export function assertDecoratorMetadata(decorated: object): void {
  const types: unknown = (Reflect as unknown as { getMetadata(k: string, t: object): unknown }).getMetadata('design:paramtypes', decorated);
  if (!Array.isArray(types)) {
    throw new DecoratorMetadataMissingError(
      'decorator metadata is missing: run services with `node -r ./tools/stack/register.cjs apps/<service>/src/main.ts` (swc), not tsx/esbuild',
    );
  }
}

/** Starts a headless service (no HTTP): commands and consumers only. Exits non-zero on a failed boot. */
export async function bootService(name: string, module: unknown): Promise<void> {
  const logger = new Logger(name);
  try {
    assertDecoratorMetadata(ServiceRuntimeProbe);
    const app = await NestFactory.createApplicationContext(module as never, { logger: ['log', 'warn', 'error'] });
    app.enableShutdownHooks();
  } catch (err) {
    logger.error(`boot failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  }
}
