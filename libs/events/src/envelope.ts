/**
 * The one envelope every event on the trade log carries.
 *
 * `data` holds amounts as `bigint` in memory; on the wire (JSON) every bigint is a decimal
 * string. `encodeEnvelope` / the catalogue's `decodeEvent` convert between the two.
 */
export interface EventEnvelope<TType extends string = string, TData = unknown> {
  /** UUIDv7: unique, time ordered; also the JetStream `msgID`, so a duplicate publish is dropped. */
  readonly id: string;
  readonly type: TType;
  /** The version of `data`'s shape; a schema only grows, old shapes are read through upcasters. */
  readonly schemaVersion: number;
  /** The aggregate instance: the last token of the subject `trade.<aggregate>.<aggregateId>`. */
  readonly aggregateId: string;
  /** ISO-8601 UTC; set at the edge that decided the event (never read from a clock in a decider). */
  readonly occurredAt: string;
  /** The job, where there is one; otherwise the aggregate id. */
  readonly correlationId: string;
  /** The event or command that caused this one. */
  readonly causationId: string;
  /** Who acted: `org:<id>`, `node:<id>`, `service:<name>`, `operator`. */
  readonly actor: string;
  readonly data: TData;
}

/** The aggregates of the market; each instance has its own subject `trade.<aggregate>.<id>`. */
export const AGGREGATES = ['account', 'node', 'nodekey', 'job', 'contract', 'vault', 'pool', 'market', 'anchor'] as const;
export type AggregateKind = (typeof AGGREGATES)[number];

export const TRADE_STREAM = 'TRADE';
export const TRADE_SUBJECT_PREFIX = 'trade';

/** Ids are restricted so they are always a single, safe NATS subject token (the catalogue's ID_PATTERN). */
const SUBJECT_TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

export class InvalidSubjectTokenError extends Error {
  override readonly name = 'InvalidSubjectTokenError';
  constructor(readonly token: string) {
    super(`'${token}' is not a valid subject token (1-128 of [A-Za-z0-9_-])`);
  }
}

export function subjectFor(aggregate: AggregateKind, aggregateId: string, prefix = TRADE_SUBJECT_PREFIX): string {
  if (!SUBJECT_TOKEN.test(aggregateId)) throw new InvalidSubjectTokenError(aggregateId);
  return `${prefix}.${aggregate}.${aggregateId}`;
}

/** All subjects of one aggregate kind, e.g. `trade.job.>`. */
export function subjectsOf(aggregate: AggregateKind, prefix = TRADE_SUBJECT_PREFIX): string {
  return `${prefix}.${aggregate}.>`;
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v));
}
