import { toJson, type EventEnvelope } from '@starminer/events';

/**
 * Turns a stored message body into an envelope. Services pass the catalogue's `decodeEvent`
 * (zod validation and upcasting); the default only parses JSON.
 */
export type Decode = (bytes: Uint8Array) => EventEnvelope;
/** Turns an envelope into the stored body. The default is `toJson` (bigints as decimal strings). */
export type Encode = (event: EventEnvelope) => Uint8Array;

const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

export const jsonDecode: Decode = (bytes) => JSON.parse(utf8.decode(bytes)) as EventEnvelope;
export const jsonEncode: Encode = (event) => utf8Encoder.encode(toJson(event));

/** The event as a plain stored message: its stream sequence, its subject, the decoded envelope. */
export interface StoredEvent<E extends EventEnvelope = EventEnvelope> {
  readonly seq: number;
  readonly subject: string;
  readonly event: E;
  /** True when JetStream delivered this message before (a durable consumer's redelivery). */
  readonly redelivered: boolean;
}
