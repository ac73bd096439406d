import { DataSource } from 'typeorm';
import { makeEvent, type EventData, type EventType, type TradeEvent } from '@starminer/events';
import { createTestDatabase, type TestDatabase } from '@starminer/testing';
import { VIEW_ENTITIES } from '../views/entities';
import { applyToViews } from '../views/views.projection';

export interface ViewsUnderTest {
  readonly ds: DataSource;
  /** Applies one event to the gateway's views as the projection runner does, in log order. */
  apply<T extends EventType>(type: T, data: EventData<T>, occurredAt?: Date): Promise<void>;
  close(): Promise<void>;
}

/** The gateway's read model on a fresh real Postgres database, written only by its projection. */
export async function viewsOnTestDatabase(): Promise<ViewsUnderTest> {
  const db: TestDatabase = await createTestDatabase();
  const ds = new DataSource({ type: 'postgres', url: db.url, entities: VIEW_ENTITIES, synchronize: true, poolSize: 2 });
  await ds.initialize();
  let seq = 0;
  return {
    ds,
    async apply(type, data, occurredAt = new Date()) {
      const aggregateId = String((data as { jobId?: string; nodeId?: string }).jobId ?? (data as { nodeId?: string }).nodeId ?? 'x');
      const event = makeEvent(type, data, { id: `e-${++seq}`, aggregateId, occurredAt: occurredAt.toISOString(), correlationId: aggregateId, causationId: 'test', actor: 'test' }) as TradeEvent;
      await ds.transaction((em) => applyToViews(em, { event, seq, subject: `trade.x.${aggregateId}`, redelivered: false }));
    },
    async close() {
      await ds.destroy();
      await db.drop();
    },
  };
}
