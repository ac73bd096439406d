import type { FetchLike, Sleep } from '../src/http';

/** One request the fake saw. */
export interface SeenCall {
  url: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** What the fake answers a call with: a Response, an error to throw (a network failure), or `'hang'` (never answers until aborted). */
export type FakeAnswer = Response | Error | 'hang';

/**
 * A scripted fetch for the SDK's unit specs: answers the calls in order from `script` (a list, or
 * a function of the call), records every call. An unscripted call fails the spec loudly.
 */
export function fakeFetch(script: FakeAnswer[] | ((call: SeenCall, index: number) => FakeAnswer | Promise<FakeAnswer>)) {
  const calls: SeenCall[] = [];
  const fetch: FetchLike = async (input, init) => {
    const url = new URL(input);
    const call: SeenCall = {
      url: input,
      path: `${url.pathname}${url.search}`,
      method: init.method ?? 'GET',
      headers: Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v])),
      body: typeof init.body === 'string' ? init.body : undefined,
      signal: init.signal ?? undefined,
    };
    calls.push(call);
    const index = calls.length - 1;
    const answer = typeof script === 'function' ? await script(call, index) : script[index];
    if (answer === undefined) throw new Error(`fake fetch: no answer scripted for call ${index + 1}: ${call.method} ${call.path}`);
    if (answer === 'hang') {
      return new Promise<Response>((_resolve, reject) => {
        if (call.signal?.aborted) return reject(call.signal.reason);
        call.signal?.addEventListener('abort', () => reject(call.signal!.reason), { once: true });
      });
    }
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { fetch, calls };
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

export const apiError = (status: number, code: string, message = code, extra: { headers?: Record<string, string>; details?: Record<string, unknown> } = {}): Response =>
  json(status, { error: { code, message, ...(extra.details ? { details: extra.details } : {}) } }, extra.headers);

/**
 * A `text/event-stream` answer whose body is `chunks` (split wherever the spec likes, to test
 * reassembly), then `end`: the stream closes, breaks with an error, or stays open until the
 * reader cancels it (`cancelled` says whether it did).
 */
export function sseResponse(chunks: string[], end: 'close' | 'error' | 'hang' = 'close') {
  const state = { cancelled: false };
  const encoder = new TextEncoder();
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) {
        controller.enqueue(encoder.encode(chunks[i]));
        i += 1;
        return;
      }
      if (end === 'close') controller.close();
      else if (end === 'error') controller.error(new TypeError('terminated'));
      else return new Promise<void>(() => undefined);
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { response: new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } }), state };
}

/** One SSE message of a job update. */
export const sseMessage = (update: { seq: string; type: string }): string => `id: ${update.seq}\nevent: ${update.type}\ndata: ${JSON.stringify(update)}\n\n`;

/** A sleep that returns at once and records what it was asked to wait (and honours an abort). */
export function fakeSleep() {
  const waits: number[] = [];
  const sleep: Sleep = async (ms, signal) => {
    signal?.throwIfAborted();
    waits.push(ms);
    await Promise.resolve();
  };
  return { sleep, waits };
}
