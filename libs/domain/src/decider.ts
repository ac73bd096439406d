import type { AggregateEvent, AggregateKind, EventData, EventOf, EventType, EventTypeOf } from '@starminer/events';

/** An event as a decider returns it: type and data. Ids, time and causation are added at the edge. */
export type Draft<T extends EventType = EventType> = EventOf<T>;

/**
 * The Emmett-style decider of one aggregate kind: plain functions over plain state. `decide` may
 * only return events of its aggregate and `evolve` folds exactly those, narrowed by `type`.
 */
export interface Decider<A extends AggregateKind, Command, State> {
  readonly aggregate: A;
  decide(command: Command, state: State): Draft<EventTypeOf<A>>[];
  evolve(state: State, event: AggregateEvent<A>): State;
  initialState(): State;
}

export const draft = <T extends EventType>(type: T, data: EventData<T>): Draft<T> => ({ type, data }) as Draft<T>;

export function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}
