/**
 * Every bound of the SDK, named once with its reason. The SDK is a package of its own (it cannot
 * import the gateway's catalogue), so where a bound mirrors one of the gateway's, a spec checks
 * that the two agree.
 */
export const SDK_LIMITS = {
  /** One HTTP attempt (connect, answer and body) may take this long before it is aborted. */
  requestTimeoutMsDefault: 30_000,
  /** Attempts of one call, the first included, when the caller says nothing: one try and two retries. */
  retryAttemptsDefault: 3,
  /** Attempts of one call whatever the caller asks: a market that answers 503 this often is down. */
  retryAttemptsMax: 10,
  /** The first backoff delay; it doubles per attempt (with full jitter). */
  retryBaseDelayMs: 250,
  /** The longest wait between two attempts when the caller says nothing; a Retry-After beyond it ends the retries. */
  retryDelayMsDefault: 30_000,
  /** The longest wait between two attempts whatever the caller asks. */
  retryDelayMsMax: 5 * 60_000,
  /** Characters of a non-JSON error body kept in the error's message. */
  errorTextMax: 500,
  /** Items per page the gateway answers at most (the gateway's LIMITS.pageSizeMax) and its default. */
  pageSizeMax: 100,
  pageSizeDefault: 50,
  /** Pages one iterator walks at most: a gateway that kept answering a next cursor would otherwise never end it. */
  pagesMax: 100_000,
  /** Updates getJobHistory collects at most (a job has a few dozen). */
  historyUpdatesMax: 10_000,
  /** watchJob: the first wait before reconnecting a dropped stream; it doubles per failed connect. */
  watchReconnectDelayMsBase: 500,
  /** watchJob: the longest wait between reconnects (a server's `retry:` is bounded by it too). */
  watchReconnectDelayMsMax: 10_000,
  /**
   * watchJob: connects in a row that bring no event before it falls back to polling (about a minute
   * of waits). A refusal with a Retry-After (429, 503 TOO_MANY_STREAMS) is the server saying when to
   * come back, not a failure: it does not count.
   */
  watchConnectFailuresMax: 10,
  /**
   * watchJob: the longest wait it honours of a server's Retry-After (reconnecting the stream, or
   * between two polls), however long the server asked: past it, the watcher asks again.
   */
  watchRetryAfterMsMax: 5 * 60_000,
  /**
   * watchJob: how long a stream may stay silent before it counts as dropped and is reconnected. The
   * gateway sends a `: heartbeat` comment every JOB_EVENTS_HEARTBEAT_SEC, at most
   * JOB_EVENTS_HEARTBEAT_SEC_MAX = 30 s (apps/gateway/src/job-events/job-events-limits.ts; a spec
   * checks it stays at least twice that). Three of its longest periods: a stream is dropped only
   * when two heartbeats in a row did not come, never for one lost or held up (a proxy's buffer, a
   * busy event loop), which at exactly twice the period would already drop it; a dead connection
   * is still found within 90 s.
   */
  watchStreamIdleMsMax: 90_000,
  /** watchJob's polling fallback: how often it asks for the job; at least a second, so many watchers stay cheap. */
  watchPollIntervalMsDefault: 2_000,
  watchPollIntervalMsMin: 1_000,
  /** watchJob's polling fallback: failed polls in a row before it gives up with the last error (a Retry-After's wait does not count). */
  watchPollFailuresMax: 10,
  /** One SSE message's data; a job update is well under a kilobyte, more is not our gateway. */
  sseMessageCharsMax: 64 * 1024,
  /** waitForJob: how long it waits when the caller says nothing, and at most. */
  waitTimeoutMsDefault: 10 * 60_000,
  waitTimeoutMsMax: 30 * 60_000,
  /**
   * waitForJob: quick reads of the job after an update it waits on, while the job's view is behind
   * its event stream, this far apart; past them it reads every watchPollIntervalMsDefault until the
   * view shows the update or the wait runs out (it resolves only with a job in a wanted status).
   */
  waitViewReadsMax: 10,
  waitViewReadDelayMs: 500,
  /** verifyWebhookSignature: a delivery signed longer ago than this (or this far ahead) is refused, so a captured one cannot be replayed later. */
  webhookToleranceSecDefault: 300,
  /** verifyWebhookSignature: the longest signature header it reads (a few `v1=` entries). */
  webhookSignatureHeaderCharsMax: 2_048,
  /** parseAgpu: the longest amount text it reads (78 digits hold any uint256). */
  agpuTextCharsMax: 100,
  /**
   * A provider client with node sessions logs in again once this share of its session's life has
   * passed (the gateway's NODE_SESSION_TTL_SEC, an hour by default): the old token keeps serving
   * calls while the new login runs, so a renewal never holds a call up.
   */
  nodeSessionRenewAtFraction: 0.8,
  /** The gateway's Idempotency-Key: 1-128 printable ASCII (the gateway's LIMITS.idempotencyKeyLengthMax). */
  idempotencyKeyCharsMax: 128,
} as const;
