import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import {
  currentJobId,
  currentTraceCarrier,
  currentTraceId,
  extractTraceContext,
  injectTraceHeaders,
  JOB_ID_ATTR,
  startTracing,
  traceCarrierOf,
  tracedFetch,
  tracingOn,
  tracingSettingsOf,
  TracingConfigError,
  withSpan,
} from '../src';

/**
 * Tracing is off unless the OTEL_* variables ask for it, and off it costs next to nothing: no
 * provider is registered (the API's no-op tracer), no span object is made, no header written.
 */
describe('tracing settings from OTEL_*', () => {
  it.each([
    [{}, false, 'none'],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true, 'otlp'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true, 'otlp'],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true, 'otlp'],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true, 'console'],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false, 'none'],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }, false, 'none'],
  ])('%j: enabled %s, exporter %s', (env, enabled, exporter) => {
    expect(tracingSettingsOf('intake', env)).toEqual({ enabled, exporter, serviceName: 'intake' });
  });

  it('the service name is OTEL_SERVICE_NAME when set, else the service\'s own', () => {
    expect(tracingSettingsOf('intake', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_SERVICE_NAME: 'intake-eu' }).serviceName).toBe('intake-eu');
    expect(tracingSettingsOf('intake', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_SERVICE_NAME: ' ' }).serviceName).toBe('intake');
  });

  it('refuses what it cannot honour, naming the variable', () => {
    expect(() => tracingSettingsOf('intake', { OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(TracingConfigError);
    expect(() => tracingSettingsOf('intake', { OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER=zipkin/);
    expect(() => tracingSettingsOf('intake', { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL=grpc/);
  });
});

describe('with tracing off', () => {
  it('startTracing with no OTEL_* registers nothing: the API stays on its no-op tracer', async () => {
    const handle = startTracing({ service: 'intake', env: {} });
    expect(handle.enabled).toBe(false);
    expect(tracingOn()).toBe(false);
    const span = trace.getTracer('x').startSpan('probe');
    expect(span.isRecording()).toBe(false);
    expect(trace.isSpanContextValid(span.spanContext())).toBe(false);
    span.end();
    await handle.shutdown();
  });

  it('withSpan makes no span: fn runs as it is (sync and async), throws pass through, and the job scope still holds for logs', async () => {
    const seen: unknown[] = [];
    expect(withSpan('a', {}, (span) => (seen.push(span), 42))).toBe(42);
    await expect(withSpan('b', { [JOB_ID_ATTR]: 'job-1' }, async (span) => (seen.push(span, currentJobId()), 'ok'))).resolves.toBe('ok');
    expect(() => withSpan('c', {}, () => { throw new Error('boom'); })).toThrow('boom');
    expect(seen).toEqual([undefined, undefined, 'job-1']);
    // nothing active anywhere: no trace id for the logs, no context to keep
    withSpan('d', {}, () => {
      expect(trace.getActiveSpan()).toBeUndefined();
      expect(currentTraceId()).toBeUndefined();
      expect(currentTraceCarrier()).toBeUndefined();
      // the context is the root one: withSpan switched nothing
      expect(context.active()).toBe(ROOT_CONTEXT);
    });
  });

  it('writes no header and reads none', async () => {
    const written = new Map<string, string>();
    expect(injectTraceHeaders({ set: (k, v) => void written.set(k, v) })).toBe(false);
    expect(written.size).toBe(0);
    const incoming = { get: (k: string) => (k === 'traceparent' ? '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' : '') };
    expect(traceCarrierOf(incoming)).toBeUndefined();
    expect(trace.getSpanContext(extractTraceContext(incoming))).toBeUndefined();
    expect(propagation.fields()).toEqual([]);
    // the tracing fetch hands the call through untouched
    const calls: [unknown, RequestInit | undefined][] = [];
    const inner = (async (input: unknown, init?: RequestInit) => (calls.push([input, init]), new Response('ok'))) as typeof fetch;
    const init = { headers: { a: 'b' } };
    await tracedFetch(inner)('http://x/', init);
    expect(calls).toEqual([['http://x/', init]]);
  });
});

describe('loading the helpers', () => {
  it('loads no tracing SDK: the provider, exporter and resources are required only when tracing starts', () => {
    // a fresh process (jest's own registry would not say what Node loaded)
    const root = join(__dirname, '../../..');
    const script = [
      "const t = require('./libs/telemetry/src');",
      "const sdk = () => Object.keys(require.cache).filter((k) => /@opentelemetry[\\/](sdk-trace|exporter-|resources|core)[\\/]/.test(k)).length;",
      "const before = sdk();",
      "t.startTracing({ service: 'x', env: {} });",
      "const off = sdk();",
      "t.startTracing({ service: 'x', env: { OTEL_TRACES_EXPORTER: 'console' } });",
      "console.log(JSON.stringify({ before, off, on: sdk() > 0, enabled: t.tracingOn() }));",
    ].join('\n');
    const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ before: 0, off: 0, on: true, enabled: true });
  });
});
