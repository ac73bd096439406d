/**
 * Every bound of the trade log, in one place. Why each value is what it is sits next to it.
 */

/** After losing the server, try again every NATS_RECONNECT_WAIT_MS, this many times (~2 min), then close. */
export const NATS_RECONNECT_WAIT_MS = 1_000;
export const NATS_RECONNECT_ATTEMPTS_MAX = 120;
/**
 * close() drains the connection (its subscriptions finish what they hold, its publishes flush);
 * a drain that has not ended after this closes the connection outright, so a stop is bounded.
 */
export const NATS_DRAIN_TIMEOUT_MS = 5_000;

/**
 * Refuse to load an aggregate past this many events: it needs a snapshot or a finer subject. With
 * a snapshot (readSubject's `afterSeq`) only the events after it count.
 */
export const MAX_EVENTS_PER_AGGREGATE = 10_000;
/** A snapshot's encoded state (JSON) is refused past this size: a state that large wants a finer aggregate. */
export const SNAPSHOT_STATE_BYTES_MAX = 8 * 1024 * 1024;
/** Aggregates whose events readSubject keeps in memory per decoder (a hot aggregate then costs one request). */
export const AGGREGATE_CACHE_SIZE_DEFAULT = 1_000;
export const AGGREGATE_CACHE_SIZE_LIMIT = 100_000;
/**
 * Decoded events one log instance keeps by stream sequence, per decoder, so that the readers of one
 * process (its consumers, projections and aggregate reads, often several on the same subjects)
 * decode and validate an event once: the oldest go first (readers move forward together).
 */
export const DECODED_EVENTS_CACHED_MAX = 2_048;
/** Aggregates with more events than this are not cached (memory stays bounded: size x events). */
export const AGGREGATE_CACHE_MAX_EVENTS = 1_000;
/** readSubject reads up to this many events one request each, then switches to an ordered consumer. */
export const DIRECT_READ_MAX_EVENTS = 32;
/** Events one decision may append; a decision is small, a runaway loop is not. */
export const MAX_EVENTS_PER_APPEND = 100;
/** How long one publish waits for the stream's ack. */
export const PUBLISH_TIMEOUT_MS = 5_000;
/** Publishes of one event when the outcome is unknown (timeout, no responders while NATS restarts). */
export const PUBLISH_ATTEMPTS_MAX = 4;
export const PUBLISH_RETRY_BASE_MS = 100;
export const PUBLISH_RETRY_MAX_MS = 2_000;
/** The server drops a republished msgID inside this window (covers client retries after a lost ack). */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;
/** Copies of the stream JetStream keeps: 1 on one server, 3 on a cluster; JetStream allows at most 5. */
export const TRADE_STREAM_REPLICAS_MAX = 5;

/** handleCommand: total attempts (load, decide, append) before giving up on conflicts. */
export const COMMAND_MAX_ATTEMPTS_DEFAULT = 5;
/** Hard ceiling for a caller's maxAttempts. */
export const COMMAND_MAX_ATTEMPTS_LIMIT = 50;
/** Backoff between attempts: base * 2^(attempt-1) plus jitter, capped; small, as contention is short. */
export const CONFLICT_BACKOFF_BASE_MS = 5;
export const CONFLICT_BACKOFF_MAX_MS = 200;

/** A pull asks for at most this many messages. */
export const BATCH_MAX_DEFAULT = 100;
export const BATCH_MAX_LIMIT = 1_000;
/** A pull request lives at most this long on the server before the client pulls again. */
export const PULL_EXPIRES_MS_DEFAULT = 5_000;
/** Waiting for more of a batch the server said is pending; after this the partial batch runs. */
export const BATCH_LINGER_MS = 20;
/** Deliveries of one message before it is termed (the handler keeps failing on it). */
export const MAX_DELIVER_DEFAULT = 10;
/** The server redelivers an unacked message after this; a running handler keeps it alive with working(). */
export const ACK_WAIT_MS = 30_000;
/** nak delay: base * 2^(deliveries-1), capped, so a failing dependency is not hammered. */
export const NAK_DELAY_BASE_MS = 500;
export const NAK_DELAY_MAX_MS = 30_000;

/** Projection: attempts to apply one batch (with backoff) before the runner stops and reports. */
export const PROJECTION_APPLY_MAX_ATTEMPTS = 10;
export const PROJECTION_RETRY_BASE_MS = 100;
export const PROJECTION_RETRY_MAX_MS = 10_000;
/**
 * A projection with `types` moves its stored checkpoint over events of other types (which it skips
 * without a transaction) at most once per this: a restart replays at most this long of them, each
 * skipped again without a transaction.
 */
export const PROJECTION_CHECKPOINT_FLUSH_MS = 1_000;
/** A projection's ordered consumer pulls at least this many messages at a time (it needs no acks). */
export const PROJECTION_PULL_MIN_MESSAGES = 100;
/** waitUntil gives up after this unless told otherwise. */
export const WAIT_UNTIL_TIMEOUT_MS_DEFAULT = 15_000;
/** Waiters parked on one projection at once. */
export const MAX_WAITERS = 10_000;
/** readSubject: the longest a fetch of one aggregate may wait for its messages. */
export const READ_EXPIRES_MS = 5_000;

/** Attempts at one event that fails to apply (the batch retried with backoff) before it is parked. */
export const PROJECTION_EVENT_ATTEMPTS_MAX = 3;
/** Characters of an error kept with a parked event. */
export const PARKED_ERROR_CHARS_MAX = 2_000;
/** Parked events one list or one re-apply handles. */
export const PARKED_LIST_MAX = 100;
