import { z } from 'zod';
import { toJson, type EventEnvelope } from './envelope';
import { EVENT_SCHEMAS, SCHEMA_VERSION, UPCASTERS, type EventData, type EventType, type TradeEvent } from './catalogue';

/** An event that does not fit the catalogue: never retried, never applied (the consumer terms it). */
export class EventSchemaError extends Error {
  override readonly name = 'EventSchemaError';
  readonly code = 'EVENT_SCHEMA_INVALID';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const envelopeSchema = z.object({
  id: z.string().min(1).max(64),
  type: z.string().min(1).max(64),
  schemaVersion: z.number().int().positive(),
  aggregateId: z.string().min(1).max(128),
  occurredAt: z.iso.datetime(),
  correlationId: z.string().min(1).max(128),
  causationId: z.string().min(1).max(128),
  actor: z.string().min(1).max(200),
  data: z.record(z.string(), z.unknown()),
});

function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_SCHEMAS, type);
}

/** Parses, upcasts to the current version and validates one event read from the log. */
export function decodeEvent(input: Uint8Array | string | object): TradeEvent {
  let raw: unknown;
  try {
    raw = typeof input === 'string' ? JSON.parse(input) : input instanceof Uint8Array ? JSON.parse(Buffer.from(input).toString('utf8')) : input;
  } catch (cause) {
    throw new EventSchemaError('event is not JSON', { cause });
  }
  const envelope = envelopeSchema.safeParse(raw);
  if (!envelope.success) throw new EventSchemaError(`bad envelope: ${z.prettifyError(envelope.error)}`);
  const { type } = envelope.data;
  if (!isEventType(type)) throw new EventSchemaError(`unknown event type '${type}'`);
  let data = envelope.data.data;
  let version = envelope.data.schemaVersion;
  const current = SCHEMA_VERSION[type];
  if (version > current) throw new EventSchemaError(`${type} v${version} is newer than this reader (v${current})`);
  while (version < current) {
    const up = UPCASTERS[type]?.[version];
    if (!up) throw new EventSchemaError(`no upcaster for ${type} v${version}`);
    data = up(data);
    version += 1;
  }
  const parsed = EVENT_SCHEMAS[type].safeParse(data);
  if (!parsed.success) throw new EventSchemaError(`bad ${type} data: ${z.prettifyError(parsed.error)}`);
  return { ...envelope.data, type, schemaVersion: current, data: parsed.data } as TradeEvent;
}

/** Validates data against the catalogue before it is appended; bigints become strings on the wire. */
export function encodeEvent(event: EventEnvelope): Uint8Array {
  if (!isEventType(event.type)) throw new EventSchemaError(`unknown event type '${event.type}'`);
  const wire = JSON.parse(toJson(event.data));
  const check = EVENT_SCHEMAS[event.type].safeParse(wire);
  if (!check.success) throw new EventSchemaError(`bad ${event.type} data: ${z.prettifyError(check.error)}`);
  return Buffer.from(toJson({ ...event, schemaVersion: SCHEMA_VERSION[event.type] }), 'utf8');
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
