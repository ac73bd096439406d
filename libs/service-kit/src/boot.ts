import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

/** Starts a headless service (no HTTP): commands and consumers only. Exits non-zero on a failed boot. */
export async function bootService(name: string, module: unknown): Promise<void> {
  const logger = new Logger(name);
  try {
    const app = await NestFactory.createApplicationContext(module as never, { logger: ['log', 'warn', 'error'] });
    app.enableShutdownHooks();
  } catch (err) {
    logger.error(`boot failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  }
}
