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
  /** How the state is saved and read back, for an aggregate whose history grows without end (see SnapshotCodec). */
  readonly snapshot?: SnapshotCodec<State>;
}

/** A JSON value: what a snapshot's state is encoded to (stored as jsonb). */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * A decider's snapshot: its state encoded after a fold, so that a later load folds only the events
 * after it. A cache of a fold of the log, never an answer of its own: `decode(encode(s))` must
 * equal `s` for every state the decider can reach (bigint, Set and Map encoded explicitly), and any
 * change of the state's shape or of evolve bumps `version` (snapshots of another version are ignored).
 */
export interface SnapshotCodec<State> {
  /** Names the snapshot among those of other deciders over the same subject. */
  readonly name: string;
  readonly version: number;
  /** A snapshot is saved once this many events were folded since the last one. */
  readonly every: number;
  /** The state as JSON; undefined when this state must not be snapshotted (it is then always folded from the start). */
  encode(state: State): JsonValue | undefined;
  /** Throws on a value it does not recognise (the snapshot is then ignored). */
  decode(value: unknown): State;
}

export const draft = <T extends EventType>(type: T, data: EventData<T>): Draft<T> => ({ type, data }) as Draft<T>;

export function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}

/** Reading a snapshot back: each throws SnapshotShapeError on a value of another shape. */
export class SnapshotShapeError extends Error {
  override readonly name = 'SnapshotShapeError';
}

export const snapshotValue = {
  record(value: unknown, what: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SnapshotShapeError(`${what}: not an object`);
    return value as Record<string, unknown>;
  },
  array(value: unknown, what: string): unknown[] {
    if (!Array.isArray(value)) throw new SnapshotShapeError(`${what}: not an array`);
    return value;
  },
  string(value: unknown, what: string): string {
    if (typeof value !== 'string') throw new SnapshotShapeError(`${what}: not a string`);
    return value;
  },
  nullableString(value: unknown, what: string): string | null {
    return value === null ? null : snapshotValue.string(value, what);
  },
  count(value: unknown, what: string): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new SnapshotShapeError(`${what}: not a count`);
    return value;
  },
  /** A bigint, written as its decimal string (JSON has no bigint). */
  bigint(value: unknown, what: string): bigint {
    if (typeof value !== 'string' || !/^-?(0|[1-9][0-9]*)$/.test(value)) throw new SnapshotShapeError(`${what}: not a decimal integer`);
    return BigInt(value);
  },
  strings(value: unknown, what: string): string[] {
    return snapshotValue.array(value, what).map((v, i) => snapshotValue.string(v, `${what}[${i}]`));
  },
};
