import { DomainError } from '@starminer/domain';
import { EventSchemaError, isErrorCode, kindOf, type ErrorBody, type ErrorCode, type ErrorKind } from '@starminer/events';
import { EventDecodeError, ReadIncompleteError } from '@starminer/trade-log';

/** No service answered a command in time (the service is down, or NATS is). */
export class CommandTransportError extends Error {
  override readonly name = 'CommandTransportError';
  readonly code = 'COMMAND_UNAVAILABLE';
  constructor(
    readonly subject: string,
    options?: { cause?: unknown },
  ) {
    super(`no answer from ${subject}`, options);
  }
}

/** The service that answered a command failed with its own bug (INTERNAL): the details stay in its log. */
export class RemoteInternalError extends Error {
  override readonly name = 'RemoteInternalError';
  readonly code = 'INTERNAL';
}

/** An aggregate's events could not be read (one of them does not fit the catalogue): its commands answer 503 until an operator acts. */
export class AggregateUnreadableError extends Error {
  override readonly name = 'AggregateUnreadableError';
  readonly code = 'AGGREGATE_UNREADABLE';
}

export interface DescribedError {
  readonly kind: ErrorKind;
  readonly body: ErrorBody;
  /** True when it is our failure: logged with its stack, answered without internals. */
  readonly ours: boolean;
}

/**
 * The one mapping of every error to what an edge answers: a refusal of the market keeps its code
 * and details; an event the catalogue refuses is EVENT_REFUSED naming the field and the limit;
 * an unreadable aggregate is AGGREGATE_UNREADABLE; a command nobody answered is
 * COMMAND_UNAVAILABLE; anything else is INTERNAL (our bug), logged and answered without internals.
 */
export function describeError(err: unknown): DescribedError {
  if (err instanceof DomainError) return refusal(err.code, err.message, err.details);
  if (err instanceof EventSchemaError) {
    return refusal('EVENT_REFUSED', `what this request would record does not fit the catalogue: ${err.message}`, { violations: err.violations });
  }
  if (err instanceof EventDecodeError || err instanceof ReadIncompleteError || err instanceof AggregateUnreadableError) {
    return { kind: 'unavailable', body: { code: 'AGGREGATE_UNREADABLE', message: 'this record cannot be read right now; an operator has been told' }, ours: true };
  }
  if (err instanceof CommandTransportError) return { kind: 'unavailable', body: { code: 'COMMAND_UNAVAILABLE', message: err.message }, ours: false };
  return { kind: 'internal', body: { code: 'INTERNAL', message: 'internal error' }, ours: !(err instanceof RemoteInternalError) };
}

function refusal(code: ErrorCode, message: string, details: Record<string, unknown>): DescribedError {
  return { kind: kindOf(code), body: Object.keys(details).length ? { code, message, details } : { code, message }, ours: false };
}

/** The typed error a command reply carries, back into an error the caller can branch on. */
export function errorFromReply(subject: string, e: { code?: unknown; message?: unknown; details?: unknown }): Error {
  const code = typeof e.code === 'string' && isErrorCode(e.code) ? e.code : 'INTERNAL';
  const message = typeof e.message === 'string' ? e.message : 'error';
  if (code === 'INTERNAL') return new RemoteInternalError(`${subject}: ${message}`);
  if (code === 'COMMAND_UNAVAILABLE') return new CommandTransportError(subject);
  if (code === 'AGGREGATE_UNREADABLE') return new AggregateUnreadableError(`${subject}: ${message}`);
  const details = e.details !== null && typeof e.details === 'object' ? (e.details as Record<string, unknown>) : {};
  return new DomainError(code, message, details);
}
