import { DataSource, type EntityManager, type EntitySchema } from 'typeorm';
import { makeEvent, type EventData, type EventType, type TradeEvent } from '@starminer/events';
import { createTestDatabase, type TestDatabase } from '@starminer/testing';
import type { StoredEvent } from '@starminer/trade-log';

export interface ReadModelUnderTest {
  readonly ds: DataSource;
  close(): Promise<void>;
}

/** A fresh real Postgres database with `entities` synchronized: a gateway read model as its projection writes it. */
export async function readModelOnTestDatabase(entities: readonly (string | (new () => unknown) | EntitySchema)[], poolSize = 2): Promise<ReadModelUnderTest> {
  const db: TestDatabase = await createTestDatabase();
  const ds = new DataSource({ type: 'postgres', url: db.url, entities: [...entities] as never, synchronize: true, poolSize });
  await ds.initialize();
  return {
    ds,
    async close() {
      await ds.destroy();
      await db.drop();
    },
  };
}

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

/**
 * A read model for one spec file: created before its tests, dropped after them (jest hooks). Read
 * `ds` inside tests and hooks, once the database exists.
 */
export function readModelPerSpec(entities: Parameters<typeof readModelOnTestDatabase>[0], poolSize?: number): { readonly ds: DataSource } {
  let model: ReadModelUnderTest | undefined;
  beforeAll(async () => {
    model = await readModelOnTestDatabase(entities, poolSize);
  }, 120_000);
  afterAll(() => model?.close());
  return {
    get ds(): DataSource {
      if (!model) throw new Error('the read model exists only inside the tests and hooks of its spec');
      return model.ds;
    },
  };
}
