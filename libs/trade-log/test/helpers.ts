import type { EventEnvelope } from '@starminer/events';
import { uuidv7 } from 'uuidv7';

/** A test event on aggregate `id`; `data` carries what a test needs to assert on. */
export function testEvent(aggregateId: string, type: string, data: Record<string, unknown> = {}): EventEnvelope {
  return {
    id: uuidv7(),
    type,
    schemaVersion: 1,
    aggregateId,
    occurredAt: new Date('2026-01-01T00:00:00.000Z').toISOString(),
    correlationId: aggregateId,
    causationId: aggregateId,
    actor: 'service:test',
    data,
  };
}

/** Polls `check` until it returns true, or fails after timeoutMs. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, stepMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
