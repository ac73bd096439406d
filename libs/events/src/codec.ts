import { z } from 'zod';
import { toJson, type EventEnvelope } from './envelope';
import { AGGREGATE_OF, EVENT_SCHEMAS, isEventType, SCHEMA_VERSION, UPCASTERS, type EventData, type EventType, type TradeEvent } from './catalogue';
import { LIMITS } from './limits';
import { idSchema, text } from './primitives';
import { describeViolations, violationsOf, type Violation } from './violations';

/** An event that does not fit the catalogue: never stored, never applied (a reader parks it). */
export class EventSchemaError extends Error {
  override readonly name = 'EventSchemaError';
  readonly code = 'EVENT_SCHEMA_INVALID';
  constructor(
    message: string,
    readonly violations: readonly Violation[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const causationSchema = text(LIMITS.causationIdLengthMax, 1);

/** The envelope, checked the same way when written and when read. */
const envelopeSchema = z.strictObject({
  id: text(LIMITS.eventIdLengthMax, 1),
  type: text(LIMITS.eventTypeLengthMax, 1),
  schemaVersion: z.number().int().positive(),
  aggregateId: idSchema,
  occurredAt: z.iso.datetime(),
  correlationId: causationSchema,
  causationId: causationSchema,
  actor: text(LIMITS.actorLengthMax, 1),
  data: z.record(z.string(), z.unknown()),
});

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses, upcasts to the current version and validates one event read from the log. */
export function decodeEvent(input: Uint8Array | string | object): TradeEvent {
  let raw: unknown;
  try {
    raw = typeof input === 'string' ? JSON.parse(input) : input instanceof Uint8Array ? JSON.parse(utf8.decode(input)) : input;
  } catch (cause) {
    throw new EventSchemaError('event is not UTF-8 JSON', [], { cause });
  }
  const envelope = envelopeSchema.safeParse(raw);
  if (!envelope.success) throw refused('bad envelope', violationsOf(envelope.error));
  const { type } = envelope.data;
  if (!isEventType(type)) throw new EventSchemaError(`unknown event type '${type}'`, [{ field: 'type', message: 'not in the catalogue' }]);
  let data = envelope.data.data;
  let version = envelope.data.schemaVersion;
  const current = SCHEMA_VERSION[type];
  if (version > current) throw new EventSchemaError(`${type} v${version} is newer than this reader (v${current})`, [{ field: 'schemaVersion', message: 'newer than this reader', limit: current }]);
  while (version < current) {
    const up = UPCASTERS[type]?.[version];
    if (!up) throw new EventSchemaError(`no upcaster for ${type} v${version}`);
    data = up(data);
    version += 1;
  }
  const parsed = EVENT_SCHEMAS[type].safeParse(data);
  if (!parsed.success) throw refused(`bad ${type} data`, violationsOf(parsed.error, ['data']));
  return { ...envelope.data, type, schemaVersion: current, data: parsed.data } as TradeEvent;
}

/**
 * The only way onto the log: checks the envelope and the data against the catalogue exactly as
 * `decodeEvent` will read them back, and, given the subject, that the event belongs there
 * (`<prefix>.<aggregate>.<aggregateId>`). Bigints become decimal strings on the wire.
 */
export function encodeEvent(event: EventEnvelope, subject?: string): Uint8Array {
  if (!isEventType(event.type)) throw new EventSchemaError(`unknown event type '${event.type}'`, [{ field: 'type', message: 'not in the catalogue' }]);
  const wire = JSON.parse(toJson({ ...event, schemaVersion: SCHEMA_VERSION[event.type] })) as Record<string, unknown>;
  const envelope = envelopeSchema.safeParse(wire);
  if (!envelope.success) throw refused(`bad ${event.type} envelope`, violationsOf(envelope.error));
  const check = EVENT_SCHEMAS[event.type].safeParse(wire.data);
  if (!check.success) throw refused(`bad ${event.type} data`, violationsOf(check.error, ['data']));
  if (subject !== undefined) {
    const tokens = subject.split('.');
    const [aggregate, id] = tokens.slice(-2);
    if (aggregate !== AGGREGATE_OF[event.type] || id !== event.aggregateId)
      throw new EventSchemaError(`${event.type} of ${event.aggregateId} does not belong on ${subject} (it goes on <prefix>.${AGGREGATE_OF[event.type]}.${event.aggregateId})`, [
        { field: 'aggregateId', message: `belongs on ${AGGREGATE_OF[event.type]}.${event.aggregateId}` },
      ]);
  }
  return Buffer.from(JSON.stringify(wire), 'utf8');
}

function refused(what: string, violations: Violation[]): EventSchemaError {
  return new EventSchemaError(`${what}: ${describeViolations(violations)}`, violations);
}

export interface EventMeta {
  readonly id: string;
  readonly aggregateId: string;
  readonly occurredAt: string;
  readonly correlationId: string;
  readonly causationId: string;
  readonly actor: string;
}

/** Builds a typed envelope at the current schema version. */
export function makeEvent<T extends EventType>(type: T, data: EventData<T>, meta: EventMeta): TradeEvent<T> {
  return { ...meta, type, schemaVersion: SCHEMA_VERSION[type], data } as unknown as TradeEvent<T>;
}
