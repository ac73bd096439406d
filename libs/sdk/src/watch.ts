import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { StarMinerApiError, StarMinerNetworkError } from './errors';
import { realSleep, send, type HeaderMap, type TransportOptions } from './http';
import { SDK_LIMITS } from './limits';
import { isFinalJobStatus, type Job, type JobUpdate } from './types';

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
/** How long a stream may stay silent (the gateway sends a heartbeat comment well within it) before it counts as dropped. */
const STREAM_IDLE_MS_MAX = 60_000;

/**
 * The updates of a job as they happen, over Server-Sent Events (`GET /v1/jobs/{jobId}/events`):
 * first those the watcher has not seen (all of them, or those after `lastEventId`), then live ones;
 * it ends after the update that brings the job to a final status.
 *
 * A dropped stream (a gateway restart, a proxy's cut, silence past a minute) is reconnected with
 * `Last-Event-ID` = the last seq seen, after a backoff that doubles up to 10 s, so no update is
 * missed and none comes twice. Where the gateway has no event stream (404/405/406/501, or an answer
 * that is not `text/event-stream`), or connects keep failing, it falls back to polling getJob every
 * `pollIntervalMs`: then it yields one update per change of status or waiting reason, made from
 * the job's view (`seq: '0'`, `eventId: 'poll:<jobId>:<status>'`; intermediate statuses between
 * two polls are not seen).
 */
export async function* watchJob(ctx: WatchContext, params: WatchJobParams): AsyncGenerator<JobUpdate, void, undefined> {
  const { jobId, signal } = params;
  if (params.lastEventId !== undefined && !SEQ.test(params.lastEventId)) throw new TypeError(`lastEventId must be a JobUpdate seq (decimal), got ${JSON.stringify(params.lastEventId)}`);
  let last = params.lastEventId;
  let failures = 0;
  let serverRetryMs: number | undefined;
  const sleep = ctx.transport.sleep ?? realSleep;
  const delayMs = (): number =>
    Math.min(SDK_LIMITS.watchReconnectDelayMsMax, Math.max(serverRetryMs ?? 0, SDK_LIMITS.watchReconnectDelayMsBase * 2 ** Math.min(Math.max(failures - 1, 0), 10)));

  for (;;) {
    signal?.throwIfAborted();
    let res: Response;
    try {
      res = await send(
        ctx.transport,
        {
          method: 'GET',
          path: `/v1/jobs/${encodeURIComponent(jobId)}/events`,
          headers: { ...ctx.headers(), 'cache-control': 'no-cache', ...(last !== undefined ? { 'last-event-id': last } : {}) },
          accept: 'text/event-stream',
          retry: false,
          signal,
        },
        { stream: true },
      );
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof StarMinerApiError) {
        if (streamUnavailable(err)) return yield* pollJob(ctx, params);
        // a refusal (the job is not the caller's, the key is wrong, the id is malformed) will not change on reconnect
        if (err.status < 500 && err.status !== 429) throw err;
        if (err.retryAfterSec !== undefined) serverRetryMs = err.retryAfterSec * 1000;
      } else if (!(err instanceof StarMinerNetworkError)) {
        throw err;
      }
      failures += 1;
      if (failures >= SDK_LIMITS.watchConnectFailuresMax) return yield* pollJob(ctx, params);
      await sleep(delayMs(), signal);
      continue;
    }
    // 204: the job has ended and every update was sent before; nothing more will come
    if (res.status === 204) return;
    if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
      await res.body?.cancel().catch(() => undefined);
      return yield* pollJob(ctx, params);
    }

    // a stream that sent anything (a heartbeat included) was a working connection, whatever ended it
    const stream = { alive: false };
    try {
      for await (const message of messagesOf(res, signal, stream, (ms) => (serverRetryMs = ms))) {
        const update = updateOf(message);
        if (!update || update.jobId !== jobId) continue;
        // after a reconnect the gateway replays from Last-Event-ID; anything at or before it was seen
        if (last !== undefined && BigInt(update.seq) <= BigInt(last)) continue;
        last = update.seq;
        yield update;
        if (isFinalJobStatus(update.status)) return;
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      // the stream broke mid-way: reconnect from the last seq
    }
    signal?.throwIfAborted();
    failures = stream.alive ? 1 : failures + 1;
    if (failures >= SDK_LIMITS.watchConnectFailuresMax) return yield* pollJob(ctx, params);
    await sleep(delayMs(), signal);
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
 * breaks, stays silent past STREAM_IDLE_MS_MAX, or the signal aborts; `stream.alive` says whether anything came. Cancels the body when the
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
    idle = setTimeout(stop, STREAM_IDLE_MS_MAX);
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

/** The fallback: the job's view every interval, one update per change, until a final status. */
async function* pollJob(ctx: WatchContext, params: WatchJobParams): AsyncGenerator<JobUpdate, void, undefined> {
  const { jobId, signal } = params;
  const sleep = ctx.transport.sleep ?? realSleep;
  const intervalMs = Math.max(params.pollIntervalMs ?? SDK_LIMITS.watchPollIntervalMsDefault, SDK_LIMITS.watchPollIntervalMsMin);
  let seen: string | undefined;
  let failures = 0;
  for (;;) {
    let job: Job;
    try {
      job = await ctx.getJob({ jobId, signal });
      failures = 0;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const passing = err instanceof StarMinerNetworkError || (err instanceof StarMinerApiError && (err.status >= 500 || err.status === 429));
      failures += 1;
      if (!passing || failures >= SDK_LIMITS.watchPollFailuresMax) throw err;
      await sleep(intervalMs, signal);
      continue;
    }
    const update = polledUpdate(job);
    const key = `${update.type}:${update.waitingReason ?? ''}`;
    if (key !== seen) {
      seen = key;
      yield update;
    }
    if (isFinalJobStatus(job.status)) return;
    await sleep(intervalMs, signal);
  }
}
