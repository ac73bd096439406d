import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Controller, Get, Logger, Module, Param, Post } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';
import { startTestTracing, withJobId, type TracingHandle } from '@starminer/telemetry';
import { createTestDatabase, startNats, type TestDatabase, type TestNats } from '@starminer/testing';
import { createServiceApp, listen, type ServiceAppOptions } from './boot';
import { baseConfigSchema, ConfigError, loadConfig } from './config';
import { jsonBody } from './http-edge';
import { logBootFailure, pinoLevelOf, REDACTED, ROUTINE_AGENT_CALL } from './logging';
import { ServiceKitModule } from './service-kit.module';

type Line = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a log line of any shape

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

/** What the service's logger writes, one parsed JSON line per entry (parsing fails the test on a line that is not JSON). */
function capture(): { write(s: string): void; lines: Line[] } {
  const lines: Line[] = [];
  return { lines, write: (s) => lines.push(JSON.parse(s) as Line) };
}

@Controller('work')
class WorkController {
  private readonly logger = new Logger('work');

  @Post(':jobId')
  forJob(@Param('jobId') jobId: string): { ok: true } {
    withJobId(jobId, () => this.logger.log(`working on ${jobId}`));
    return { ok: true };
  }

  /** Its own span inside the request's (a made-up trace id, to tell the two apart). */
  @Get('traced')
  traced(): { ok: true } {
    const span = trace.wrapSpanContext({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });
    context.with(trace.setSpan(context.active(), span), () => withJobId('job-7', () => this.logger.warn('inside a span')));
    this.logger.log('outside that span');
    return { ok: true };
  }

  @Get('boom')
  boom(): never {
    throw new Error('something broke');
  }
}

let nats: TestNats;
let db: TestDatabase;
const apps: NestExpressApplication[] = [];
let tracing: TracingHandle;

beforeAll(async () => {
  // tracing on, as OTEL_* turn it on in a deployment: every request runs in its server span
  tracing = startTestTracing(new SimpleSpanProcessor(new InMemorySpanExporter()));
  [nats, db] = await Promise.all([startNats(), createTestDatabase()]);
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await tracing?.shutdown();
  await Promise.all([nats?.stop(), db?.drop()]);
});

/** A service (ServiceKitModule with one controller) on the test's NATS and database, its lines captured. */
async function boot(env: Record<string, string> = {}, opts: ServiceAppOptions = {}): Promise<{ url: string; lines: Line[] }> {
  // nestjs-pino keeps one logger for lines outside requests per process: each app here gets its own
  __resetOutOfContextForTests();
  const out = capture();
  @Module({
    imports: [
      ServiceKitModule.forService({
        service: 'intake',
        config: baseConfigSchema,
        entities: [],
        env: { DATABASE_URL: db.url, NATS_URL: nats.url, HTTP_PORT: '0', TRADE_STREAM: `LOGS${apps.length}`, TRADE_SUBJECT_PREFIX: `logs${apps.length}`, ...env },
        logDestination: out,
      }),
    ],
    controllers: [WorkController],
  })
  class LoggingTestModule {}
  const app = await createServiceApp(LoggingTestModule, opts);
  app.use(jsonBody());
  apps.push(app);
  return { url: await listen(app), lines: out.lines };
}

const requestLines = (lines: Line[], path: string): Line[] => lines.filter((l) => l.req?.url === path);

describe('service logs (pino through nestjs-pino)', () => {
  let svc: { url: string; lines: Line[] };
  beforeAll(async () => {
    svc = await boot();
  });

  it("a Nest Logger call is one JSON line: level label, ISO time, service, context and message; Nest's boot lines too", async () => {
    const boot = svc.lines.find((l) => l.context === 'InstanceLoader');
    expect(boot).toMatchObject({ level: 'info', service: 'intake' });
    expect(boot).not.toHaveProperty('traceId');
    expect(boot).not.toHaveProperty('jobId');
    await fetch(`${svc.url}/work/job-1`, { method: 'POST' });
    const line = svc.lines.find((l) => l.msg === 'working on job-1')!;
    expect(line).toMatchObject({ level: 'info', service: 'intake', context: 'work', jobId: 'job-1', traceId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(new Date(line.time).toISOString()).toBe(line.time);
    // the request's own line is in the same trace
    expect(requestLines(svc.lines, '/work/job-1')[0]).toMatchObject({ traceId: line.traceId, reqId: line.reqId });
  });

  it('inside withJobId and a span a line carries that jobId and traceId; outside them, the request trace and no job', async () => {
    await fetch(`${svc.url}/work/traced`);
    expect(svc.lines.find((l) => l.msg === 'inside a span')).toMatchObject({ level: 'warn', traceId: TRACE_ID, jobId: 'job-7', context: 'work' });
    const outside = svc.lines.find((l) => l.msg === 'outside that span')!;
    expect(outside).toMatchObject({ context: 'work', traceId: requestLines(svc.lines, '/work/traced')[0].traceId });
    expect(outside.traceId).not.toBe(TRACE_ID);
    expect(outside).not.toHaveProperty('jobId');
  });

  it('a request is one line with method, path, status and its id; credentials redacted, the body never written', async () => {
    const res = await fetch(`${svc.url}/work/job-2?x=1`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer sm_secret-api-key',
        'x-api-key': 'sm_other-secret',
        'x-node-signature': '0xsignature-secret',
        cookie: 'session=cookie-secret',
        'content-type': 'application/json',
        'user-agent': 'logging-spec',
      },
      body: JSON.stringify({ password: 'body-secret' }),
    });
    expect(res.status).toBe(201);
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const [line] = requestLines(svc.lines, '/work/job-2?x=1');
    expect(line).toMatchObject({ level: 'info', service: 'intake', msg: 'request completed', req: { id: requestId, method: 'POST' } });
    expect(line.res).toEqual({ statusCode: 201 });
    expect(typeof line.responseTime).toBe('number');
    expect(line.req.headers).toMatchObject({ authorization: REDACTED, 'x-api-key': REDACTED, 'x-node-signature': REDACTED, cookie: REDACTED, 'user-agent': 'logging-spec' });
    // the handler's own line carries the request's id
    expect(svc.lines.find((l) => l.msg === 'working on job-2')).toMatchObject({ reqId: requestId, jobId: 'job-2' });
    const all = JSON.stringify(svc.lines);
    for (const secret of ['sm_secret-api-key', 'sm_other-secret', 'signature-secret', 'cookie-secret', 'body-secret']) expect(all).not.toContain(secret);
  });

  it("a caller's plain X-Request-Id is kept; one that is not plain is replaced", async () => {
    const kept = await fetch(`${svc.url}/work/job-3`, { method: 'POST', headers: { 'x-request-id': 'edge-req.42' } });
    expect(kept.headers.get('x-request-id')).toBe('edge-req.42');
    expect(requestLines(svc.lines, '/work/job-3')[0].req.id).toBe('edge-req.42');
    const replaced = await fetch(`${svc.url}/work/job-4`, { method: 'POST', headers: { 'x-request-id': `"quoted" ${'x'.repeat(200)}` } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('probes (health, metrics) are not logged at info; a 5xx is logged at error; a body the parser refuses is logged', async () => {
    for (const path of ['/health/live', '/health/ready', '/metrics']) expect((await fetch(`${svc.url}${path}`)).status).toBeLessThan(600);
    await fetch(`${svc.url}/work/boom`);
    const refused = await fetch(`${svc.url}/work/job-5`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(refused.status).toBe(415);
    for (const path of ['/health/live', '/health/ready', '/metrics']) expect(requestLines(svc.lines, path)).toEqual([]);
    const [boom] = requestLines(svc.lines, '/work/boom');
    expect(boom).toMatchObject({ level: 'error', res: { statusCode: 500 } });
    expect(boom).not.toHaveProperty('err'); // the filter logged the handler's error; no made-up one here
    expect(svc.lines.find((l) => l.context === 'edge' && l.reqId === boom.reqId)).toMatchObject({ level: 'error', msg: expect.stringContaining('something broke') });
    expect(requestLines(svc.lines, '/work/job-5')).toEqual([expect.objectContaining({ level: 'info', res: expect.objectContaining({ statusCode: 415 }) })]);
  });
});

describe('LOG_LEVEL', () => {
  it.each(['verbose', 'INFO', 'loud', ''])('given LOG_LEVEL=%j, then the service refuses to boot naming it', async (value) => {
    expect(() => loadConfig(baseConfigSchema, { DATABASE_URL: 'postgres://x/y', LOG_LEVEL: value })).toThrow(ConfigError);
    expect(() => loadConfig(baseConfigSchema, { DATABASE_URL: 'postgres://x/y', LOG_LEVEL: value })).toThrow(/LOG_LEVEL/);
  });

  it('given a bad LOG_LEVEL, then the app is not created; the failure is one JSON line at error whatever the level', async () => {
    const err = await boot({ LOG_LEVEL: 'chatty' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/LOG_LEVEL/);
    const out = capture();
    logBootFailure('intake', err, out);
    expect(out.lines).toEqual([expect.objectContaining({ level: 'error', service: 'intake', msg: expect.stringMatching(/intake failed to boot: configuration is invalid.*LOG_LEVEL/s), err: expect.objectContaining({ type: 'ConfigError', code: 'CONFIG_INVALID' }) })]);
  });

  it('given LOG_LEVEL=warn, then info lines (Nest and requests) are not written, warnings are', async () => {
    const svc = await boot({ LOG_LEVEL: 'warn' });
    await fetch(`${svc.url}/work/traced`);
    await fetch(`${svc.url}/work/job-9`, { method: 'POST' });
    expect(svc.lines.map((l) => l.msg)).toContain('inside a span');
    expect(svc.lines.filter((l) => l.level === 'info' || l.level === 'debug')).toEqual([]);
  });

  it('given LOG_LEVEL=debug, then probe requests are written, at debug', async () => {
    const svc = await boot({ LOG_LEVEL: 'debug' });
    await fetch(`${svc.url}/health/live`);
    expect(requestLines(svc.lines, '/health/live')).toEqual([expect.objectContaining({ level: 'debug', res: expect.objectContaining({ statusCode: 200 }) })]);
  });

  it("given a caller's Nest levels (tests ask for ['error', 'warn']), then they replace LOG_LEVEL", async () => {
    expect(pinoLevelOf(['error', 'warn'])).toBe('warn');
    expect(pinoLevelOf(['log', 'error', 'verbose'])).toBe('trace');
    expect(pinoLevelOf([])).toBe('silent');
    expect(pinoLevelOf(false)).toBe('silent');
    const svc = await boot({ LOG_LEVEL: 'debug' }, { logger: ['error', 'warn'] });
    await fetch(`${svc.url}/work/traced`);
    await fetch(`${svc.url}/work/job-10`, { method: 'POST' });
    expect(svc.lines.map((l) => l.msg)).toEqual(['inside a span']);
  });
});

describe('LOG_FORMAT', () => {
  it('given pretty, then lines are readable text through pino-pretty, not JSON', async () => {
    const script = "require('./libs/service-kit/src/logging.ts').createLogger({ service: 'intake', level: 'info', format: 'pretty' }).info({ context: 'work' }, 'hello from the dev stack')";
    const { stdout } = await promisify(execFile)(process.execPath, ['-r', './tools/stack/register.cjs', '-e', script], { cwd: `${__dirname}/../../..`, timeout: 30_000 });
    const line = stdout.trim();
    expect(line).toMatch(/INFO.*\[work\] hello from the dev stack/);
    expect(() => JSON.parse(line)).toThrow();
  });

  it('given anything but json or pretty, then the service refuses to boot naming LOG_FORMAT', () => {
    expect(loadConfig(baseConfigSchema, { DATABASE_URL: 'postgres://x/y' }).LOG_FORMAT).toBe('json');
    expect(() => loadConfig(baseConfigSchema, { DATABASE_URL: 'postgres://x/y', LOG_FORMAT: 'text' })).toThrow(/LOG_FORMAT/);
  });

  it("given an agent's long poll or heartbeat, then it is a routine call (logged at debug when answered); its other calls are not", () => {
    expect(ROUTINE_AGENT_CALL.test('/v1/providers/nodes/node-1/assignments')).toBe(true);
    expect(ROUTINE_AGENT_CALL.test('/v1/providers/nodes/node-1/heartbeat')).toBe(true);
    expect(ROUTINE_AGENT_CALL.test('/v1/providers/nodes/node-1/jobs/j1/start')).toBe(false);
    expect(ROUTINE_AGENT_CALL.test('/v1/providers/nodes/node-1/jobs/j1/result')).toBe(false);
    expect(ROUTINE_AGENT_CALL.test('/v1/providers/nodes')).toBe(false);
    expect(ROUTINE_AGENT_CALL.test('/v1/jobs/j1/assignments')).toBe(false);
  });
});
