import { apiError, fakeFetch, fakeSleep, json } from '../test/fake-fetch';
import { StarMinerApiError, StarMinerNetworkError } from './errors';
import { parseRetryAfter, retryDelayMs, retryPolicyOf, send, type RequestSpec, type TransportOptions } from './http';
import { SDK_LIMITS } from './limits';

const BASE = 'http://gateway.test';
const read: RequestSpec = { method: 'GET', path: '/v1/jobs', retry: true };
const write: RequestSpec = { method: 'POST', path: '/v1/orgs', body: { name: 'x' }, retry: false };

function transport(fetch: ReturnType<typeof fakeFetch>['fetch'], extra: Partial<TransportOptions> = {}) {
  const clock = fakeSleep();
  return { t: { baseUrl: BASE, fetch, sleep: clock.sleep, ...extra } as TransportOptions, waits: clock.waits };
}

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  it.each([
    ['3', 3],
    [' 120 ', 120],
    ['0', 0],
    ['Sun, 01 Mar 2026 12:00:30 GMT', 30],
    ['Sun, 01 Mar 2026 11:00:00 GMT', 0],
  ])('given %j, gives %s seconds', (header, sec) => {
    expect(parseRetryAfter(header, now)).toBe(sec);
  });
  it.each([[null], [undefined], [''], ['-1'], ['1.5'], ['soon'], ['12345678901']])('given %j, gives nothing', (header) => {
    expect(parseRetryAfter(header, now)).toBeUndefined();
  });
});

describe('retryDelayMs', () => {
  it('given no Retry-After, backs off exponentially with full jitter, capped at maxDelayMs', () => {
    expect(retryDelayMs(1, undefined, 30_000, () => 0.999)).toBe(249);
    expect(retryDelayMs(3, undefined, 30_000, () => 0.999)).toBe(999);
    expect(retryDelayMs(30, undefined, 5_000, () => 0.999)).toBe(4_995);
    expect(retryDelayMs(3, undefined, 30_000, () => 0)).toBe(0);
  });
  it('given a Retry-After, never retries sooner than it', () => {
    expect(retryDelayMs(1, 2, 30_000, () => 0)).toBe(2_000);
    expect(retryDelayMs(1, 0, 30_000, () => 0.5)).toBe(125);
  });
  it('given a Retry-After beyond maxDelayMs, gives up (null) rather than retry early', () => {
    expect(retryDelayMs(1, 31, 30_000)).toBeNull();
  });
});

describe('retryPolicyOf', () => {
  it('bounds what the caller asks', () => {
    expect(retryPolicyOf(undefined)).toEqual({ maxAttempts: SDK_LIMITS.retryAttemptsDefault, maxDelayMs: SDK_LIMITS.retryDelayMsDefault });
    expect(retryPolicyOf({ maxAttempts: 1000, maxDelayMs: 1e12 })).toEqual({ maxAttempts: SDK_LIMITS.retryAttemptsMax, maxDelayMs: SDK_LIMITS.retryDelayMsMax });
    expect(retryPolicyOf({ maxAttempts: 0, maxDelayMs: -5 })).toEqual({ maxAttempts: 1, maxDelayMs: 0 });
    expect(retryPolicyOf({ maxAttempts: Number.NaN })).toMatchObject({ maxAttempts: 1 });
  });
});

describe('send', () => {
  it('given a 2xx, answers the parsed JSON; given a 204, undefined', async () => {
    const f = fakeFetch([json(200, { jobs: [], nextCursor: null }), json(204, null)]);
    const { t } = transport(f.fetch);
    await expect(send(t, read)).resolves.toEqual({ jobs: [], nextCursor: null });
    await expect(send(t, { method: 'DELETE', path: '/v1/webhooks/w1', retry: true })).resolves.toBeUndefined();
  });

  it('sends the body as JSON with bigints as decimal strings, and the query without undefined values', async () => {
    const f = fakeFetch([json(200, {})]);
    const { t } = transport(f.fetch, { baseUrl: `${BASE}/api/` });
    await send(t, { method: 'POST', path: '/v1/jobs', query: { limit: 5, cursor: undefined, filter: 'gpu=H100 vram>=80' }, body: { budgetWei: 10n ** 30n }, retry: false });
    expect(f.calls[0]).toMatchObject({ url: `${BASE}/api/v1/jobs?limit=5&filter=gpu%3DH100+vram%3E%3D80`, method: 'POST', body: '{"budgetWei":"1000000000000000000000000000000"}' });
    expect(f.calls[0].headers).toMatchObject({ 'content-type': 'application/json', accept: 'application/json' });
  });

  it('given an error envelope, throws StarMinerApiError with status, code, message and details', async () => {
    const f = fakeFetch([apiError(402, 'INSUFFICIENT_FUNDS', 'the budget is beyond the funds', { details: { balanceWei: '0' } })]);
    const err = await send(transport(f.fetch).t, read).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StarMinerApiError);
    expect(err).toMatchObject({ status: 402, code: 'INSUFFICIENT_FUNDS', message: 'the budget is beyond the funds', details: { balanceWei: '0' } });
  });

  it('given a non-JSON error, keeps the status, a code HTTP_<status> and the text', async () => {
    const f = fakeFetch([new Response('bad gateway', { status: 502 })]);
    await expect(send(transport(f.fetch).t, read)).rejects.toMatchObject({ status: 502, code: 'HTTP_502', message: 'bad gateway' });
  });

  describe('retries', () => {
    it('given 503 then 429 with Retry-After on a read, waits as told and answers the third attempt', async () => {
      const f = fakeFetch([
        apiError(503, 'DEPENDENCY_UNAVAILABLE', 'away', { headers: { 'retry-after': '2' } }),
        apiError(429, 'RATE_LIMITED', 'slow down', { headers: { 'retry-after': '1' } }),
        json(200, { ok: 1 }),
      ]);
      const { t, waits } = transport(f.fetch);
      await expect(send(t, read)).resolves.toEqual({ ok: 1 });
      expect(f.calls).toHaveLength(3);
      expect(waits[0]).toBeGreaterThanOrEqual(2_000);
      expect(waits[1]).toBeGreaterThanOrEqual(1_000);
    });

    it('given details.retryAfterSec and no header, honours it', async () => {
      const f = fakeFetch([apiError(503, 'VERIFICATION_BUSY', 'busy', { details: { retryAfterSec: 4 } }), json(200, {})]);
      const { t, waits } = transport(f.fetch);
      await send(t, read);
      expect(waits[0]).toBeGreaterThanOrEqual(4_000);
    });

    it('given 503 on every attempt, stops after maxAttempts and throws the last answer with its retryAfterSec', async () => {
      const f = fakeFetch(() => apiError(503, 'DEPENDENCY_UNAVAILABLE', 'away', { headers: { 'retry-after': '1' } }));
      const { t } = transport(f.fetch, { retry: { maxAttempts: 4 } });
      await expect(send(t, read)).rejects.toMatchObject({ status: 503, retryAfterSec: 1 });
      expect(f.calls).toHaveLength(4);
    });

    it('given a Retry-After beyond maxDelayMs, does not retry early: throws at once', async () => {
      const f = fakeFetch([apiError(503, 'DEPENDENCY_UNAVAILABLE', 'away', { headers: { 'retry-after': '120' } })]);
      const { t, waits } = transport(f.fetch, { retry: { maxDelayMs: 10_000 } });
      await expect(send(t, read)).rejects.toMatchObject({ status: 503, retryAfterSec: 120 });
      expect(waits).toEqual([]);
    });

    it('given 409 IDEMPOTENCY_IN_PROGRESS on a keyed write, retries after its Retry-After (the first attempt is still running)', async () => {
      const f = fakeFetch([apiError(409, 'IDEMPOTENCY_IN_PROGRESS', 'wait', { headers: { 'retry-after': '1' } }), json(202, { jobId: 'j1', status: 'queued' })]);
      const { t } = transport(f.fetch);
      await expect(send(t, { method: 'POST', path: '/v1/jobs', body: {}, headers: { 'idempotency-key': 'k' }, retry: true })).resolves.toMatchObject({ jobId: 'j1' });
      expect(f.calls.map((c) => c.headers['idempotency-key'])).toEqual(['k', 'k']);
    });

    it.each([[400], [401], [402], [404], [409], [422], [500], [502]])('given %s, does not retry', async (status) => {
      const f = fakeFetch([apiError(status, 'X')]);
      await expect(send(transport(f.fetch).t, read)).rejects.toMatchObject({ status });
      expect(f.calls).toHaveLength(1);
    });

    it('given a write that is not safe to repeat (no idempotency key), neither a 503 nor a network error is retried', async () => {
      const a = fakeFetch([apiError(503, 'DEPENDENCY_UNAVAILABLE', 'away', { headers: { 'retry-after': '1' } })]);
      await expect(send(transport(a.fetch).t, write)).rejects.toMatchObject({ status: 503 });
      expect(a.calls).toHaveLength(1);
      const b = fakeFetch([new TypeError('fetch failed')]);
      await expect(send(transport(b.fetch).t, write)).rejects.toBeInstanceOf(StarMinerNetworkError);
      expect(b.calls).toHaveLength(1);
    });

    it('given network errors on a read, retries with backoff, then throws StarMinerNetworkError with the cause', async () => {
      const f = fakeFetch(() => new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') }));
      const { t, waits } = transport(f.fetch);
      const err = await send(t, read).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StarMinerNetworkError);
      expect(err).toMatchObject({ code: 'NETWORK', cause: expect.any(TypeError) });
      expect(f.calls).toHaveLength(SDK_LIMITS.retryAttemptsDefault);
      expect(waits).toHaveLength(SDK_LIMITS.retryAttemptsDefault - 1);
      for (const [i, w] of waits.entries()) expect(w).toBeLessThan(SDK_LIMITS.retryBaseDelayMs * 2 ** i);
    });
  });

  describe('timeout and abort', () => {
    it('given no answer within timeoutMs, aborts the attempt: a StarMinerNetworkError TIMEOUT', async () => {
      const f = fakeFetch(['hang']);
      const { t } = transport(f.fetch, { timeoutMs: 20, retry: { maxAttempts: 1 } });
      await expect(send(t, read)).rejects.toMatchObject({ name: 'StarMinerNetworkError', code: 'TIMEOUT' });
      expect(f.calls[0].signal?.aborted).toBe(true);
    });

    it('given the caller aborts mid-request, rejects with the signal reason and sends nothing more', async () => {
      const f = fakeFetch(['hang', json(200, {})]);
      const controller = new AbortController();
      const pending = send(transport(f.fetch).t, { ...read, signal: controller.signal });
      await new Promise((r) => setTimeout(r, 5));
      controller.abort(new Error('user gave up'));
      await expect(pending).rejects.toThrow('user gave up');
      expect(f.calls).toHaveLength(1);
    });

    it('given the caller aborts during a backoff wait, stops there', async () => {
      const f = fakeFetch(() => apiError(503, 'DEPENDENCY_UNAVAILABLE', 'away', { headers: { 'retry-after': '1' } }));
      const controller = new AbortController();
      // the real sleep: the abort comes while it waits the second of Retry-After
      const t: TransportOptions = { baseUrl: BASE, fetch: f.fetch };
      const pending = send(t, { ...read, signal: controller.signal });
      setTimeout(() => controller.abort(new Error('stop')), 50);
      await expect(pending).rejects.toThrow('stop');
      expect(f.calls).toHaveLength(1);
    });

    it('given a signal already aborted, sends nothing', async () => {
      const f = fakeFetch([json(200, {})]);
      await expect(send(transport(f.fetch).t, { ...read, signal: AbortSignal.abort(new Error('before')) })).rejects.toThrow('before');
      expect(f.calls).toHaveLength(0);
    });
  });
});
