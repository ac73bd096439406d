import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { SERVICE_ATTR, TRACER_NAME, tracingOn } from './tracing';

type Req = IncomingMessage & { originalUrl?: string; baseUrl?: string; route?: { path?: unknown } };

/** A request header, as the propagator reads it (Node joins repeated headers; traceparent is single). */
const headerGetter = {
  get: (req: IncomingMessage, key: string) => {
    const v = req.headers[key];
    return Array.isArray(v) ? v[0] : v;
  },
  keys: (req: IncomingMessage) => Object.keys(req.headers),
};

/**
 * Probes (liveness, readiness, scrapes) start no trace: one every few seconds per replica would
 * drown the traces of work. (libs/service-kit's PROBE_PATHS names the same paths for its logs.)
 */
const PROBE_PATH = /^\/(health(\/.*)?|metrics)$/;

/**
 * An HTTP server span per request, as the first middleware of a service: its parent is the
 * caller's `traceparent` (a provider agent, another service), and everything the request does
 * (guards, the controller, the commands it sends) runs inside it. Named by the route once it is
 * known (`POST /v1/jobs`), else by the method alone (a raw path would make a span name per URL),
 * with the status code; a 5xx marks it an error. Off, or a probe: a plain `next()`.
 */
export function httpServerSpan(service: string): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  return (req, res, next) => {
    if (!tracingOn()) return next();
    const path = ((req as Req).originalUrl ?? req.url ?? '/').split('?')[0];
    if (PROBE_PATH.test(path)) return next();
    const parent = propagation.extract(ROOT_CONTEXT, req, headerGetter);
    const method = req.method ?? 'GET';
    const span = trace.getTracer(TRACER_NAME).startSpan(
      `${method}`,
      { kind: SpanKind.SERVER, attributes: { [SERVICE_ATTR]: service, 'http.request.method': method, 'url.path': path } },
      parent,
    );
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      const r = req as Req;
      const route = typeof r.route?.path === 'string' ? `${r.baseUrl ?? ''}${r.route.path}` : undefined;
      if (route) span.setAttribute('http.route', route);
      if (route) span.updateName(`${method} ${route}`);
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      if (!res.writableFinished) span.setAttribute('http.aborted', true);
      span.end();
    };
    res.once('finish', end);
    res.once('close', end);
    context.with(trace.setSpan(parent, span), next);
  };
}
