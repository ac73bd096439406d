/**
 * The bounds of the job event streams (GET /v1/jobs/{jobId}/events) and of a job's history, each
 * with its reason. The heartbeat and the number of streams are configurable (gateway.config.ts);
 * these are their defaults and ranges.
 */

/**
 * A comment line every this many seconds on an open stream: proxies and load balancers close a
 * connection idle for 60 s or more (nginx's proxy_read_timeout, AWS ALB's idle timeout), so the
 * default stays well under that.
 */
export const JOB_EVENTS_HEARTBEAT_SEC_DEFAULT = 15;
export const JOB_EVENTS_HEARTBEAT_SEC_MIN = 1;
/** well under the SDK's idle limit (90 s without a byte and a watcher reconnects: two heartbeats missed), so a configured heartbeat never makes watchers churn */
export const JOB_EVENTS_HEARTBEAT_SEC_MAX = 30;

/**
 * Open streams one gateway process serves at once. Each holds a socket, two timers and a small
 * query per update of its job (or per poll); beyond this a new stream is refused with 503
 * TOO_MANY_STREAMS and Retry-After, so a flood of watchers cannot starve the API on the same event
 * loop (another replica, or this one a moment later, takes it).
 */
export const JOB_EVENTS_STREAMS_MAX_DEFAULT = 1_000;
export const JOB_EVENTS_STREAMS_MAX_LIMIT = 20_000;

/** What a refused stream is told to wait before it reconnects, in seconds. */
export const JOB_EVENTS_RETRY_AFTER_SEC = 5;

/**
 * The `retry:` an open stream sends: how long an EventSource waits before it reconnects after the
 * connection drops (a gateway restart); short, since a reconnect only replays what was missed.
 */
export const JOB_EVENTS_RECONNECT_MS = 2_000;

/**
 * Updates one query of a stream reads; a stream that is further behind reads page after page. A
 * job has a dozen updates in its life, so one page is nearly always the whole replay.
 */
export const JOB_EVENTS_PAGE_SIZE = 100;

/**
 * A stream checks its job's updates at least this often even when nothing woke it: the wake-up
 * follows this process's projection, which may be stopped (failed, parked) while another replica
 * still projects. Cheap: one indexed query per stream per period.
 */
export const JOB_EVENTS_POLL_MS = 10_000;

/**
 * How long the wake-up loop waits on the projection before it looks again (and notices a
 * projection that stopped): the waiter it holds is one per process, whatever the streams.
 */
export const JOB_EVENTS_WAKE_WAIT_MS = 5_000;

/**
 * A stream lives at most this long, then the server closes it and the client reconnects with
 * Last-Event-ID (nothing is lost): long-lived connections then spread again over the replicas, and
 * a forgotten watcher of a job that never ends does not hold a slot for ever.
 */
export const JOB_EVENTS_STREAM_AGE_MAX_MS = 30 * 60_000;

/**
 * A client that reads slower than its updates come: once the socket's buffer is full the stream
 * waits for it to drain at most this long, then closes (the client resumes from its last id).
 */
export const JOB_EVENTS_DRAIN_TIMEOUT_MS = 30_000;
