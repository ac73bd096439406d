import type { EventData, EventType } from '@starminer/events';

/** An event as a decider returns it: type and data. Ids, time and causation are added at the edge. */
export type Draft<T extends EventType = EventType> = { [K in T]: { readonly type: K; readonly data: EventData<K> } }[T];

/** The Emmett-style decider: plain functions over plain state. */
export interface Decider<Command, State, Event extends { type: string; data: unknown } = Draft> {
  decide(command: Command, state: State): Draft[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

export const draft = <T extends EventType>(type: T, data: EventData<T>): Draft<T> => ({ type, data }) as Draft<T>;

export function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
