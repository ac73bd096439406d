import { apiError, fakeFetch, fakeSleep, json, sseMessage, sseResponse, type FakeAnswer, type SeenCall } from '../test/fake-fetch';
import { createClient } from './client';
import { SDK_LIMITS } from './limits';
import type { Job, JobStatus, JobUpdate } from './types';

const BASE = 'http://gateway.test';

const update = (seq: number, status: JobStatus, type = `job.${status}`, over: Partial<JobUpdate> = {}): JobUpdate =>
  ({ seq: String(seq), eventId: `e${seq}`, type, jobId: 'j1', status, at: '2026-03-01T12:00:00.000Z', ...over }) as JobUpdate;

const job = (status: JobStatus, over: Partial<Job> = {}): Job =>
  ({ jobId: 'j1', status, nodeId: null, costWei: null, contractAddress: null, waitingReason: null, failure: null, updatedAt: '2026-03-01T12:00:00.000Z', ...over }) as Job;

function watcher(script: (call: SeenCall, index: number) => FakeAnswer | Promise<FakeAnswer>) {
  const f = fakeFetch(script);
  const clock = fakeSleep();
  return { sm: createClient({ baseUrl: BASE, apiKey: 'sm_key', fetch: f.fetch, sleep: clock.sleep }), calls: f.calls, waits: clock.waits };
}

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}

const streams = (call: SeenCall) => call.path.startsWith('/v1/jobs/j1/events');

describe('watchJob over Server-Sent Events', () => {
  it('parses messages however the bytes are split, skips heartbeats, and ends after the final status', async () => {
    const text = [': heartbeat\n\n', sseMessage(update(1, 'queued')), sseMessage(update(2, 'queued', 'job.waiting', { waitingReason: 'no H200 free' })), sseMessage(update(6, 'settled'))].join('');
    // cut the text into 7-byte chunks: messages arrive split across reads, even mid-line
    const chunks = text.match(/[\s\S]{1,7}/g)!;
    const { sm, calls } = watcher(() => sseResponse(chunks).response);
    const got = await all(sm.watchJob({ jobId: 'j1' }));
    expect(got.map((u) => [u.seq, u.type])).toEqual([
      ['1', 'job.queued'],
      ['2', 'job.waiting'],
      ['6', 'job.settled'],
    ]);
    expect(got[1].waitingReason).toBe('no H200 free');
    expect(calls).toHaveLength(1);
    expect(calls[0].headers).toMatchObject({ accept: 'text/event-stream', authorization: 'Bearer sm_key' });
    expect(calls[0].headers['last-event-id']).toBeUndefined();
  });

  it('given the stream drops (a gateway restart), reconnects with Last-Event-ID and yields each update once', async () => {
    const answers = [
      sseResponse([sseMessage(update(1, 'queued')), sseMessage(update(3, 'matched'))], 'error').response,
      new TypeError('fetch failed: ECONNREFUSED'), // the gateway is still down
      // the restarted gateway replays from Last-Event-ID; a repeat of 3 (at or before it) is dropped
      sseResponse([sseMessage(update(3, 'matched')), sseMessage(update(4, 'contracted')), sseMessage(update(8, 'settled'))]).response,
    ];
    const { sm, calls, waits } = watcher((_call, i) => answers[i]);
    const got = await all(sm.watchJob({ jobId: 'j1' }));
    expect(got.map((u) => u.seq)).toEqual(['1', '3', '4', '8']);
    expect(calls.map((c) => c.headers['last-event-id'])).toEqual([undefined, '3', '3']);
    expect(waits).toHaveLength(2);
    for (const w of waits) expect(w).toBeLessThanOrEqual(SDK_LIMITS.watchReconnectDelayMsMax);
  });

  it('given lastEventId, resumes after it', async () => {
    const { sm, calls } = watcher(() => sseResponse([sseMessage(update(9, 'failed'))]).response);
    const got = await all(sm.watchJob({ jobId: 'j1', lastEventId: '8' }));
    expect(got.map((u) => u.seq)).toEqual(['9']);
    expect(calls[0].headers['last-event-id']).toBe('8');
  });

  it('given a lastEventId that is not a seq, refuses before calling', async () => {
    const { sm, calls } = watcher(() => json(200, {}));
    await expect(all(sm.watchJob({ jobId: 'j1', lastEventId: 'abc' }))).rejects.toThrow(TypeError);
    expect(calls).toHaveLength(0);
  });

  it('given 204 (the job ended and every update was seen), ends without an update', async () => {
    const { sm, calls } = watcher(() => json(204, null));
    await expect(all(sm.watchJob({ jobId: 'j1', lastEventId: '8' }))).resolves.toEqual([]);
    expect(calls).toHaveLength(1);
  });

  it('given a message that is not a job update, skips it', async () => {
    const junk = 'event: job.queued\ndata: not json\n\nid: 2\ndata: {"hello":1}\n\n';
    const { sm } = watcher(() => sseResponse([junk, sseMessage(update(3, 'cancelled'))]).response);
    await expect(all(sm.watchJob({ jobId: 'j1' }))).resolves.toHaveLength(1);
  });

  it('given a refusal (another org job), throws the API error and does not retry', async () => {
    const { sm, calls } = watcher(() => apiError(404, 'JOB_NOT_FOUND', 'no such job'));
    await expect(all(sm.watchJob({ jobId: 'j1' }))).rejects.toMatchObject({ status: 404, code: 'JOB_NOT_FOUND' });
    expect(calls).toHaveLength(1);
  });

  it('given a 503 with Retry-After, reconnects no sooner than it says', async () => {
    const answers = [apiError(503, 'TOO_MANY_STREAMS', 'busy', { headers: { 'retry-after': '3' } }), sseResponse([sseMessage(update(2, 'settled'))]).response];
    const { sm, waits } = watcher((_c, i) => answers[i]);
    await expect(all(sm.watchJob({ jobId: 'j1' }))).resolves.toHaveLength(1);
    expect(waits[0]).toBe(3_000);
  });

  it('given a Retry-After past the reconnect backoff cap, waits as long as it says, up to watchRetryAfterMsMax', async () => {
    const answers = [
      apiError(503, 'TOO_MANY_STREAMS', 'busy', { headers: { 'retry-after': '30' } }),
      apiError(429, 'RATE_LIMITED', 'slow down', { headers: { 'retry-after': '86400' } }),
      sseResponse([sseMessage(update(2, 'settled'))]).response,
    ];
    const { sm, waits } = watcher((_c, i) => answers[i]);
    await expect(all(sm.watchJob({ jobId: 'j1' }))).resolves.toHaveLength(1);
    expect(waits).toEqual([30_000, SDK_LIMITS.watchRetryAfterMsMax]);
    expect(SDK_LIMITS.watchRetryAfterMsMax).toBe(5 * 60_000);
  });

  it('given refusals with a Retry-After, does not count them as failures: no fallback to polling, however many', async () => {
    const busy = SDK_LIMITS.watchConnectFailuresMax + 5;
    const { sm, calls, waits } = watcher((call, i) =>
      streams(call) ? (i < busy ? apiError(503, 'TOO_MANY_STREAMS', 'busy', { headers: { 'retry-after': '2' } }) : sseResponse([sseMessage(update(2, 'settled'))]).response) : json(200, job('settled')),
    );
    await expect(all(sm.watchJob({ jobId: 'j1' }))).resolves.toMatchObject([{ seq: '2', status: 'settled' }]);
    expect(calls.filter((c) => !streams(c))).toHaveLength(0);
    expect(waits).toHaveLength(busy);
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(2_000);
  });

  it("honours a Retry-After for the one wait it came with: after a stream works, the backoff starts over", async () => {
    const answers = [
      apiError(503, 'TOO_MANY_STREAMS', 'busy', { headers: { 'retry-after': '60' } }),
      sseResponse([sseMessage(update(1, 'queued'))], 'error').response,
      sseResponse([sseMessage(update(2, 'settled'))]).response,
    ];
    const { sm, waits } = watcher((_c, i) => answers[i]);
    await expect(all(sm.watchJob({ jobId: 'j1' }))).resolves.toHaveLength(2);
    expect(waits).toEqual([60_000, SDK_LIMITS.watchReconnectDelayMsBase]);
  });

  it('drops a stream silent for watchStreamIdleMsMax, at least twice the gateway\'s longest heartbeat period, and reconnects', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const silent = sseResponse([sseMessage(update(1, 'queued'))], 'hang');
      const answers = [silent.response, sseResponse([sseMessage(update(2, 'settled'))]).response];
      const { sm, calls } = watcher((_c, i) => answers[i]);
      const got: string[] = [];
      const done = (async () => {
        for await (const u of sm.watchJob({ jobId: 'j1' })) got.push(u.seq);
      })();
      await jest.advanceTimersByTimeAsync(SDK_LIMITS.watchStreamIdleMsMax - 1);
      expect(got).toEqual(['1']);
      expect(calls).toHaveLength(1);
      expect(silent.state.cancelled).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      await done;
      expect(silent.state.cancelled).toBe(true);
      expect(got).toEqual(['1', '2']);
      expect(calls[1].headers['last-event-id']).toBe('1');
    } finally {
      jest.useRealTimers();
    }
  });

  it('when the consumer stops early, cancels the stream', async () => {
    const stream = sseResponse([sseMessage(update(1, 'queued'))], 'hang');
    const { sm } = watcher(() => stream.response);
    for await (const u of sm.watchJob({ jobId: 'j1' })) {
      expect(u.seq).toBe('1');
      break;
    }
    expect(stream.state.cancelled).toBe(true);
  });

  it('when the signal aborts mid-stream, rejects with its reason and cancels the stream', async () => {
    const stream = sseResponse([sseMessage(update(1, 'queued'))], 'hang');
    const { sm } = watcher(() => stream.response);
    const controller = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const u of sm.watchJob({ jobId: 'j1', signal: controller.signal })) {
        seen.push(u.seq);
        controller.abort(new Error('enough'));
      }
    })();
    await expect(done).rejects.toThrow('enough');
    expect(seen).toEqual(['1']);
    expect(stream.state.cancelled).toBe(true);
  });
});

describe('watchJob falling back to polling', () => {
  it.each([
    ['404 without the event route', () => apiError(404, 'NOT_FOUND', 'Cannot GET')],
    ['501', () => apiError(501, 'HTTP_501', 'not implemented')],
    ['an answer that is not an event stream', () => json(200, { hello: 'proxy' })],
  ])('given %s, polls getJob at the interval (at least 1 s) and yields one update per status', async (_what, streamAnswer) => {
    const views: Job[] = [job('queued'), job('queued'), job('queued', { waitingReason: 'no A100 free' }), job('matched', { nodeId: 'n1', costWei: '10' }), job('settled', { nodeId: 'n1', costWei: '10' })];
    const { sm, calls, waits } = watcher((call) => (streams(call) ? streamAnswer() : json(200, views.shift())));
    const got = await all(sm.watchJob({ jobId: 'j1', pollIntervalMs: 250 }));
    expect(got.map((u) => [u.type, u.status])).toEqual([
      ['job.queued', 'queued'],
      ['job.waiting', 'queued'],
      ['job.matched', 'matched'],
      ['job.settled', 'settled'],
    ]);
    expect(got[1].waitingReason).toBe('no A100 free');
    expect(got[2]).toMatchObject({ nodeId: 'n1', costWei: '10', seq: '0', eventId: 'poll:j1:matched' });
    expect(calls.filter(streams)).toHaveLength(1); // it does not keep asking for the stream
    expect(new Set(waits)).toEqual(new Set([SDK_LIMITS.watchPollIntervalMsMin]));
  });

  it('given connects that keep failing, falls back to polling after watchConnectFailuresMax', async () => {
    const { sm, calls } = watcher((call) => (streams(call) ? new TypeError('socket hang up') : json(200, job('cancelled'))));
    await expect(all(sm.watchJob({ jobId: 'j1' }))).resolves.toMatchObject([{ status: 'cancelled' }]);
    expect(calls.filter(streams)).toHaveLength(SDK_LIMITS.watchConnectFailuresMax);
  });

  it('given the stream yielded the current state before connects kept failing, polling does not yield it again', async () => {
    const views: Job[] = [job('matched', { nodeId: 'n1' }), job('matched', { nodeId: 'n1' }), job('running', { nodeId: 'n1' }), job('settled', { nodeId: 'n1' })];
    let connects = 0;
    const { sm, calls } = watcher((call) => {
      if (!streams(call)) return json(200, views.shift());
      connects += 1;
      return connects === 1 ? sseResponse([sseMessage(update(1, 'queued')), sseMessage(update(2, 'matched'))], 'error').response : new TypeError('socket hang up');
    });
    const got = await all(sm.watchJob({ jobId: 'j1', pollIntervalMs: 1_000 }));
    expect(got.map((u) => [u.seq, u.status])).toEqual([
      ['1', 'queued'],
      ['2', 'matched'],
      ['0', 'running'],
      ['0', 'settled'],
    ]);
    expect(calls.filter(streams)).toHaveLength(SDK_LIMITS.watchConnectFailuresMax);
  });

  it('given the stream yielded a waiting reason, polling yields no view behind it (the view lags), only what is new', async () => {
    const views: Job[] = [job('queued'), job('queued', { waitingReason: 'no H200 free' }), job('queued', { waitingReason: 'no H200 free in eu-west' }), job('cancelled')];
    let connects = 0;
    const { sm } = watcher((call) => {
      if (!streams(call)) return json(200, views.shift());
      connects += 1;
      // the first stream works, the reconnect finds a proxy answering JSON: the stream is gone
      return connects === 1 ? sseResponse([sseMessage(update(1, 'queued')), sseMessage(update(2, 'queued', 'job.waiting', { waitingReason: 'no H200 free' }))], 'error').response : json(200, { hello: 'proxy' });
    });
    const got = await all(sm.watchJob({ jobId: 'j1' }));
    expect(got.map((u) => [u.seq, u.type, u.waitingReason])).toEqual([
      ['1', 'job.queued', undefined],
      ['2', 'job.waiting', 'no H200 free'],
      ['0', 'job.waiting', 'no H200 free in eu-west'],
      ['0', 'job.cancelled', undefined],
    ]);
  });

  it('given polls refused with a Retry-After, waits as it says and does not count them toward watchPollFailuresMax', async () => {
    const refusals = SDK_LIMITS.watchPollFailuresMax + 2;
    let polls = 0;
    const { sm, waits } = watcher((call) => {
      if (streams(call)) return apiError(404, 'NOT_FOUND', 'Cannot GET');
      polls += 1;
      // beyond the client's retry.maxDelayMs (30 s): getJob's own retries give up and the watcher waits
      return polls <= refusals ? apiError(503, 'DEPENDENCY_UNAVAILABLE', 'away', { headers: { 'retry-after': '60' } }) : json(200, job('settled'));
    });
    await expect(all(sm.watchJob({ jobId: 'j1' }))).resolves.toMatchObject([{ status: 'settled' }]);
    expect(waits).toEqual(Array<number>(refusals).fill(60_000));
  });

  it('given polls that keep failing, gives up with the last error after watchPollFailuresMax', async () => {
    const { sm, calls } = watcher((call) => (streams(call) ? apiError(404, 'NOT_FOUND', 'x') : apiError(502, 'HTTP_502', 'bad gateway')));
    await expect(all(sm.watchJob({ jobId: 'j1' }))).rejects.toMatchObject({ status: 502 });
    expect(calls.filter((c) => !streams(c))).toHaveLength(SDK_LIMITS.watchPollFailuresMax);
  });
});
