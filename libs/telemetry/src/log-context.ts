import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';

/**
 * What a log line says about the work it belongs to: the job it is about (set where an event,
 * command or request about one job is handled) and the active trace. One AsyncLocalStorage,
 * always on (tracing may be off; the job id still goes into the logs).
 */
const jobScope = new AsyncLocalStorage<string>();

/** Runs `fn` with `jobId` as the current job (for its logs and spans). */
export function withJobId<T>(jobId: string | undefined, fn: () => T): T {
  return jobId === undefined ? fn() : jobScope.run(jobId, fn);
}

/** The job the running code is about, if any. */
export const currentJobId = (): string | undefined => jobScope.getStore();

/** The trace id of the active span, when tracing is on and a span is active. */
export function currentTraceId(): string | undefined {
  const ctx = trace.getActiveSpan()?.spanContext();
  return ctx && trace.isSpanContextValid(ctx) ? ctx.traceId : undefined;
}

/**
 * Runs `fn` outside any job and any trace: for work started lazily from inside one request or
 * event (a loop, a timer, a shared cache's refresh) that lives on and serves everyone. Whatever it
 * starts (promises, timers) inherits no job id for its logs and no parent span.
 */
export function detached<T>(fn: () => T): T {
  return jobScope.exit(() => context.with(ROOT_CONTEXT, fn));
}
