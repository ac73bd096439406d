import { headers } from '@nats-io/nats-core';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTestTracing, extractTraceContext, injectTraceHeaders, JOB_ID_ATTR, SERVICE_ATTR, withSpan, withJobId, currentJobId, detached, traceCarrierOf, tracingOn, type TracingHandle } from '@starminer/telemetry';
import { startNats, type TestNats } from '@starminer/testing';
import { connectTradeLog, type StoredEvent, type TradeLog } from '../src';
import { eventually, testEvent, TEST_CODEC } from './helpers';

/**
 * The trade log carries W3C trace context: an append writes its span's context into each event's
 * NATS headers, and a reader's handler of the event runs in a span whose parent is that append's
 * span, about the event's job. On a real nats-server.
 */
const exporter = new InMemorySpanExporter();
let tracing: TracingHandle;
let nats: TestNats;
let log: TradeLog;

beforeAll(async () => {
  tracing = startTestTracing(new SimpleSpanProcessor(exporter));
  nats = await startNats();
  log = await connectTradeLog({ servers: nats.url, name: 'tracing-spec', ...TEST_CODEC });
  await log.ensureStream();
});

afterAll(async () => {
  await log?.close();
  await nats?.stop();
  await tracing?.shutdown();
});

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const idOf = (s: ReadableSpan) => s.spanContext().spanId;

describe('trace context on NATS headers', () => {
  it('round-trips: what is injected from a span is extracted as that span', () => {
    withSpan('outer', {}, (span) => {
      const h = headers();
      expect(injectTraceHeaders(h)).toBe(true);
      expect(h.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      const extracted = trace.getSpanContext(extractTraceContext(h));
      expect(extracted).toMatchObject({ traceId: span!.spanContext().traceId, spanId: span!.spanContext().spanId, isRemote: true });
    });
  });

  it('an append and the consumer of its event: the handler span is the append span\'s child, about the job, and the handler runs in the job\'s scope', async () => {
    exporter.reset();
    let traceId = '';
    await withSpan('request', {}, async (span) => {
      traceId = span!.spanContext().traceId;
      await log.append('trade.job.t1', [testEvent('t1', 'E', { i: 1 })], { expectedLastSubjectSeq: 0 });
    });
    const seen: { batch: StoredEvent[]; jobId: string | undefined }[] = [];
    const handle = await log.consume({
      durable: 'traced',
      filterSubjects: ['trade.job.t1'],
      handler: async (batch) => {
        seen.push({ batch, jobId: currentJobId() });
      },
    });
    await eventually(() => seen.length === 1 && spans().some((s) => s.name === 'traced E'));
    await handle.stop();

    const append = spans().find((s) => s.name === 'trade-log append trade.job.t1')!;
    const request = spans().find((s) => s.name === 'request')!;
    const handler = spans().find((s) => s.name === 'traced E')!;
    expect(append.parentSpanContext?.spanId).toBe(idOf(request));
    expect(append.attributes).toMatchObject({ [SERVICE_ATTR]: 'tracing-spec', [JOB_ID_ATTR]: 't1' });
    // the reader's span continues the appender's trace, as its child
    expect(handler.spanContext().traceId).toBe(traceId);
    expect(handler.parentSpanContext?.spanId).toBe(idOf(append));
    expect(handler.attributes).toMatchObject({ [JOB_ID_ATTR]: 't1', 'starminer.reader': 'traced' });
    // the stored event keeps the context it came with; the handler ran as the job's work (logs)
    expect(seen[0].batch[0].trace?.traceparent).toBe(`00-${traceId}-${idOf(append)}-01`);
    expect(seen[0].jobId).toBe('t1');
  });

  it('a batch of several events gets one span linked to each appender', async () => {
    exporter.reset();
    for (const i of [1, 2, 3]) await withSpan(`request ${i}`, {}, () => log.append(`trade.job.b${i}`, [testEvent(`b${i}`, 'B', { i })], { expectedLastSubjectSeq: 0 }));
    const batches: StoredEvent[][] = [];
    const handle = await log.consume({ durable: 'batched', filterSubjects: ['trade.job.>'], batchMax: 10, handler: async (b) => void batches.push(b) });
    await eventually(() => batches.flat().filter((e) => e.event.type === 'B').length === 3);
    await handle.stop();
    const appends = spans().filter((s) => /^trade-log append trade\.job\.b/.test(s.name));
    expect(appends).toHaveLength(3);
    const batchSpans = spans().filter((s) => s.name === 'batched batch');
    const handlerSpans = spans().filter((s) => s.name.startsWith('batched '));
    // every event's appender is the parent of its one-event span or linked from the batch's span
    for (const a of appends) {
      const parented = handlerSpans.some((s) => s.parentSpanContext?.spanId === idOf(a));
      const linked = batchSpans.some((s) => s.links.some((l) => l.context.spanId === idOf(a)));
      expect(parented || linked).toBe(true);
    }
  });
});

describe('what is kept of an incoming traceparent', () => {
  const reader = (traceparent: string, tracestate = '') => ({ get: (k: string) => (k === 'traceparent' ? traceparent : k === 'tracestate' ? tracestate : '') });

  it('a valid one is kept as the propagator writes it', () => {
    expect(traceCarrierOf(reader('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'k=v'))).toEqual({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'k=v' });
  });

  it.each([
    ['not a traceparent', 'hello <script>'],
    ['all-zero trace id', '00-00000000000000000000000000000000-b7ad6b7169203331-01'],
    ['all-zero span id', '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01'],
    ['upper-case hex', '00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01'],
    ['version ff', 'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
  ])('%s is not kept (nothing reaches an answer)', (_why, value) => {
    expect(traceCarrierOf(reader(value))).toBeUndefined();
  });
});

describe('detached work', () => {
  it('runs outside the job and the span it was started from, and so does what it starts later', async () => {
    const seen: unknown[] = [];
    await withSpan('request', {}, () =>
      withJobId('job-x', async () => {
        expect([currentJobId(), trace.getActiveSpan() !== undefined]).toEqual(['job-x', true]);
        const later = detached(() => new Promise<void>((resolve) => setTimeout(() => (seen.push(currentJobId(), trace.getActiveSpan()), resolve()), 5)));
        seen.push(...detached(() => [currentJobId(), trace.getActiveSpan()]));
        // the caller's own scope is untouched
        seen.push(currentJobId());
        await later;
      }),
    );
    expect(seen).toEqual([undefined, undefined, 'job-x', undefined, undefined]);
  });
});

describe('with tracing off (after this file\'s tracing is shut down)', () => {
  it('append, consume and handling make no span and write no trace header; the handler still runs in the job\'s scope', async () => {
    await tracing.shutdown();
    expect(tracingOn()).toBe(false);
    exporter.reset();
    const [{ seq }] = await log.append('trade.job.off1', [testEvent('off1', 'O', { i: 1 })], { expectedLastSubjectSeq: 0 });
    const stored = await (await log.jsm()).streams.getMessage(log.streamName, { seq });
    expect(stored?.header.get('traceparent')).toBe('');
    expect(stored?.header.get('Nats-Msg-Id')).not.toBe('');
    const seen: { trace: unknown; jobId: string | undefined; active: unknown }[] = [];
    const handle = await log.consume({
      durable: 'untraced',
      filterSubjects: ['trade.job.off1'],
      handler: async (batch) => void seen.push({ trace: batch[0].trace, jobId: currentJobId(), active: trace.getActiveSpan() }),
    });
    await eventually(() => seen.length === 1);
    await handle.stop();
    expect(seen).toEqual([{ trace: undefined, jobId: 'off1', active: undefined }]);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
