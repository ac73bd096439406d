import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import type { OpenAPIObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/**
 * Checks answers against the OpenAPI document, as a client generated from it would read them:
 * the operation must exist, the status must be one it documents, the media type one that status
 * documents, and a JSON body must validate against its schema (ajv, JSON Schema 2020-12 as OpenAPI
 * 3.1 uses it, with the document's components); an error body's code must be one that status lists.
 * `validatingFetch` wraps `fetch` so every answer a test receives from the gateway is checked.
 */

export interface Violation {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly operationId?: string;
  readonly problem: string;
}

export interface Answer {
  readonly method: string;
  /** the request's path (a query string is ignored) */
  readonly path: string;
  readonly status: number;
  /** the answer's Content-Type header, when it has one */
  readonly contentType?: string | null;
  /** the answer's body as text; undefined when it was not read (a stream) */
  readonly body?: string;
}

type Json = Record<string, unknown>;

interface OperationRef {
  readonly method: string;
  readonly template: string;
  readonly regex: RegExp;
  /** literal segments: the most specific template wins (`/v1/nodes/{id}` vs `/v1/nodes/search`) */
  readonly literals: number;
  readonly op: Json;
}

/** Where the document's components live for ajv: `$ref`s to `#/components/...` are made absolute against it. */
const DOCUMENT_ID = 'https://starminer.invalid/openapi.json';

/** How much of ajv's errors and a body a violation quotes: enough to fix it, not a wall of text. */
const ERRORS_QUOTED_MAX = 5;
const BODY_QUOTED_MAX = 300;

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The validator of a document's answers. */
export class AnswerValidator {
  private readonly ajv: Ajv2020;
  private readonly operations: OperationRef[] = [];
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(readonly doc: OpenAPIObject) {
    // strict off: OpenAPI adds keywords to JSON Schema (example); formats are checked where a client would check them
    this.ajv = new Ajv2020({ strict: false, allErrors: true, logger: false, validateFormats: true });
    this.ajv.addFormat('date-time', { type: 'string', validate: (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)) });
    this.ajv.addFormat('uri', { type: 'string', validate: (s: string) => URL.canParse(s) });
    this.ajv.addSchema({ $id: DOCUMENT_ID, components: doc.components ?? {} });
    for (const [template, item] of Object.entries(doc.paths ?? {})) {
      const parts = template.split('/');
      const regex = new RegExp(`^${parts.map((p) => (/^\{[^}]+\}$/.test(p) ? '[^/]+' : escapeRegex(p))).join('/')}$`);
      const literals = parts.filter((p) => p && !p.startsWith('{')).length;
      for (const method of METHODS) {
        const op = (item as Record<string, Json | undefined>)[method];
        if (op) this.operations.push({ method: method.toUpperCase(), template, regex, literals, op });
      }
    }
  }

  /** The violations of one answer (none when it is what the document says). */
  check(a: Answer): Violation[] {
    const path = a.path.split('?')[0]!;
    const method = a.method.toUpperCase();
    const base = { method, path, status: a.status };
    const op = this.operations.filter((o) => o.method === method && o.regex.test(path)).sort((x, y) => y.literals - x.literals)[0];
    if (!op) return [{ ...base, problem: `no operation of the document is ${method} ${path}` }];
    const operationId = op.op.operationId as string | undefined;
    const at = { ...base, operationId };
    const responses = (op.op.responses ?? {}) as Record<string, Json>;
    const response = responses[String(a.status)] ?? responses[`${String(a.status)[0]}XX`] ?? responses.default;
    if (!response) return [{ ...at, problem: `status ${a.status} is not documented (documented: ${Object.keys(responses).join(', ')})` }];
    const content = response.content as Record<string, Json> | undefined;
    const mediaType = a.contentType?.split(';')[0]?.trim().toLowerCase() || undefined;
    if (!content || Object.keys(content).length === 0) {
      return a.body ? [{ ...at, problem: `status ${a.status} documents no body, but one came (${mediaType ?? 'no content type'})` }] : [];
    }
    if (!mediaType || !content[mediaType]) return [{ ...at, problem: `media type ${mediaType ?? '(none)'} is not documented for ${a.status} (documented: ${Object.keys(content).join(', ')})` }];
    if (mediaType !== 'application/json' || a.body === undefined) return []; // a stream is not read here
    let body: unknown;
    try {
      body = JSON.parse(a.body);
    } catch {
      return [{ ...at, problem: `the body is not JSON: ${a.body.slice(0, BODY_QUOTED_MAX)}` }];
    }
    const schema = content[mediaType]!.schema as Json | undefined;
    if (!schema) return [{ ...at, problem: `${a.status} ${mediaType} has no schema` }];
    const validate = this.validatorOf(`${method} ${op.template} ${a.status} ${mediaType}`, schema);
    const out: Violation[] = [];
    if (!validate(body)) {
      const errors = (validate.errors ?? []).slice(0, ERRORS_QUOTED_MAX).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
      out.push({ ...at, problem: `the body does not fit the schema: ${errors.join('; ')}; body: ${a.body.slice(0, BODY_QUOTED_MAX)}` });
    }
    // an error answer's code must be one of those its status lists (each documented code is an example)
    const examples = content[mediaType]!.examples as Record<string, unknown> | undefined;
    const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
    if (a.status >= 400 && examples && typeof code === 'string' && !(code in examples)) {
      out.push({ ...at, problem: `error code ${code} is not documented for ${a.status} (documented: ${Object.keys(examples).join(', ')})` });
    }
    return out;
  }

  /** The problems of a request body for `method template` (an example, a body a test sends): none when it fits. */
  checkRequestBody(method: string, template: string, body: unknown): string[] {
    const op = this.operations.find((o) => o.method === method.toUpperCase() && o.template === template);
    if (!op) return [`no operation of the document is ${method} ${template}`];
    const schema = ((op.op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined)?.['application/json']?.schema as Json | undefined;
    if (!schema) return [`${method} ${template} takes no JSON body`];
    const validate = this.validatorOf(`${method} ${template} request`, schema);
    return validate(body) ? [] : (validate.errors ?? []).slice(0, ERRORS_QUOTED_MAX).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
  }

  private validatorOf(key: string, schema: Json): ValidateFunction {
    let v = this.compiled.get(key);
    if (!v) {
      const absolute = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${DOCUMENT_ID}#/components/`)) as Json;
      v = this.ajv.compile(absolute);
      this.compiled.set(key, v);
    }
    return v;
  }
}

/** A `fetch` that checks every answer from the gateway against the document, and keeps what did not fit. */
export interface ValidatingFetch {
  readonly fetch: typeof fetch;
  /** the validator itself, for answers a test receives otherwise (raw node:http requests) */
  readonly validator: AnswerValidator;
  /** the answers that did not fit so far */
  readonly violations: readonly Violation[];
  /** how many answers were checked */
  readonly checked: number;
  /** the violations so far, forgotten (a test's own: assert on it after each test) */
  take(): Violation[];
}

/**
 * Wraps `inner` (default: the global fetch). Answers from `origins` (default: the document's
 * absolute servers) are checked; every other request (the chain's RPC) passes unchecked. A JSON
 * body is read from a clone, so the caller reads it as usual; an event stream is checked by its
 * status and media type only.
 */
export function validatingFetch(doc: OpenAPIObject, inner: typeof fetch = fetch, opts: { origins?: readonly string[] } = {}): ValidatingFetch {
  const validator = new AnswerValidator(doc);
  const origins = new Set((opts.origins ?? (doc.servers ?? []).map((s) => s.url)).filter((u) => URL.canParse(u)).map((u) => new URL(u).origin));
  const violations: Violation[] = [];
  let checked = 0;
  const wrapped: typeof fetch = async (input, init) => {
    const res = await inner(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!origins.has(url.origin)) return res;
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const contentType = res.headers.get('content-type');
    const streamed = contentType?.startsWith('text/event-stream') ?? false;
    const body = streamed ? undefined : await res.clone().text();
    checked += 1;
    violations.push(...validator.check({ method, path: url.pathname, status: res.status, contentType, body: body === '' ? undefined : body }));
    return res;
  };
  return {
    fetch: wrapped,
    validator,
    get violations() {
      return violations;
    },
    get checked() {
      return checked;
    },
    take: () => violations.splice(0, violations.length),
  };
}

/** The document a running gateway serves (`/docs-json`): the one its answers are checked against. */
export async function servedDocument(gatewayUrl: string): Promise<OpenAPIObject> {
  const res = await fetch(`${gatewayUrl}/docs-json`);
  if (!res.ok) throw new Error(`GET /docs-json answered ${res.status}`);
  return (await res.json()) as OpenAPIObject;
}
