import type { DataSource } from 'typeorm';
import type { EventData, EventType } from '@starminer/events';
import { applyStored, readModelOnTestDatabase, storedEvent } from '../testing/read-model.testing';
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
  const model = await readModelOnTestDatabase(VIEW_ENTITIES);
  let seq = 0;
  return {
    ds: model.ds,
    apply: (type, data, occurredAt) => applyStored(model.ds, applyToViews, storedEvent(type, data, ++seq, occurredAt)),
    close: () => model.close(),
  };
}
