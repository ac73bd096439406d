/** How long one HTTP call may take before it is aborted. */
export const REQUEST_TIMEOUT_MS_DEFAULT = 30_000;
/** Bytes of a non-JSON error body kept in the error message. */
const ERROR_TEXT_MAX = 500;

/** The gateway answered with a non-2xx status; `code`, `message` and `details` come from its `{ error }` body. */
export class StarMinerApiError extends Error {
  override readonly name = 'StarMinerApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly body?: unknown,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

/** The gateway could not be reached or did not answer in time. */
export class StarMinerNetworkError extends Error {
  override readonly name = 'StarMinerNetworkError';
  readonly code = 'NETWORK';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface HttpCall {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** The exact bytes to send (already serialised), or undefined for no body. */
  rawBody?: string;
}

export interface HttpResponse<T> {
  status: number;
  body: T;
}

export type FetchLike = typeof fetch;

/** One JSON call to `baseUrl + path`; a non-2xx answer becomes a StarMinerApiError. */
export async function callJson<T>(baseUrl: string, call: HttpCall, opts: { fetch?: FetchLike; timeoutMs?: number } = {}): Promise<HttpResponse<T>> {
  const doFetch = opts.fetch ?? fetch;
  const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
  if (call.rawBody !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await doFetch(new URL(call.path, baseUrl), {
      method: call.method,
      headers,
      body: call.rawBody,
      signal: AbortSignal.timeout(opts.timeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT),
    });
  } catch (cause) {
    throw new StarMinerNetworkError(`${call.method} ${call.path} failed: ${(cause as Error).message}`, { cause });
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!res.ok) {
    const err = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
    const code = typeof err?.code === 'string' ? err.code : `HTTP_${res.status}`;
    const message = typeof err?.message === 'string' ? err.message : text.slice(0, ERROR_TEXT_MAX) || res.statusText;
    throw new StarMinerApiError(res.status, code, message, err?.details, parsed);
  }
  return { status: res.status, body: parsed as T };
}
