import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiExtension, ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiSecurity, DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { INestApplication } from '@nestjs/common';
import type { OpenAPIObject, ReferenceObject, SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { z } from 'zod';
import { API_COMPONENTS, apiComponentId, ERRORS, errorEnvelopeSchema, kindOf, type ErrorCode } from '@starminer/events';
import { STATUS_OF_KIND } from '@starminer/service-kit';

/**
 * The OpenAPI document is the contract clients are generated from: every operation says its
 * request, its answers and its errors, with schemas from the catalogue (one named component per
 * concept, under `components.schemas`). Controllers describe an operation with `Operation(...)`;
 * `openApiDocument` assembles the document (OpenAPI 3.1, JSON Schema 2020-12).
 */

/** The security schemes: an org's API key, the operator token, the node signature headers, and a node session. */
export const SECURITY = {
  apiKey: 'apiKey',
  operator: 'operatorToken',
  node: 'nodeSignature',
  nodeSession: 'nodeSession',
} as const;
/**
 * Who may call an operation: `node` is the node key, by a signed request or a session token (either
 * scheme); `nodeSigned` by a signed request only (the login: a session cannot renew itself).
 */
export type Auth = 'apiKey' | 'operator' | 'node' | 'nodeSigned' | 'public';

/** Each auth's security requirements, alternatives (any one suffices), each one scheme. */
export const SECURITY_OF: Record<Exclude<Auth, 'public'>, readonly (typeof SECURITY)[keyof typeof SECURITY][]> = {
  apiKey: [SECURITY.apiKey],
  operator: [SECURITY.operator],
  node: [SECURITY.node, SECURITY.nodeSession],
  nodeSigned: [SECURITY.node],
};

/** The extension naming each operation's auth, so a check (and a reader) sees public is meant, not forgotten. */
export const AUTH_EXTENSION = 'x-auth';

/** The headers of a request signed by a node key (docs/SERVICE-CONTRACT.md). */
export const NODE_SIGNATURE_HEADERS = [
  { name: 'x-node-address', description: 'the node key (0x + 40 hex)', schema: { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' } },
  { name: 'x-node-nonce', description: 'a decimal integer above the last one this key sent', schema: { type: 'string', pattern: '^[0-9]{1,20}$' } },
  { name: 'x-node-chain-id', description: "the chain id of the deployment the request is signed for (this gateway's CHAIN_ID)", schema: { type: 'string', pattern: '^[1-9][0-9]{0,14}$' } },
  { name: 'x-node-origin', description: "the gateway origin the request is signed for (scheme://host[:port], one of this gateway's public origins)", schema: { type: 'string', maxLength: 300 } },
  { name: 'x-node-signature', description: 'EIP-191 signature by the node key of nodeRequestMessage(method, path, nonce, chainId, origin, sha256(rawBody))', schema: { type: 'string', pattern: '^0x[0-9a-fA-F]{130}$' } },
] as const satisfies readonly { name: string; description: string; schema: SchemaObject }[];

export const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description: '1-128 printable ASCII characters: a retry with the same key and body gets the first answer again (a different body: 422 IDEMPOTENCY_KEY_REUSED)',
};

/**
 * A JSON Schema of a catalogue schema as it is on the wire (amounts as decimal strings); named
 * components by reference. `io: 'output'` describes what a query parameter means once parsed
 * (`limit` an integer 1..100, not the digits it arrives as), which is how clients send it.
 */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'input'): SchemaObject & Partial<ReferenceObject> {
  const id = apiComponentId(schema);
  if (id) return { $ref: `#/components/schemas/${id}` };
  // named subschemas come back under $defs: point them at the document's components, where they are emitted once
  const { $schema: _s, $defs: _d, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any', metadata: API_COMPONENTS }) as Record<string, unknown>;
  return JSON.parse(JSON.stringify(rest).replaceAll('"#/$defs/', '"#/components/schemas/')) as SchemaObject;
}

const componentUri = (id: string): string => `#/components/schemas/${id}`;

export interface Answer {
  /** the answer's body; none for an answer without one */
  schema?: z.ZodType;
  description: string;
  example?: unknown;
  /** the media type, when not application/json (text/event-stream) */
  mediaType?: string;
  headers?: Record<string, { description: string; schema?: SchemaObject }>;
}

export interface OperationSpec {
  /** the method name a generated client gets: verbNoun in camelCase (submitJob, listJobs) */
  operationId: string;
  summary: string;
  description?: string;
  auth: Auth;
  body?: z.ZodType;
  bodyExample?: unknown;
  /** The body may be left out (a heartbeat without telemetry). */
  bodyOptional?: boolean;
  /** an object schema of the query string: each key one parameter */
  query?: z.ZodObject;
  /** the path's parameters (`:name` in the route), each with its schema */
  params?: Record<string, { schema: z.ZodType; description: string }>;
  headers?: { name: string; required: boolean; description: string }[];
  /** the answers it gives when it succeeds, by status */
  answers: Record<number, Answer>;
  /** the error codes it may answer; grouped by their status, each with the ErrorEnvelope */
  errors: readonly ErrorCode[];
}

/**
 * Errors every operation may answer whatever it does: a body that is not JSON or too large, a
 * dependency away (503, with Retry-After), our own bug (500).
 */
const ALWAYS: readonly ErrorCode[] = ['DEPENDENCY_UNAVAILABLE', 'INTERNAL'];
const WITH_BODY: readonly ErrorCode[] = ['VALIDATION_FAILED', 'MALFORMED_JSON', 'JSON_TOO_DEEP', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];
const BY_AUTH: Record<Auth, readonly ErrorCode[]> = {
  apiKey: ['API_KEY_REQUIRED', 'API_KEY_INVALID'],
  operator: ['OPERATOR_TOKEN_INVALID'],
  node: ['NODE_SIGNATURE_REQUIRED', 'NODE_SIGNATURE_INVALID', 'NONCE_REPLAYED', 'NODE_SIGNATURE_WRONG_DEPLOYMENT', 'NODE_SESSION_INVALID', 'NODE_SESSION_EXPIRED'],
  nodeSigned: ['NODE_SIGNATURE_REQUIRED', 'NODE_SIGNATURE_INVALID', 'NONCE_REPLAYED', 'NODE_SIGNATURE_WRONG_DEPLOYMENT'],
  public: [],
};

/** Error codes by the HTTP status they answer, each code once, in the order given. */
export function errorsByStatus(codes: readonly ErrorCode[]): Map<number, ErrorCode[]> {
  const out = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = STATUS_OF_KIND[kindOf(code)];
    out.set(status, [...(out.get(status) ?? []), code]);
  }
  return new Map([...out.entries()].sort((a, b) => a[0] - b[0]));
}

const WITH_IDEMPOTENCY_KEY: readonly ErrorCode[] = ['IDEMPOTENCY_KEY_INVALID', 'IDEMPOTENCY_IN_PROGRESS', 'IDEMPOTENCY_KEY_REUSED'];
const WITH_PARAMS: readonly ErrorCode[] = ['BAD_ID'];

/**
 * Every code an operation may answer: its own, those of its auth, of its body, its query, its
 * path parameters and its Idempotency-Key, and the ones every operation may.
 */
export function errorCodesOf(spec: Pick<OperationSpec, 'auth' | 'body' | 'query' | 'params' | 'headers' | 'errors'>): ErrorCode[] {
  const idempotent = spec.headers?.some((h) => h.name.toLowerCase() === IDEMPOTENCY_HEADER.name.toLowerCase()) ?? false;
  return [
    ...BY_AUTH[spec.auth],
    ...(spec.body ? WITH_BODY : []),
    ...(spec.query ? ['VALIDATION_FAILED' as const] : []),
    ...(spec.params && Object.keys(spec.params).length > 0 ? WITH_PARAMS : []),
    ...(idempotent ? WITH_IDEMPOTENCY_KEY : []),
    ...spec.errors,
    ...ALWAYS,
  ];
}

function errorResponse(status: number, codes: ErrorCode[]) {
  const examples = Object.fromEntries(codes.map((code) => [code, { summary: ERRORS[code].why, value: { error: { code, message: ERRORS[code].why } } }]));
  return ApiResponse({
    status,
    description: codes.map((c) => `\`${c}\`: ${ERRORS[c].why}`).join('\n\n'),
    content: { 'application/json': { schema: jsonSchemaOf(errorEnvelopeSchema), examples } },
    ...(status === 503 || codes.includes('IDEMPOTENCY_IN_PROGRESS') ? { headers: { 'Retry-After': { description: 'seconds to wait before retrying', schema: { type: 'integer' } } } } : {}),
  });
}

/** Describes one operation for the OpenAPI document: id, auth, request, answers and errors. */
export function Operation(spec: OperationSpec): MethodDecorator {
  const decorators: (MethodDecorator | ClassDecorator)[] = [
    ApiOperation({ operationId: spec.operationId, summary: spec.summary, description: spec.description }),
    ApiExtension(AUTH_EXTENSION, spec.auth),
  ];
  if (spec.auth !== 'public') for (const scheme of SECURITY_OF[spec.auth]) decorators.push(ApiSecurity(scheme));
  // a signed call sends every signature header; a session call sends none of them (Authorization: NodeSession instead)
  if (spec.auth === 'node' || spec.auth === 'nodeSigned') {
    const required = spec.auth === 'nodeSigned';
    for (const h of NODE_SIGNATURE_HEADERS) decorators.push(ApiHeader({ name: h.name, required, description: required ? h.description : `${h.description} (a signed call; a session call sends Authorization: NodeSession instead)`, schema: h.schema }));
  }
  for (const h of spec.headers ?? []) decorators.push(ApiHeader(h));
  for (const [name, p] of Object.entries(spec.params ?? {})) decorators.push(ApiParam({ name, required: true, description: p.description, schema: jsonSchemaOf(p.schema) }));
  if (spec.body) decorators.push(ApiBody({ schema: jsonSchemaOf(spec.body), ...(spec.bodyOptional ? { required: false } : {}), ...(spec.bodyExample === undefined ? {} : { examples: { example: { summary: 'an example', value: spec.bodyExample } } }) }));
  if (spec.query) {
    for (const [name, field] of Object.entries(spec.query.shape)) {
      const optional = (field as z.ZodType).safeParse(undefined).success;
      decorators.push(ApiQuery({ name, required: !optional, schema: jsonSchemaOf((field as z.ZodType & { unwrap?: () => z.ZodType }).unwrap?.() ?? (field as z.ZodType), 'output') }));
    }
  }
  for (const [status, a] of Object.entries(spec.answers)) {
    const content = a.schema
      ? { [a.mediaType ?? 'application/json']: { schema: jsonSchemaOf(a.schema), ...(a.example === undefined ? {} : { example: a.example }) } }
      : undefined;
    decorators.push(ApiResponse({ status: Number(status), description: a.description, ...(content ? { content } : {}), ...(a.headers ? { headers: a.headers } : {}) }));
  }
  for (const [status, codes] of errorsByStatus(errorCodesOf(spec))) decorators.push(errorResponse(status, codes));
  return applyDecorators(...decorators);
}

/** Every named component of the API, as JSON Schema 2020-12 referencing each other by `#/components/schemas/<id>`. */
export function apiComponentSchemas(): Record<string, SchemaObject> {
  const { schemas } = z.toJSONSchema(API_COMPONENTS, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any', uri: componentUri }) as { schemas: Record<string, Record<string, unknown>> };
  return Object.fromEntries(Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...rest }]) => [id, rest as SchemaObject]));
}

export interface DocumentOptions {
  /** the URLs clients reach the gateway at (GATEWAY_PUBLIC_ORIGIN); `/` when none is known */
  servers?: readonly string[];
}

/** The gateway's OpenAPI document, from its controllers' `Operation`s and the catalogue's components. */
export function openApiDocument(app: INestApplication, opts: DocumentOptions = {}): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('StarMiner gateway')
    .setDescription(
      'The exchange for GPU compute: orgs, jobs, quotes, live job status, webhooks, the market, and the provider agent API. ' +
        'Amounts are AGPU base units (18 decimals) as decimal strings. Every error answers the one ErrorEnvelope with a machine-readable code.',
    )
    .setVersion('v1')
    // addBearerAuth would call both tokens JWTs: they are opaque strings
    .addSecurity(SECURITY.apiKey, { type: 'http', scheme: 'bearer', description: "an org's API key (an opaque sm_... string), from POST /v1/orgs: Authorization: Bearer <api key>" })
    .addSecurity(SECURITY.operator, { type: 'http', scheme: 'bearer', description: "the platform operator's token (OPERATOR_TOKEN, opaque): Authorization: Bearer <operator token>" })
    .addSecurity(SECURITY.node, {
      type: 'apiKey',
      in: 'header',
      name: 'x-node-signature',
      description: `a request signed by the node key: the headers ${NODE_SIGNATURE_HEADERS.map((h) => h.name).join(', ')} (each operation lists them)`,
    })
    .addSecurity(SECURITY.nodeSession, {
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
      description: 'a node session (opaque), from the signed login POST /v1/providers/sessions: Authorization: NodeSession <token>, until it expires',
    });
  for (const url of opts.servers?.length ? opts.servers : ['/']) builder.addServer(url);
  const doc = SwaggerModule.createDocument(app, builder.build(), { operationIdFactory: (_controller, method) => method });
  doc.openapi = '3.1.0';
  doc.components = { ...doc.components, schemas: { ...doc.components?.schemas, ...apiComponentSchemas() } };
  // a public operation says so: an empty security requirement (no auth), not a missing one
  for (const item of Object.values(doc.paths)) {
    for (const op of Object.values(item) as { security?: unknown[]; [AUTH_EXTENSION]?: Auth }[]) {
      if (op && typeof op === 'object' && op[AUTH_EXTENSION] === 'public') op.security = [];
    }
  }
  return doc;
}
