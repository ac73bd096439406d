import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { NodeTracerProvider, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { withJobId } from './log-context';

/*
 * The SDK (provider, exporter, resources, propagator) is required when tracing starts, not when this
 * module loads: libraries (the trade log, the chain) import the API-only helpers here, and a process
 * with tracing off never loads the SDK at all.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const sdk = () => ({
  core: require('@opentelemetry/core') as typeof import('@opentelemetry/core'),
  exporter: require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http'),
  resources: require('@opentelemetry/resources') as typeof import('@opentelemetry/resources'),
  node: require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node'),
  semconv: require('@opentelemetry/semantic-conventions') as typeof import('@opentelemetry/semantic-conventions'),
});
/* eslint-enable @typescript-eslint/no-require-imports */

/** The span attribute naming the job a span is about (every span about one job has it). */
export const JOB_ID_ATTR = 'starminer.job_id';
/**
 * The service that made the span. In a real process the Resource's service.name says it too; the
 * in-process market (tests, one process for every service) tells them apart by this.
 */
export const SERVICE_ATTR = 'starminer.service';
/** The tracer's name (the instrumentation scope of every span of ours). */
export const TRACER_NAME = 'starminer';

/** Why a service refuses to boot: an OTEL_* variable it cannot honour, named. */
export class TracingConfigError extends Error {
  override readonly name = 'TracingConfigError';
  readonly code = 'TRACING_CONFIG_INVALID';
}

/**
 * Whether spans are made at all. Off (the default) every helper here is a plain call of its
 * function: no span objects, no context switch, no header written.
 */
let tracingEnabled = false;
let provider: NodeTracerProvider | undefined;

export const tracingOn = (): boolean => tracingEnabled;

export interface TracingSettings {
  readonly enabled: boolean;
  readonly exporter: 'otlp' | 'console' | 'none';
  readonly serviceName: string;
}

const TRUE = /^(true|1|yes)$/i;

/**
 * What the standard OTEL_* variables ask for. Tracing is off unless asked: OTEL_TRACES_EXPORTER=otlp
 * (or console), or an OTLP endpoint set (OTEL_EXPORTER_OTLP_ENDPOINT / _TRACES_ENDPOINT) with no
 * exporter named. OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none turn it off whatever else
 * is set. We export OTLP over HTTP (JSON, which every OTLP/HTTP receiver takes): grpc is refused.
 */
export function tracingSettingsOf(service: string, env: NodeJS.ProcessEnv = process.env): TracingSettings {
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || service;
  const off: TracingSettings = { enabled: false, exporter: 'none', serviceName };
  if (TRUE.test(env.OTEL_SDK_DISABLED?.trim() ?? '')) return off;
  const named = (env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase();
  const endpoint = (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim();
  const exporter = named === '' ? (endpoint ? 'otlp' : 'none') : named;
  if (exporter !== 'otlp' && exporter !== 'console' && exporter !== 'none') {
    throw new TracingConfigError(`OTEL_TRACES_EXPORTER=${named}: only otlp, console or none are supported`);
  }
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? '').trim();
  if (exporter === 'otlp' && protocol === 'grpc') {
    throw new TracingConfigError('OTEL_EXPORTER_OTLP_PROTOCOL=grpc: traces are exported over OTLP/HTTP; point it at the collector\'s HTTP port (4318)');
  }
  return exporter === 'none' ? off : { enabled: true, exporter, serviceName };
}

export interface TracingHandle {
  readonly enabled: boolean;
  /** Flushes what is buffered and stops exporting (a service's shutdown). */
  shutdown(): Promise<void>;
}

const OFF: TracingHandle = { enabled: false, shutdown: async () => undefined };

/**
 * Starts tracing for a process as the OTEL_* variables say (see tracingSettingsOf): a tracer
 * provider with the service's Resource, spans batched to the OTLP/HTTP exporter (which reads its
 * endpoint, headers and timeout from the same variables), W3C trace context as the propagator.
 * No auto-instrumentation: our spans are made at our edges. A second call in one process keeps the
 * first (one provider per process).
 */
export function startTracing(opts: { service: string; env?: NodeJS.ProcessEnv }): TracingHandle {
  const settings = tracingSettingsOf(opts.service, opts.env);
  if (!settings.enabled) return OFF;
  if (provider) return { enabled: true, shutdown: () => shutdownTracing() };
  const { exporter: otlp, resources, node, semconv } = sdk();
  const exporter: SpanExporter = settings.exporter === 'console' ? new node.ConsoleSpanExporter() : new otlp.OTLPTraceExporter();
  const resource = resources
    .defaultResource()
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
    .merge(resources.resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: settings.serviceName }));
  register(new node.BatchSpanProcessor(exporter), resource);
  return { enabled: true, shutdown: () => shutdownTracing() };
}

/**
 * Tracing for tests: every span goes through `processor` (a SimpleSpanProcessor over an
 * InMemorySpanExporter), process-wide, whatever the environment says.
 */
export function startTestTracing(processor: SpanProcessor): TracingHandle {
  if (provider) throw new Error('tracing is already started in this process');
  const { resources, semconv } = sdk();
  register(processor, resources.resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: 'starminer-test' }));
  return { enabled: true, shutdown: () => shutdownTracing() };
}

function register(processor: SpanProcessor, resource: Resource): void {
  const { core, node } = sdk();
  provider = new node.NodeTracerProvider({ resource, spanProcessors: [processor] });
  // the async-hooks context manager (what carries the active span across awaits) and W3C trace context
  provider.register({ propagator: new core.W3CTraceContextPropagator() });
  tracingEnabled = true;
}

async function shutdownTracing(): Promise<void> {
  const p = provider;
  if (!p) return;
  provider = undefined;
  tracingEnabled = false;
  await p.shutdown().catch(() => undefined);
  trace.disable();
  context.disable();
  propagation.disable();
}

const tracer = () => trace.getTracer(TRACER_NAME);

export interface SpanOptions {
  /** The parent (a context extracted from a message); the active context by default. */
  readonly parent?: Context;
  readonly links?: Link[];
  readonly kind?: SpanKind;
}

/**
 * Runs `fn` inside a new active span named `name` (sync or async), ended when `fn` settles; a
 * throw is recorded on it and rethrown. With JOB_ID_ATTR among `attrs`, `fn` also runs as that
 * job's work (withJobId), for its log lines. With tracing off: only the job scope, no span.
 */
export function withSpan<T>(name: string, attrs: Attributes, fn: (span: Span | undefined) => T, opts: SpanOptions = {}): T {
  const jobId = attrs[JOB_ID_ATTR];
  const scoped = typeof jobId === 'string' ? (f: () => T) => withJobId(jobId, f) : (f: () => T) => f();
  if (!tracingEnabled) return scoped(() => fn(undefined));
  const parent = opts.parent ?? context.active();
  return scoped(() =>
    tracer().startActiveSpan(name, { attributes: attrs, links: opts.links, kind: opts.kind ?? SpanKind.INTERNAL }, parent, (span) => {
      let out: T;
      try {
        out = fn(span);
      } catch (err) {
        endWithError(span, err);
        throw err;
      }
      if (out instanceof Promise) {
        return out.then(
          (v: unknown) => {
            span.end();
            return v;
          },
          (err: unknown) => {
            endWithError(span, err);
            throw err;
          },
        ) as T;
      }
      span.end();
      return out;
    }),
  );
}

function endWithError(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  span.end();
}

/** Sets attributes on the active span (when tracing is on and one is active). */
export function annotate(attrs: Attributes): void {
  if (!tracingEnabled) return;
  trace.getActiveSpan()?.setAttributes(attrs);
}

/**
 * Says that the running work is about `jobId`: the active span gets JOB_ID_ATTR, and `fn` runs
 * in the job's scope (logs). For edges where the job id is known only inside (a route, a command).
 */
export function aboutJob<T>(jobId: string | undefined, fn: () => T): T {
  if (jobId === undefined) return fn();
  if (tracingEnabled) trace.getActiveSpan()?.setAttribute(JOB_ID_ATTR, jobId);
  return withJobId(jobId, fn);
}

// ------------------------------------------------------------------ propagation

/** NATS message headers as both clients (nats.js for Nest, @nats-io for JetStream) have them. */
export interface HeaderWriter {
  set(key: string, value: string): void;
}
export interface HeaderReader {
  get(key: string): string;
}

const setter: TextMapSetter<HeaderWriter> = { set: (h, k, v) => h.set(k, v) };
const getter: TextMapGetter<HeaderReader> = {
  get: (h, k) => h.get(k) || undefined,
  keys: () => [TRACEPARENT, TRACESTATE],
};
const carrierSetter: TextMapSetter<Record<string, string>> = { set: (c, k, v) => (c[k] = v) };
const carrierGetter: TextMapGetter<TraceCarrier> = {
  get: (c, k) => (k === TRACEPARENT ? c.traceparent : k === TRACESTATE ? c.tracestate : undefined),
  keys: () => [TRACEPARENT, TRACESTATE],
};

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';

/** W3C trace context as plain strings: what an event or a job carries around with it. */
export interface TraceCarrier {
  readonly traceparent: string;
  readonly tracestate?: string;
}

/** Writes the active span's W3C trace context into message headers (nothing when off or no span is active). */
export function injectTraceHeaders(headers: HeaderWriter, ctx: Context = context.active()): boolean {
  if (!tracingEnabled || !trace.getSpan(ctx)) return false;
  propagation.inject(ctx, headers, setter);
  return true;
}

/** The context a message's headers carry (the root context when they carry none, or tracing is off). */
export function extractTraceContext(headers: HeaderReader | undefined): Context {
  if (!tracingEnabled || !headers) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, headers, getter);
}

/**
 * The trace context in message headers, as strings to keep (undefined when off, absent or invalid).
 * What is kept is what the propagator makes of the headers, written out again: a header that is not
 * a valid W3C traceparent (any writer of the log may have set it) is dropped, never passed on to an
 * answer.
 */
export function traceCarrierOf(headers: HeaderReader | undefined): TraceCarrier | undefined {
  if (!tracingEnabled || !headers) return undefined;
  if (!headers.get(TRACEPARENT)) return undefined;
  return carrierOfContext(propagation.extract(ROOT_CONTEXT, headers, getter));
}

/** A context's span context as a fresh carrier, when it is valid. */
function carrierOfContext(ctx: Context): TraceCarrier | undefined {
  const sc = trace.getSpanContext(ctx);
  if (!sc || !trace.isSpanContextValid(sc)) return undefined;
  const c: Record<string, string> = {};
  propagation.inject(ctx, c, carrierSetter);
  return c.traceparent ? (c as unknown as TraceCarrier) : undefined;
}

/** The context of a kept carrier (the root context without one). */
export function contextOf(carrier: TraceCarrier | undefined): Context {
  if (!tracingEnabled || !carrier) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier, carrierGetter);
}

/** The active span's trace context as strings (to keep with a job), undefined when off or none is active. */
export function currentTraceCarrier(): TraceCarrier | undefined {
  if (!tracingEnabled || !trace.getActiveSpan()) return undefined;
  const c: Record<string, string> = {};
  propagation.inject(context.active(), c, carrierSetter);
  return c.traceparent ? (c as unknown as TraceCarrier) : undefined;
}

/** A span link to the context a carrier holds (for a span with many parents: a batch). */
export function linkOf(carrier: TraceCarrier | undefined): Link | undefined {
  if (!carrier) return undefined;
  const sc = trace.getSpanContext(contextOf(carrier));
  return sc && trace.isSpanContextValid(sc) ? { context: sc } : undefined;
}

/**
 * A fetch that sends the active span's trace context (`traceparent`, `tracestate`) with every
 * request, for clients that take a fetch (the SDK): the server's span becomes the caller's child.
 */
export function tracedFetch(inner: typeof fetch = fetch): typeof fetch {
  return (input, init) => {
    if (!tracingEnabled || !trace.getActiveSpan()) return inner(input, init);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    propagation.inject(context.active(), headers, { set: (h, k, v) => h.set(k, v) });
    return inner(input, { ...init, headers });
  };
}

export { SpanKind };

/** Exports what is buffered now (a service's shutdown: a batch not yet sent would be lost). */
export async function flushTracing(): Promise<void> {
  await provider?.forceFlush().catch(() => undefined);
}

/**
 * The parent for work on one item of a batch: the active context when its span is already of the
 * item's trace (a batch of one), else the item's own (its appender), so the work joins its trace.
 */
export function contextFor(carrier: TraceCarrier | undefined): Context {
  const active = context.active();
  if (!tracingEnabled || !carrier) return active;
  const ctx = contextOf(carrier);
  return trace.getSpanContext(active)?.traceId === trace.getSpanContext(ctx)?.traceId ? active : ctx;
}

/** A span whose end is not where it started (a reply sent later, from elsewhere); undefined while tracing is off. */
export interface OpenSpan {
  /** Runs `fn` with the span active. */
  run<T>(fn: () => T): T;
  /** Marks it failed (status ERROR) without an exception: a failure answered, not thrown. */
  fail(message: string): void;
  /** Ends it (once); an error marks it failed. */
  end(error?: unknown): void;
  setAttributes(attrs: Attributes): void;
}

export function openSpan(name: string, attrs: Attributes, opts: SpanOptions = {}): OpenSpan | undefined {
  if (!tracingEnabled) return undefined;
  const parent = opts.parent ?? context.active();
  const span = tracer().startSpan(name, { attributes: attrs, links: opts.links, kind: opts.kind ?? SpanKind.INTERNAL }, parent);
  const ctx = trace.setSpan(parent, span);
  let ended = false;
  return {
    run: (fn) => context.with(ctx, fn),
    end: (error) => {
      if (ended) return;
      ended = true;
      if (error === undefined) span.end();
      else endWithError(span, error);
    },
    fail: (message) => void span.setStatus({ code: SpanStatusCode.ERROR, message }),
    setAttributes: (a) => span.setAttributes(a),
  };
}
