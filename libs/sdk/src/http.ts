import { StarMinerApiError, StarMinerNetworkError } from './errors';
import { SDK_LIMITS } from './limits';

/** The fetch the SDK calls: the platform's, or one the caller passes (a proxy agent, a test's fake). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;
/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface RetryOptions {
  /** Attempts of one call, the first included (default 3, at most 10); 1 turns retries off. */
  maxAttempts?: number;
  /** The longest wait between two attempts (default 30 s); a Retry-After longer than this ends the retries. */
  maxDelayMs?: number;
}

export interface TransportOptions {
  /** The gateway, e.g. `https://gateway.example.com` (a path prefix is kept: `https://host/api`). */
  baseUrl: string;
  fetch?: FetchLike;
  /** One attempt's limit (default 30 s). */
  timeoutMs?: number;
  retry?: RetryOptions;
  /** Sent as `user-agent` where the platform lets a script set it (Node; not browsers). */
  userAgent?: string;
  /** For tests: a fake clock's sleep. */
  sleep?: Sleep;
}

export type HeaderMap = Record<string, string>;

export interface RequestSpec {
  method: 'GET' | 'POST' | 'DELETE';
  /** The path with its parameters already encoded, without the query. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** JSON-serialised as sent; bigints become decimal strings (the API's amounts). */
  body?: unknown;
  /** Headers, or a function of what is sent that makes them per attempt (a node signature with a fresh nonce). */
  headers?: HeaderMap | ((sent: { method: string; path: string; rawBody: string | undefined }) => Promise<HeaderMap>);
  /**
   * Whether sending it again is safe: a read, or a write with an idempotency key. Only these are
   * retried (on 429, 503, an IDEMPOTENCY_IN_PROGRESS, or a network error).
   */
  retry: boolean;
  signal?: AbortSignal;
  accept?: string;
}

/** Statuses that say "not now, nothing done": the retries' reason to exist. */
const RETRY_STATUSES = new Set([429, 503]);

export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort(): void {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });

/** The retry settings of a client, bounded. */
export function retryPolicyOf(retry: RetryOptions | undefined): Required<RetryOptions> {
  const maxAttempts = Math.floor(retry?.maxAttempts ?? SDK_LIMITS.retryAttemptsDefault);
  const maxDelayMs = retry?.maxDelayMs ?? SDK_LIMITS.retryDelayMsDefault;
  return {
    maxAttempts: Math.min(Math.max(Number.isFinite(maxAttempts) ? maxAttempts : 1, 1), SDK_LIMITS.retryAttemptsMax),
    maxDelayMs: Math.min(Math.max(Number.isFinite(maxDelayMs) ? maxDelayMs : 0, 0), SDK_LIMITS.retryDelayMsMax),
  };
}

/**
 * A Retry-After header in seconds: `delta-seconds` or an HTTP date (RFC 9110), or undefined for
 * none or garbage. A date in the past is 0.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^[0-9]{1,10}$/.test(text)) return Number(text);
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/**
 * The wait before attempt `attempt + 1`: exponential backoff with full jitter (so clients that failed
 * together do not come back together), but never sooner than the server's Retry-After. Null when
 * the server asks for a longer wait than `maxDelayMs`: the caller gets the error (with its
 * retryAfterSec) instead of a retry the server said would fail.
 */
export function retryDelayMs(attempt: number, retryAfterSec: number | undefined, maxDelayMs: number, random: () => number = Math.random): number | null {
  const backoff = Math.min(maxDelayMs, SDK_LIMITS.retryBaseDelayMs * 2 ** Math.min(attempt - 1, 20));
  const jittered = Math.floor(random() * backoff);
  if (retryAfterSec === undefined) return jittered;
  const floor = retryAfterSec * 1000;
  return floor > maxDelayMs ? null : Math.max(floor, jittered);
}

/** JSON with the API's amounts: bigints as decimal strings. */
export const toJson = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

export function urlOf(baseUrl: string, path: string, query?: RequestSpec['query']): string {
  const base = baseUrl.endsWith('/') ? baseUrl.slice(0, -1) : baseUrl;
  const entries = Object.entries(query ?? {}).filter((e): e is [string, string | number | boolean] => e[1] !== undefined);
  const search = entries.length === 0 ? '' : `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
  return `${base}${path}${search}`;
}

/** The path and query as sent (what a node signature covers). */
const pathAndQueryOf = (url: string): string => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};

/**
 * A signal that aborts when any of `signals` does (AbortSignal.any where the platform has it,
 * else by hand), and a function that drops the listeners once the call is done.
 */
export function anySignal(signals: (AbortSignal | undefined)[]): { signal: AbortSignal; dispose(): void } {
  const given = signals.filter((s): s is AbortSignal => s !== undefined);
  const controller = new AbortController();
  const onAbort = (e: Event): void => controller.abort((e.target as AbortSignal).reason);
  for (const s of given) {
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    s.addEventListener('abort', onAbort, { once: true });
  }
  return { signal: controller.signal, dispose: () => given.forEach((s) => s.removeEventListener('abort', onAbort)) };
}

/** The platform's fetch, looked up per call (so a polyfill installed later is used) and called unbound (browsers refuse `this` other than window). */
const platformFetch: FetchLike = (input, init) => globalThis.fetch(input, init);

/** An error a non-2xx answer becomes: the envelope's code, message and details, and when to retry. */
export function apiErrorOf(res: Response, text: string): StarMinerApiError {
  let parsed: unknown;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  const envelope = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  const code = typeof envelope?.code === 'string' ? envelope.code : `HTTP_${res.status}`;
  const message = typeof envelope?.message === 'string' ? envelope.message : text.slice(0, SDK_LIMITS.errorTextMax) || res.statusText || `HTTP ${res.status}`;
  const details = envelope?.details !== null && typeof envelope?.details === 'object' ? (envelope.details as Record<string, unknown>) : undefined;
  const fromDetails = typeof details?.retryAfterSec === 'number' && details.retryAfterSec >= 0 ? details.retryAfterSec : undefined;
  const retryAfterSec = parseRetryAfter(res.headers.get('retry-after')) ?? fromDetails;
  return new StarMinerApiError(res.status, code, message, details, { retryAfterSec, body: parsed });
}

/**
 * One HTTP exchange with the gateway: retries what is safe to retry (RequestSpec.retry) on 429, 503,
 * IDEMPOTENCY_IN_PROGRESS and network errors, with backoff honouring Retry-After and bounded by
 * the retry policy; each attempt bounded by the timeout; the caller's signal ends it at any point
 * (rejecting with the signal's reason, as fetch does).
 *
 * `stream: true` answers the Response of a 2xx as it arrives (its body unread, the timeout covering
 * the headers only): the event stream's use.
 */
export async function send(t: TransportOptions, spec: RequestSpec, mode: { stream: true }): Promise<Response>;
export async function send(t: TransportOptions, spec: RequestSpec, mode?: { stream?: false }): Promise<unknown>;
export async function send(t: TransportOptions, spec: RequestSpec, mode: { stream?: boolean } = {}): Promise<unknown> {
  const policy = retryPolicyOf(t.retry);
  const sleep = t.sleep ?? realSleep;
  const doFetch = t.fetch ?? platformFetch;
  const timeoutMs = t.timeoutMs ?? SDK_LIMITS.requestTimeoutMsDefault;
  const url = urlOf(t.baseUrl, spec.path, spec.query);
  const rawBody = spec.body === undefined ? undefined : toJson(spec.body);
  const what = `${spec.method} ${spec.path}`;
  for (let attempt = 1; ; attempt += 1) {
    spec.signal?.throwIfAborted();
    const extra = typeof spec.headers === 'function' ? await spec.headers({ method: spec.method, path: pathAndQueryOf(url), rawBody }) : (spec.headers ?? {});
    const headers: HeaderMap = { accept: spec.accept ?? 'application/json', ...extra };
    if (rawBody !== undefined) headers['content-type'] = 'application/json';
    if (t.userAgent) headers['user-agent'] = t.userAgent;

    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new StarMinerNetworkError(`${what}: no answer in ${timeoutMs} ms`, { code: 'TIMEOUT' })), timeoutMs);
    const combined = anySignal([spec.signal, timeout.signal]);
    let res: Response | undefined;
    let text = '';
    let failure: StarMinerNetworkError | undefined;
    try {
      res = await doFetch(url, { method: spec.method, headers, body: rawBody, signal: combined.signal });
      if (mode.stream && res.ok) return res;
      text = await res.text();
    } catch (cause) {
      if (spec.signal?.aborted) throw spec.signal.reason;
      failure = timeout.signal.aborted
        ? (timeout.signal.reason as StarMinerNetworkError)
        : new StarMinerNetworkError(`${what} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    } finally {
      clearTimeout(timer);
      combined.dispose();
    }

    if (failure) {
      if (!spec.retry || attempt >= policy.maxAttempts) throw failure;
      await sleep(retryDelayMs(attempt, undefined, policy.maxDelayMs)!, spec.signal);
      continue;
    }
    if (res!.ok) return parseBody(text, what);
    const err = apiErrorOf(res!, text);
    const retryable = RETRY_STATUSES.has(err.status) || err.code === 'IDEMPOTENCY_IN_PROGRESS';
    if (spec.retry && retryable && attempt < policy.maxAttempts) {
      const delay = retryDelayMs(attempt, err.retryAfterSec, policy.maxDelayMs);
      if (delay !== null) {
        await sleep(delay, spec.signal);
        continue;
      }
    }
    throw err;
  }
}

function parseBody(text: string, what: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new StarMinerNetworkError(`${what}: the answer is not JSON (${text.slice(0, 80)})`, { cause });
  }
}
