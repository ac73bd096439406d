import { toJson, type EventEnvelope } from '@starminer/events';
import type { TraceCarrier } from '@starminer/telemetry';

/**
 * Turns a stored message body into an envelope. The default everywhere is the catalogue's
 * `decodeEvent` (schema validation and upcasting).
 */
export type Decode = (bytes: Uint8Array) => EventEnvelope;
/**
 * Turns an envelope into the stored body, refusing what does not belong on `subject`. The default
 * is the catalogue's `encodeEvent`.
 */
export type Encode = (event: EventEnvelope, subject: string) => Uint8Array;

const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** Plain JSON, no catalogue: only for tests of the log's mechanics with made-up event types. */
export const jsonDecode: Decode = (bytes) => JSON.parse(utf8.decode(bytes)) as EventEnvelope;
/** Plain JSON, no catalogue: only for tests of the log's mechanics with made-up event types. */
export const jsonEncode: Encode = (event) => utf8Encoder.encode(toJson(event));

/** The event as a plain stored message: its stream sequence, its subject, the decoded envelope. */
export interface StoredEvent<E extends EventEnvelope = EventEnvelope> {
  readonly seq: number;
  readonly subject: string;
  readonly event: E;
  /** True when JetStream delivered this message before (a durable consumer's redelivery). */
  readonly redelivered: boolean;
  /** The W3C trace context its appender wrote in the message's headers (only read while tracing is on). */
  readonly trace?: TraceCarrier;
}

/** The job a subject is about: `<prefix>.job.<id>` and `<prefix>.contract.<id>` (a contract's id is its job's). */
export function jobIdOfSubject(subject: string, prefix: string): string | undefined {
  for (const kind of ['job', 'contract']) {
    const head = `${prefix}.${kind}.`;
    if (subject.startsWith(head)) return subject.slice(head.length);
  }
  return undefined;
}
