import type { components, paths } from '../../libs/sdk/src/generated/openapi';

/**
 * A client generated from the OpenAPI document and nothing else: the types openapi-typescript
 * writes from docs/openapi.json (`paths`, `components`) and one typed `fetch` wrapper. It is part
 * of the repo's typecheck, so a document a generated client could not be written against (an
 * operation without a response schema, a path parameter the route does not have) fails it; and
 * tools/openapi/openapi.spec.ts compiles it against types generated afresh from the document.
 */

type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'patch';

/** The methods a path has (openapi-typescript marks the others `?: never`). */
export type MethodsOf<P extends keyof paths> = { [M in HttpMethod]-?: [NonNullable<paths[P][M]>] extends [never] ? never : M }[HttpMethod];
export type OperationOf<P extends keyof paths, M extends MethodsOf<P>> = NonNullable<paths[P][M]>;

type Params<O, K extends 'path' | 'query' | 'header'> = O extends { parameters: Record<K, infer X> }
  ? [X] extends [never]
    ? unknown
    : { [Q in K]: X }
  : O extends { parameters: Partial<Record<K, infer X>> }
    ? [NonNullable<X>] extends [never]
      ? unknown
      : { [Q in K]?: X }
    : unknown;

type Body<O> = O extends { requestBody: { content: { 'application/json': infer B } } } ? { body: B } : O extends { requestBody?: { content: { 'application/json': infer B } } } ? { body?: B } : unknown;

/** What a call takes: its path parameters, query, headers and body, each as the document types them. */
export type CallInit<O> = Params<O, 'path'> & Params<O, 'query'> & Params<O, 'header'> & Body<O> & { signal?: AbortSignal };

type SuccessStatus = 200 | 201 | 202 | 204;
/** The body of a 2xx answer, as the document types it (never for a 2xx without one). */
export type SuccessBody<O> = O extends { responses: infer R }
  ? { [S in keyof R]: S extends SuccessStatus ? (R[S] extends { content: { 'application/json': infer B } } ? B : undefined) : never }[keyof R]
  : never;

export type ErrorEnvelope = components['schemas']['ErrorEnvelope'];
export type CallResult<O> = { ok: true; status: number; data: SuccessBody<O> } | { ok: false; status: number; error: ErrorEnvelope['error'] };

export interface TypedClient {
  call<P extends keyof paths, M extends MethodsOf<P>>(method: M, path: P, init: CallInit<OperationOf<P, M>>): Promise<CallResult<OperationOf<P, M>>>;
}

export interface TypedClientOptions {
  baseUrl: string;
  /** sent as Authorization: Bearer (an org's API key, or the operator token) */
  token?: string;
  fetch?: typeof fetch;
}

export function createTypedClient(opts: TypedClientOptions): TypedClient {
  const doFetch = opts.fetch ?? fetch;
  return {
    async call(method, path, init) {
      const { path: pathParams, query, header, body, signal } = init as { path?: Record<string, string>; query?: Record<string, unknown>; header?: Record<string, string>; body?: unknown; signal?: AbortSignal };
      const filled = String(path).replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(pathParams?.[name] ?? ''));
      const url = new URL(filled, opts.baseUrl);
      for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
      const headers: Record<string, string> = { ...header, ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await doFetch(url, { method: method.toUpperCase(), headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
      const text = await res.text();
      const json: unknown = text ? JSON.parse(text) : undefined;
      if (res.ok) return { ok: true, status: res.status, data: json } as never;
      return { ok: false, status: res.status, error: (json as ErrorEnvelope).error };
    },
  };
}

/**
 * A requester's round trip written only against the generated types: submit a job, read it,
 * cancel it if it is still queued. Typechecking this is the point; a test may also run it.
 */
export async function submitReadCancel(
  client: TypedClient,
  job: components['schemas']['SubmitJobRequest'],
  idempotencyKey: string,
): Promise<{ job: components['schemas']['Job']; cancelled: boolean }> {
  const submitted = await client.call('post', '/v1/jobs', { body: job, header: { 'Idempotency-Key': idempotencyKey } });
  if (!submitted.ok) throw new Error(`${submitted.status} ${submitted.error.code}: ${submitted.error.message}`);
  const read = await client.call('get', '/v1/jobs/{jobId}', { path: { jobId: submitted.data.jobId } });
  if (!read.ok) throw new Error(`${read.status} ${read.error.code}`);
  const status: components['schemas']['JobStatus'] = read.data.status;
  if (status !== 'queued') return { job: read.data, cancelled: false };
  const cancel = await client.call('post', '/v1/jobs/{jobId}/cancel', { path: { jobId: read.data.jobId } });
  if (!cancel.ok && cancel.error.code !== 'JOB_NOT_CANCELLABLE' && cancel.error.code !== 'JOB_ALREADY_FINAL') throw new Error(`${cancel.status} ${cancel.error.code}`);
  return { job: read.data, cancelled: cancel.ok };
}

/** The public price board, every page, typed by the document. */
export async function allMarkets(client: TypedClient, gpuModel?: string): Promise<components['schemas']['MarketPrice'][]> {
  const markets: components['schemas']['MarketPrice'][] = [];
  let cursor: string | undefined;
  do {
    const page = await client.call('get', '/v1/market/prices', { query: { gpuModel, cursor } });
    if (!page.ok) throw new Error(`${page.status} ${page.error.code}`);
    markets.push(...page.data.markets);
    cursor = page.data.nextCursor ?? undefined;
  } while (cursor);
  return markets;
}
