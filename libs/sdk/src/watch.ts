import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { StarMinerApiError, StarMinerNetworkError } from './errors';
import { realSleep, send, type HeaderMap, type TransportOptions } from './http';
import { SDK_LIMITS } from './limits';
import { FINAL_JOB_STATUSES, isFinalJobStatus, JOB_STATUSES, type Job, type JobUpdate } from './types';

export interface WatchJobParams {
  jobId: string;
  /** Resume after this update (a JobUpdate's `seq`, the SSE id): only later updates come. */
  lastEventId?: string;
  signal?: AbortSignal;
  /** The polling fallback's interval (default 2 s, at least 1 s). */
  pollIntervalMs?: number;
}

/** What watchJob needs of its client. */
export interface WatchContext {
  transport: TransportOptions;
  headers(): HeaderMap;
  getJob(p: { jobId: string; signal?: AbortSignal }): Promise<Job>;
}

const SEQ = /^[0-9]{1,20}$/;

/** Any final status's place on a job's way: after every other. */
const FINAL_RANK = JOB_STATUSES.length - FINAL_JOB_STATUSES.length;
/**
 * Where a status lies on a job's way (queued 0, matched 1, ... completed 4, any final 5): a job's
 * status only moves forward, so an update ranked below the job's status is from its past.
 */
export const jobStatusRank = (status: string): number => (isFinalJobStatus(status) ? FINAL_RANK : (JOB_STATUSES as readonly string[]).indexOf(status));

/** What a watcher has yielded so far: the last seq of the stream, and where the job stood in the last update. */
interface Seen {
  seq: string | undefined;
  /** The status (and a queued job's waiting reason) of the last update yielded: the polling fallback yields only a change of it. */
  key: string | undefined;
  /** How far along the job was in the last update yielded (progressOf): a view behind it is not yielded. */
  progress: number;
}

/** A queued job's waiting reason counts; a waiting update of a job past queued changes nothing a view shows. */
const keyOf = (u: Pick<JobUpdate, 'status' | 'waitingReason'>): string => (u.status === 'queued' ? `queued:${u.waitingReason ?? ''}` : u.status);
/** A status's rank, with a queued job that has a waiting reason after one that has none yet (a reason is never cleared while queued). */
const progressOf = (u: Pick<JobUpdate, 'status' | 'waitingReason'>): number => jobStatusRank(u.status) * 2 + (u.status === 'queued' && u.waitingReason ? 1 : 0);

/** Whether a polled view is behind what was yielded (a status this SDK does not know is never taken for behind). */
const behind = (seen: Seen, u: JobUpdate): boolean => jobStatusRank(u.status) >= 0 && progressOf(u) < seen.progress;

function markYielded(seen: Seen, u: JobUpdate): void {
  seen.key = keyOf(u);
  if (jobStatusRank(u.status) >= 0) seen.progress = Math.max(seen.progress, progressOf(u));
}

/** A Retry-After as the wait a watcher honours: bounded by watchRetryAfterMsMax. */
const retryAfterMsOf = (err: StarMinerApiError): number | undefined => (err.retryAfterSec === undefined ? undefined : Math.min(err.retryAfterSec * 1000, SDK_LIMITS.watchRetryAfterMsMax));

/**
 * The updates of a job as they happen, over Server-Sent Events (`GET /v1/jobs/{jobId}/events`):
 * first those the watcher has not seen (all of them, or those after `lastEventId`), then live ones;
 * it ends after the update that brings the job to a final status.
 *
 * A dropped stream (a gateway restart, a proxy's cut, silence past watchStreamIdleMsMax) is
 * reconnected with `Last-Event-ID` = the last seq seen, after a backoff that doubles up to 10 s, or
 * the answer's Retry-After where it is longer (up to watchRetryAfterMsMax; such a wait is not a
 * failure), so no update is missed and none comes twice. Where the gateway has no event stream
 * (404/405/406/501, or an answer that is not `text/event-stream`), or connects keep failing, it
 * falls back to polling getJob every `pollIntervalMs` (longer where an answer's Retry-After says):
 * then it yields one update per change of status or waiting reason, made from the job's view
 * (`seq: '0'`, `eventId: 'poll:<jobId>:<status>'`; intermediate statuses between two polls are not
 * seen), never the job as the stream last showed it again, nor a view still behind it.
 */
export async function* watchJob(ctx: WatchContext, params: WatchJobParams): AsyncGenerator<JobUpdate, void, undefined> {
  const { jobId, signal } = params;
  if (params.lastEventId !== undefined && !SEQ.test(params.lastEventId)) throw new TypeError(`lastEventId must be a JobUpdate seq (decimal), got ${JSON.stringify(params.lastEventId)}`);
  const seen: Seen = { seq: params.lastEventId, key: undefined, progress: -1 };
  // connects in a row that failed: `failures` those without a Retry-After (toward the fallback), `attempts` all of them (the backoff)
  let failures = 0;
  let attempts = 0;
  // the stream's own `retry:` field, bounded; a Retry-After counts for the one wait it came with
  let streamRetryMs: number | undefined;
  const sleep = ctx.transport.sleep ?? realSleep;
  const backoffMs = (): number =>
    Math.min(SDK_LIMITS.watchReconnectDelayMsMax, Math.max(streamRetryMs ?? 0, SDK_LIMITS.watchReconnectDelayMsBase * 2 ** Math.min(Math.max(attempts - 1, 0), 10)));

  for (;;) {
    signal?.throwIfAborted();
    let res: Response;
    try {
      res = await send(
        ctx.transport,
        {
          method: 'GET',
          path: `/v1/jobs/${encodeURIComponent(jobId)}/events`,
          headers: { ...ctx.headers(), 'cache-control': 'no-cache', ...(seen.seq !== undefined ? { 'last-event-id': seen.seq } : {}) },
          accept: 'text/event-stream',
          retry: false,
          signal,
        },
        { stream: true },
      );
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      let retryAfterMs: number | undefined;
      if (err instanceof StarMinerApiError) {
        if (streamUnavailable(err)) return yield* pollJob(ctx, params, seen);
        // a refusal (the job is not the caller's, the key is wrong, the id is malformed) will not change on reconnect
        if (err.status < 500 && err.status !== 429) throw err;
        retryAfterMs = retryAfterMsOf(err);
      } else if (!(err instanceof StarMinerNetworkError)) {
        throw err;
      }
      attempts += 1;
      // a server that says when to come back is busy, not failing: its wait does not count toward the fallback
      if (retryAfterMs === undefined) failures += 1;
      if (failures >= SDK_LIMITS.watchConnectFailuresMax) return yield* pollJob(ctx, params, seen);
      await sleep(Math.max(backoffMs(), retryAfterMs ?? 0), signal);
      continue;
    }
    // 204: the job has ended and every update was sent before; nothing more will come
    if (res.status === 204) return;
    if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
      await res.body?.cancel().catch(() => undefined);
      return yield* pollJob(ctx, params, seen);
    }

    // a stream that sent anything (a heartbeat included) was a working connection, whatever ended it
    const stream = { alive: false };
    try {
      for await (const message of messagesOf(res, signal, stream, (ms) => (streamRetryMs = ms))) {
        const update = updateOf(message);
        if (!update || update.jobId !== jobId) continue;
        // after a reconnect the gateway replays from Last-Event-ID; anything at or before it was seen
        if (seen.seq !== undefined && BigInt(update.seq) <= BigInt(seen.seq)) continue;
        seen.seq = update.seq;
        markYielded(seen, update);
        yield update;
        if (isFinalJobStatus(update.status)) return;
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      // the stream broke mid-way: reconnect from the last seq
    }
    signal?.throwIfAborted();
    attempts = stream.alive ? 1 : attempts + 1;
    failures = stream.alive ? 1 : failures + 1;
    if (failures >= SDK_LIMITS.watchConnectFailuresMax) return yield* pollJob(ctx, params, seen);
    await sleep(backoffMs(), signal);
  }
}

/** A gateway without the event stream: the route is missing, or it refuses the media type. */
const streamUnavailable = (err: StarMinerApiError): boolean => (err.status === 404 && err.code !== 'JOB_NOT_FOUND') || err.status === 405 || err.status === 406 || err.status === 501;

/** One SSE message as a JobUpdate, or null for anything else (a message that is not one is skipped). */
function updateOf(message: EventSourceMessage): JobUpdate | null {
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return null;
  }
  const u = data as Partial<JobUpdate> | null;
  if (!u || typeof u !== 'object' || typeof u.seq !== 'string' || !SEQ.test(u.seq) || typeof u.status !== 'string' || typeof u.type !== 'string' || typeof u.jobId !== 'string') return null;
  return u as JobUpdate;
}

/**
 * The messages of one event stream, as they arrive. Ends when the stream ends; throws when it
 * breaks, stays silent past watchStreamIdleMsMax, or the signal aborts; `stream.alive` says whether anything came. Cancels the body when the
 * consumer stops early.
 */
async function* messagesOf(res: Response, signal: AbortSignal | undefined, stream: { alive: boolean }, onRetry: (ms: number) => void): AsyncGenerator<EventSourceMessage, void, undefined> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const queue: EventSourceMessage[] = [];
  const parser = createParser({
    onEvent: (m) => void queue.push(m),
    onRetry: (ms) => onRetry(Math.min(ms, SDK_LIMITS.watchReconnectDelayMsMax)),
    maxBufferSize: SDK_LIMITS.sseMessageCharsMax,
    onError: () => undefined,
  });
  let idle: ReturnType<typeof setTimeout> | undefined;
  const stop = (): void => void reader.cancel().catch(() => undefined);
  const armIdle = (): void => {
    clearTimeout(idle);
    idle = setTimeout(stop, SDK_LIMITS.watchStreamIdleMsMax);
  };
  signal?.addEventListener('abort', stop, { once: true });
  try {
    armIdle();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      stream.alive = true;
      armIdle();
      try {
        parser.feed(decoder.decode(value, { stream: true }));
      } catch {
        // past maxBufferSize the parser stops: not a stream of our gateway; drop it
        throw new StarMinerNetworkError('the event stream sent a message past its size limit');
      }
      while (queue.length > 0) yield queue.shift()!;
    }
  } finally {
    clearTimeout(idle);
    signal?.removeEventListener('abort', stop);
    stop();
  }
}

/** A job's view as an update: the polling fallback's unit. */
function polledUpdate(job: Job): JobUpdate {
  const waiting = job.status === 'queued' && !!job.waitingReason;
  const update: JobUpdate = {
    seq: '0',
    eventId: `poll:${job.jobId}:${job.status}`,
    type: waiting ? 'job.waiting' : `job.${job.status}`,
    jobId: job.jobId,
    status: job.status,
    at: job.updatedAt,
  };
  if (waiting) update.waitingReason = job.waitingReason!;
  if (job.nodeId) update.nodeId = job.nodeId;
  if (job.costWei) update.costWei = job.costWei;
  if (job.contractAddress) update.contractAddress = job.contractAddress;
  if (job.failure) update.failure = job.failure;
  return update;
}

/**
 * The fallback: the job's view every interval, one update per change, until a final status. It
 * goes on from what the stream yielded (`seen`): the job as the stream last showed it is not
 * yielded again, nor a view still behind it.
 */
async function* pollJob(ctx: WatchContext, params: WatchJobParams, seen: Seen): AsyncGenerator<JobUpdate, void, undefined> {
  const { jobId, signal } = params;
  const sleep = ctx.transport.sleep ?? realSleep;
  const intervalMs = Math.max(params.pollIntervalMs ?? SDK_LIMITS.watchPollIntervalMsDefault, SDK_LIMITS.watchPollIntervalMsMin);
  let failures = 0;
  for (;;) {
    let job: Job;
    try {
      job = await ctx.getJob({ jobId, signal });
      failures = 0;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const passing = err instanceof StarMinerNetworkError || (err instanceof StarMinerApiError && (err.status >= 500 || err.status === 429));
      if (!passing) throw err;
      // a Retry-After (past what getJob's own retries wait) is honoured, and is not a failure
      const retryAfterMs = err instanceof StarMinerApiError ? retryAfterMsOf(err) : undefined;
      if (retryAfterMs === undefined) {
        failures += 1;
        if (failures >= SDK_LIMITS.watchPollFailuresMax) throw err;
      }
      await sleep(Math.max(intervalMs, retryAfterMs ?? 0), signal);
      continue;
    }
    const update = polledUpdate(job);
    if (keyOf(update) !== seen.key && !behind(seen, update)) {
      markYielded(seen, update);
      yield update;
    }
    if (isFinalJobStatus(job.status)) return;
    await sleep(intervalMs, signal);
  }
}
