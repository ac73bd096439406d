import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { OpenAPIObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import ts from 'typescript';
import { ERRORS, type ErrorCode } from '@starminer/events';
import { STATUS_OF_KIND } from '@starminer/service-kit';
import { AnswerValidator } from '../../apps/gateway/test/openapi-validation';
import { AUTH_EXTENSION, NODE_SIGNATURE_HEADERS, SECURITY, SECURITY_OF } from '../../apps/gateway/src/openapi';
import { buildOpenApiDocument } from './document';

/**
 * The OpenAPI document is the contract clients are generated from: it is what `npm run openapi`
 * writes now (no drift between the gateway, docs/openapi.json and the SDK's types), every
 * operation says who may call it, what it answers and with what errors, every example fits its
 * schema, and a client generated from it typechecks.
 */
const ROOT = resolve(__dirname, '..', '..');
const COMMITTED_DOCUMENT = join(ROOT, 'docs', 'openapi.json');
const COMMITTED_TYPES = join(ROOT, 'libs', 'sdk', 'src', 'generated', 'openapi.ts');
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

type Json = Record<string, unknown>;
interface Op {
  readonly method: string;
  readonly path: string;
  readonly op: Json;
}

let doc: OpenAPIObject;
let ops: Op[];
/** Where `npm run openapi`'s writer put a fresh document and fresh types (openapi.json, openapi.ts). */
let fresh: string;

beforeAll(async () => {
  // openapi-typescript is ESM inside: jest's module system cannot load it, so the writer runs as `npm run openapi` does
  fresh = mkdtempSync(join(tmpdir(), 'starminer-openapi-'));
  execFileSync(process.execPath, ['-r', './tools/stack/register.cjs', 'tools/openapi/write.ts', '--out', fresh], { cwd: ROOT, stdio: 'pipe', timeout: 120_000 });
  doc = await buildOpenApiDocument();
  ops = Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const op = (item as Record<string, Json | undefined>)[method];
      return op ? [{ method: method.toUpperCase(), path, op }] : [];
    }),
  );
}, 180_000);

afterAll(() => {
  if (fresh) rmSync(fresh, { recursive: true, force: true });
});

const name = (o: Op): string => `${o.method} ${o.path} (${String(o.op.operationId)})`;
const responsesOf = (o: Op): Record<string, Json> => (o.op.responses ?? {}) as Record<string, Json>;
const contentOf = (r: Json): Record<string, Json> => (r.content ?? {}) as Record<string, Json>;

describe('the OpenAPI document', () => {
  it('is what `npm run openapi` writes now: docs/openapi.json and the SDK types are current (run it after changing a route or a schema)', () => {
    const document = readFileSync(join(fresh, 'openapi.json'), 'utf8');
    expect(JSON.parse(document)).toEqual(doc);
    expect(readFileSync(COMMITTED_DOCUMENT, 'utf8')).toBe(document);
    expect(readFileSync(COMMITTED_TYPES, 'utf8')).toBe(readFileSync(join(fresh, 'openapi.ts'), 'utf8'));
  });

  it('is OpenAPI 3.1 with both bearer schemes (opaque, no JWT format) and the node signature, and servers from the options', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const schemes = doc.components?.securitySchemes as unknown as Record<string, Json>;
    expect(schemes[SECURITY.apiKey]).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes[SECURITY.operator]).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes[SECURITY.apiKey]!.bearerFormat).toBeUndefined();
    expect(schemes[SECURITY.operator]!.bearerFormat).toBeUndefined();
    expect(schemes[SECURITY.node]).toMatchObject({ type: 'apiKey', in: 'header', name: 'x-node-signature' });
    expect(schemes[SECURITY.nodeSession]).toMatchObject({ type: 'apiKey', in: 'header', name: 'Authorization' });
    expect(doc.servers).toEqual([{ url: '/' }]);
    const served = await buildOpenApiDocument({ servers: ['https://api.example.com', 'http://127.0.0.1:8080'] });
    expect(served.servers).toEqual([{ url: 'https://api.example.com' }, { url: 'http://127.0.0.1:8080' }]);
  }, 60_000);

  it('gives every operation a unique camelCase operationId a generated client can use as its method name', () => {
    expect(ops.length).toBeGreaterThan(0);
    const ids = ops.map((o) => o.op.operationId);
    for (const o of ops) expect({ op: name(o), ok: typeof o.op.operationId === 'string' && /^[a-z][a-zA-Z0-9]*$/.test(o.op.operationId) }).toEqual({ op: name(o), ok: true });
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('says who may call every operation: a security scheme, or public on purpose (x-auth public, empty security); node calls list their signature headers', () => {
    for (const o of ops) {
      const auth = o.op[AUTH_EXTENSION] as string | undefined;
      expect({ op: name(o), auth: auth !== undefined }).toEqual({ op: name(o), auth: true });
      if (auth === 'public') {
        expect({ op: name(o), security: o.op.security }).toEqual({ op: name(o), security: [] });
        continue;
      }
      const schemes = SECURITY_OF[auth as keyof typeof SECURITY_OF];
      expect({ op: name(o), security: o.op.security }).toEqual({ op: name(o), security: schemes.map((s) => ({ [s]: [] })) });
      if (auth === 'node' || auth === 'nodeSigned') {
        // a node call lists the signature headers; the login requires them (a session call sends Authorization: NodeSession instead)
        const headers = ((o.op.parameters ?? []) as Json[]).filter((p) => p.in === 'header' && (auth === 'node' || p.required === true)).map((p) => p.name);
        expect({ op: name(o), headers }).toEqual({ op: name(o), headers: expect.arrayContaining(NODE_SIGNATURE_HEADERS.map((h) => h.name)) });
      }
    }
  });

  it('gives every operation a 2xx with a schema (an event stream: text/event-stream; 204: no body), and every error answer the ErrorEnvelope with its codes', () => {
    for (const o of ops) {
      const responses = responsesOf(o);
      const success = Object.entries(responses).filter(([status]) => /^2\d\d$/.test(status));
      const described = success.some(([status, r]) => status === '204' || Object.values(contentOf(r)).some((c) => c.schema !== undefined));
      expect({ op: name(o), success: described }).toEqual({ op: name(o), success: true });
      for (const [status, r] of Object.entries(responses)) {
        if (Number(status) < 400) continue;
        const json = contentOf(r)['application/json'];
        expect({ op: name(o), status, schema: json?.schema }).toEqual({ op: name(o), status, schema: { $ref: '#/components/schemas/ErrorEnvelope' } });
        // each code listed under the status it really answers with
        const codes = Object.keys((json?.examples ?? {}) as Json) as ErrorCode[];
        expect(codes.length).toBeGreaterThan(0);
        for (const code of codes) expect({ op: name(o), code, status: STATUS_OF_KIND[ERRORS[code].kind] }).toEqual({ op: name(o), code, status: Number(status) });
      }
      // every operation may fail with our bug or a dependency away, and says so
      expect({ op: name(o), errors: Object.keys(responses).filter((s) => s === '500' || s === '503') }).toEqual({ op: name(o), errors: ['500', '503'] });
    }
  });

  it('documents the status codes the gateway really answers on success (submitJob 202, createOrg and registerNode 201)', () => {
    const successOf = (id: string) => Object.keys(responsesOf(ops.find((o) => o.op.operationId === id)!)).filter((s) => /^2/.test(s));
    expect(successOf('submitJob')).toEqual(['202']);
    expect(successOf('createOrg')).toEqual(['201']);
    expect(successOf('registerNode')).toEqual(['201']);
    for (const id of ['getJob', 'listJobs', 'cancelJob', 'getAccount', 'faucet', 'getQueues', 'getPrices', 'heartbeat', 'getAssignments', 'startJob', 'submitResult', 'listParked', 'retryParked']) {
      expect({ id, success: successOf(id) }).toEqual({ id, success: ['200'] });
    }
  });

  it('has examples that fit their own schemas: every answer, every error, every request body', () => {
    const validator = new AnswerValidator(doc);
    let checked = 0;
    for (const o of ops) {
      for (const [status, r] of Object.entries(responsesOf(o))) {
        const json = contentOf(r)['application/json'];
        if (!json) continue;
        const examples = [...(json.example === undefined ? [] : [json.example]), ...Object.values((json.examples ?? {}) as Record<string, { value: unknown }>).map((e) => e.value)];
        for (const example of examples) {
          checked += 1;
          const path = o.path.replace(/\{[^}]+\}/g, 'x');
          expect(validator.check({ method: o.method, path, status: Number(status), contentType: 'application/json', body: JSON.stringify(example) })).toEqual([]);
        }
      }
      const body = ((o.op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined)?.['application/json'];
      for (const e of Object.values((body?.examples ?? {}) as Record<string, { value: unknown }>)) {
        checked += 1;
        expect({ op: name(o), problems: validator.checkRequestBody(o.method, o.path, e.value) }).toEqual({ op: name(o), problems: [] });
      }
    }
    expect(checked).toBeGreaterThan(ops.length);
  });

  it('is enforced by the answer validator the end-to-end tests use: it refuses what the document does not say', () => {
    const v = new AnswerValidator(doc);
    const job = (ops.find((o) => o.op.operationId === 'getJob')!.op.responses as Record<string, Json>)['200']!;
    const example = (contentOf(job)['application/json']!.example ?? {}) as Json;
    const answer = (status: number, body: unknown, path = '/v1/jobs/j1', method = 'GET', contentType = 'application/json') =>
      v.check({ method, path, status, contentType, body: JSON.stringify(body) }).map((x) => x.problem);
    expect(answer(200, example)).toEqual([]);
    expect(answer(200, { ...example, priceWeiPerHour: '1' })).toEqual([expect.stringMatching(/does not fit the schema.*additionalProperty.*priceWeiPerHour/)]);
    expect(answer(200, { ...example, status: 'settling' })).toEqual([expect.stringMatching(/does not fit the schema.*\/status/)]);
    expect(answer(200, { ...example, quote: { ...(example.quote as Json), gpuClass: 'A100' } })).toEqual([expect.stringMatching(/\/quote/)]);
    expect(answer(201, example)).toEqual([expect.stringMatching(/status 201 is not documented/)]);
    expect(answer(404, { error: { code: 'JOB_NOT_FOUND', message: 'no job j1 in your org' } })).toEqual([]);
    expect(answer(404, { error: { code: 'NODE_NOT_FOUND', message: 'x' } })).toEqual([expect.stringMatching(/NODE_NOT_FOUND is not documented for 404/)]);
    expect(answer(404, { error: { code: 'JOB_NOT_FOUND' } })).toEqual([expect.stringMatching(/does not fit the schema/)]);
    expect(answer(200, example, '/v1/jobs/j1', 'GET', 'text/html')).toEqual([expect.stringMatching(/media type text\/html is not documented/)]);
    expect(answer(200, example, '/v1/nowhere')).toEqual([expect.stringMatching(/no operation of the document is GET \/v1\/nowhere/)]);
    expect(v.checkRequestBody('POST', '/v1/jobs', { category: 'mining' }).length).toBeGreaterThan(0);
  });

  it('gives a client generated from it with openapi-typescript that typechecks (types generated afresh, the typed client of tools/openapi compiled against them)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'starminer-openapi-client-'));
    try {
      writeFileSync(join(dir, 'openapi.ts'), readFileSync(join(fresh, 'openapi.ts')));
      const client = readFileSync(join(__dirname, 'typed-client.ts'), 'utf8');
      const rewired = client.replace("from '../../libs/sdk/src/generated/openapi'", "from './openapi'");
      expect(rewired).not.toBe(client);
      writeFileSync(join(dir, 'typed-client.ts'), rewired);
      const program = ts.createProgram([join(dir, 'typed-client.ts')], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        lib: ['lib.es2023.d.ts'],
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
        skipLibCheck: true,
      });
      const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(diagnostics).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
