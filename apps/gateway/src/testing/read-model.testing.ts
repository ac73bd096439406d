import type { DataSource, EntityManager } from 'typeorm';
import { makeEvent, type EventData, type EventType, type TradeEvent } from '@starminer/events';
import type { StoredEvent } from '@starminer/trade-log';

// a read model on a fresh test database: shared with the other services' batch-path specs
export { readModelOnTestDatabase, readModelPerSpec, type ReadModelUnderTest } from '@starminer/service-testing';

/** One event as the log stores it, at `seq`, of the job or node it names. */
export function storedEvent<T extends EventType>(type: T, data: EventData<T>, seq: number, occurredAt = new Date()): StoredEvent {
  const aggregateId = String((data as { jobId?: string; nodeId?: string }).jobId ?? (data as { nodeId?: string }).nodeId ?? 'x');
  const event = makeEvent(type, data, { id: `e-${seq}`, aggregateId, occurredAt: occurredAt.toISOString(), correlationId: aggregateId, causationId: 'test', actor: 'test' }) as TradeEvent;
  return { event, seq, subject: `trade.x.${aggregateId}`, redelivered: false };
}

/** Applies a stored event as the projection runner does, `times` over (the log delivers at least once), each in its own transaction. */
export async function applyStored(ds: DataSource, apply: (em: EntityManager, e: StoredEvent) => Promise<void>, stored: StoredEvent, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) await ds.transaction((em) => apply(em, { ...stored, redelivered: i > 0 }));
}
