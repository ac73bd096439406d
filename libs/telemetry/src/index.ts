export { withJobId, currentJobId, currentTraceId, detached } from './log-context';
export {
  JOB_ID_ATTR,
  SERVICE_ATTR,
  TRACER_NAME,
  TracingConfigError,
  tracingOn,
  tracingSettingsOf,
  startTracing,
  startTestTracing,
  flushTracing,
  withSpan,
  openSpan,
  annotate,
  aboutJob,
  injectTraceHeaders,
  extractTraceContext,
  traceCarrierOf,
  contextOf,
  contextFor,
  currentTraceCarrier,
  linkOf,
  tracedFetch,
  SpanKind,
} from './tracing';
export type { TracingSettings, TracingHandle, SpanOptions, OpenSpan, HeaderReader, HeaderWriter, TraceCarrier } from './tracing';
export { httpServerSpan } from './http-span';
