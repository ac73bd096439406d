import { BaseError as ViemError, HttpRequestError, TimeoutError as ViemTimeoutError, WebSocketRequestError } from 'viem';
import { ChainActionError } from '@starminer/chain';
import { DomainError } from '@starminer/domain';
import { EventSchemaError, isErrorCode, kindOf, type ErrorBody, type ErrorCode, type ErrorKind } from '@starminer/events';
import { DependencyUnavailableError, EventDecodeError, ReadIncompleteError } from '@starminer/trade-log';

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

/**
 * A service answered that something it needs is away (the chain, its database; a code of kind
 * 'unavailable'): not a refusal of the market, so a reader waits and retries it (a
 * DependencyUnavailableError) instead of parking its event, and an edge answers 503 with the code.
 */
export class RemoteUnavailableError extends DependencyUnavailableError {
  constructor(
    readonly replyCode: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
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
 * COMMAND_UNAVAILABLE; the chain away is CHAIN_UNAVAILABLE; the database away is
 * DEPENDENCY_UNAVAILABLE (each a 503 with Retry-After); anything else is INTERNAL (our bug), logged and answered without internals.
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
  if (err instanceof RemoteUnavailableError) {
    return { kind: 'unavailable', body: Object.keys(err.details).length ? { code: err.replyCode, message: err.message, details: err.details } : { code: err.replyCode, message: err.message }, ours: false };
  }
  if (isChainUnavailable(err)) return { kind: 'unavailable', body: { code: 'CHAIN_UNAVAILABLE', message: 'the chain did not answer; try again' }, ours: false };
  if (err instanceof DependencyUnavailableError || isDatabaseUnavailable(err)) {
    return { kind: 'unavailable', body: { code: 'DEPENDENCY_UNAVAILABLE', message: 'a store this request needs is away for a moment; try again' }, ours: false };
  }
  return { kind: 'internal', body: { code: 'INTERNAL', message: 'internal error' }, ours: !(err instanceof RemoteInternalError) };
}

/**
 * The chain is away (its RPC refused, dropped or timed out), as a chain action reports it
 * (ChainActionError 'ChainUnavailable') or as viem throws it from a read that no action wraps.
 * A revert is not this: it is a rule of a contract, or our bug.
 */
function isChainUnavailable(err: unknown): boolean {
  if (err instanceof ChainActionError) return err.code === 'ChainUnavailable';
  if (!(err instanceof ViemError)) return false;
  return err.walk((e) => e instanceof HttpRequestError || e instanceof ViemTimeoutError || e instanceof WebSocketRequestError) !== null;
}

/**
 * SQLSTATE classes of a database that is away or refusing work for a moment: 08 connection
 * exception, 53 insufficient resources, 57 operator intervention (a restart, a shutdown).
 * Anything else a query throws (a syntax error, a missing column) is our bug: 500.
 */
const DATABASE_AWAY_SQLSTATE_CLASSES = ['08', '53', '57'];

function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof ChainActionError) return false;
  const e = err as { code?: unknown; message?: unknown; driverError?: { code?: unknown } } | null;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.driverError?.code === 'string' ? e.driverError.code : undefined;
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) return DATABASE_AWAY_SQLSTATE_CLASSES.includes(code.slice(0, 2));
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT') return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
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
  if (kindOf(code) === 'unavailable') return new RemoteUnavailableError(code, `${subject}: ${message}`, details);
  return new DomainError(code, message, details);
}
