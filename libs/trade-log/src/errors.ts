/** Every error the trade log throws: a stable `code` for the edge to map, and the `cause` kept. */
export abstract class TradeLogError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Someone appended to the subject since we read it (JetStream API error 10071, wrong last
 * sequence). The caller reloads and decides again; handleCommand does that for you.
 */
export class ConcurrencyConflictError extends TradeLogError {
  override readonly name = 'ConcurrencyConflictError';
  readonly code = 'CONCURRENCY_CONFLICT';
  constructor(
    readonly subject: string,
    readonly expectedLastSubjectSeq: number,
    options?: { cause?: unknown },
  ) {
    super(`${subject} moved past sequence ${expectedLastSubjectSeq}`, options);
  }
}

/** handleCommand lost the race maxAttempts times in a row. */
export class ConcurrencyRetriesExhaustedError extends TradeLogError {
  override readonly name = 'ConcurrencyRetriesExhaustedError';
  readonly code = 'CONCURRENCY_RETRIES_EXHAUSTED';
  constructor(
    readonly subject: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(`${subject}: still conflicting after ${attempts} attempts`, options);
  }
}

/** An aggregate instance has more events than MAX_EVENTS_PER_AGGREGATE: it needs a snapshot or a split. */
export class AggregateTooLargeError extends TradeLogError {
  override readonly name = 'AggregateTooLargeError';
  readonly code = 'AGGREGATE_TOO_LARGE';
  constructor(
    readonly subject: string,
    readonly limit: number,
  ) {
    super(`${subject} holds more than ${limit} events`);
  }
}

/** A stored message could not be decoded (not JSON, or refused by the catalogue's schema). */
export class EventDecodeError extends TradeLogError {
  override readonly name = 'EventDecodeError';
  readonly code = 'EVENT_DECODE_FAILED';
  constructor(
    readonly subject: string,
    readonly seq: number,
    options?: { cause?: unknown },
  ) {
    super(`event ${subject}#${seq} could not be decoded: ${describe(options?.cause)}`, options);
  }
}

/** One event failed to apply on its own (not the database's fault); it is tried again, then parked. */
export class EventApplyError extends TradeLogError {
  override readonly name = 'EventApplyError';
  readonly code = 'EVENT_APPLY_FAILED';
  constructor(
    readonly subject: string,
    readonly seq: number,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(`event ${subject}#${seq} failed to apply (attempt ${attempts}): ${describe(options?.cause)}`, options);
  }
}

/** The append was refused or not confirmed by JetStream for a reason other than a conflict. */
export class AppendFailedError extends TradeLogError {
  override readonly name = 'AppendFailedError';
  readonly code = 'APPEND_FAILED';
  constructor(
    readonly subject: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`append to ${subject} failed: ${message}`, options);
  }
}

/** readSubject did not reach the subject's last sequence (the stream changed under the read). */
export class ReadIncompleteError extends TradeLogError {
  override readonly name = 'ReadIncompleteError';
  readonly code = 'READ_INCOMPLETE';
  constructor(
    readonly subject: string,
    readonly readUpTo: number,
    readonly lastSubjectSeq: number,
  ) {
    super(`${subject}: read stopped at ${readUpTo}, before the subject's last sequence ${lastSubjectSeq}`);
  }
}

/**
 * A read from a position (a snapshot's `afterSeq` and the id of the event there) that this subject
 * no longer has: the position is past the subject's last sequence, or another event (or another
 * subject's) sits at it. The stream was reset or restored; the reader folds from the start instead.
 */
export class StalePositionError extends TradeLogError {
  override readonly name = 'StalePositionError';
  readonly code = 'STALE_POSITION';
  constructor(
    readonly subject: string,
    readonly afterSeq: number,
    reason: string,
  ) {
    super(`${subject}: cannot read after sequence ${afterSeq}: ${reason}`);
  }
}

/** An argument the trade log cannot work with (bad subject, empty filter, too many events...). */
export class TradeLogArgumentError extends TradeLogError {
  override readonly name = 'TradeLogArgumentError';
  readonly code = 'INVALID_ARGUMENT';
}

/** The stream exists with a configuration the log cannot use (e.g. memory storage). */
export class StreamConfigError extends TradeLogError {
  override readonly name = 'StreamConfigError';
  readonly code = 'STREAM_CONFIG_MISMATCH';
}

/** A durable consumer could not be created, or its configuration not changed (the server refused). */
export class ConsumerConfigError extends TradeLogError {
  override readonly name = 'ConsumerConfigError';
  readonly code = 'CONSUMER_CONFIG_REFUSED';
}

/** Several filter subjects on one consumer need nats-server 2.10 or later. */
export class UnsupportedServerError extends TradeLogError {
  override readonly name = 'UnsupportedServerError';
  readonly code = 'UNSUPPORTED_SERVER';
}

/** waitUntil(seq) did not see the checkpoint reach seq in time. */
export class ProjectionTimeoutError extends TradeLogError {
  override readonly name = 'ProjectionTimeoutError';
  readonly code = 'PROJECTION_TIMEOUT';
  constructor(
    readonly projection: string,
    readonly seq: number,
    readonly checkpoint: number,
    readonly timeoutMs: number,
  ) {
    super(`projection ${projection} reached ${checkpoint}, not ${seq}, within ${timeoutMs} ms`);
  }
}

/** The projection gave up (a batch kept failing) or was stopped while someone waited on it. */
export class ProjectionStoppedError extends TradeLogError {
  override readonly name = 'ProjectionStoppedError';
  readonly code = 'PROJECTION_STOPPED';
  constructor(
    readonly projection: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`projection ${projection}: ${message}`, options);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Thrown by a consumer's handler for an event that will never succeed (it breaks a rule the
 * handler cannot get past): the message is termed at once instead of being retried.
 */
export class PoisonEventError extends TradeLogError {
  override readonly name = 'PoisonEventError';
  readonly code = 'POISON_EVENT';
  readonly retryable = false;
}

/**
 * Thrown by a consumer's handler when what it needs is away (the chain, another service): the
 * message is retried with backoff for as long as it takes and never parked (the event is fine).
 */
export class DependencyUnavailableError extends TradeLogError {
  override readonly name = 'DependencyUnavailableError';
  readonly code = 'DEPENDENCY_UNAVAILABLE';
  readonly retryable = true;
}
