import { apiError, fakeFetch, fakeSleep, json, sseMessage, sseResponse, type FakeAnswer, type SeenCall } from '../test/fake-fetch';
import { createClient, type JobInput } from './client';
import { JobWaitError, StarMinerApiError } from './errors';
import type { Job, JobStatus, JobUpdate } from './types';

const BASE = 'http://gateway.test';

const spec: JobInput = {
  category: 'inference',
  budgetWei: 50n * 10n ** 18n,
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 8, tee: false, regions: [] },
  expectedRuntimeSec: 60,
  workload: { kind: 'hash-chain', seed: 's', iterations: 10 },
};

const job = (status: JobStatus, over: Partial<Job> = {}): Job =>
  ({ jobId: 'j1', status, nodeId: null, costWei: null, contractAddress: null, waitingReason: null, failure: null, updatedAt: '2026-03-01T12:00:00.000Z', ...over }) as Job;

const update = (seq: number, status: JobStatus, type = `job.${status}`): JobUpdate =>
  ({ seq: String(seq), eventId: `e${seq}`, type, jobId: 'j1', status, at: '2026-03-01T12:00:00.000Z' }) as JobUpdate;

function client(script: FakeAnswer[] | ((call: SeenCall, index: number) => FakeAnswer | Promise<FakeAnswer>), apiKey: string | undefined = 'sm_key') {
  const f = fakeFetch(script);
  const clock = fakeSleep();
  return { sm: createClient({ baseUrl: BASE, apiKey, fetch: f.fetch, sleep: clock.sleep }), calls: f.calls, waits: clock.waits };
}

describe('createClient', () => {
  it('given no http(s) baseUrl, refuses at once', () => {
    expect(() => createClient({ baseUrl: 'gateway.test' })).toThrow(TypeError);
  });

  it('createOrg authenticates with the operator token, not the API key, and is sent once', async () => {
    const { sm, calls } = client([apiError(503, 'DEPENDENCY_UNAVAILABLE', 'away', { headers: { 'retry-after': '1' } })]);
    await expect(sm.createOrg({ operatorToken: 'op-token', name: 'Acme' })).rejects.toMatchObject({ status: 503 });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: 'POST', path: '/v1/orgs', body: '{"name":"Acme"}' });
    expect(calls[0].headers.authorization).toBe('Bearer op-token');
  });

  it('submitJob sends the API key, the JSON body with amounts as decimal strings, and the caller idempotency key', async () => {
    const { sm, calls } = client([json(202, { jobId: 'j1', status: 'queued' })]);
    await expect(sm.submitJob({ job: spec, idempotencyKey: 'idem-1' })).resolves.toEqual({ jobId: 'j1', status: 'queued' });
    expect(calls[0]).toMatchObject({ method: 'POST', path: '/v1/jobs' });
    expect(JSON.parse(calls[0].body!)).toMatchObject({ budgetWei: '50000000000000000000', workload: spec.workload });
    expect(calls[0].headers).toMatchObject({ authorization: 'Bearer sm_key', 'idempotency-key': 'idem-1', 'content-type': 'application/json' });
  });

  it('submitJob without a key makes one per call and sends the same one on its retry, so the retry cannot submit twice', async () => {
    const { sm, calls } = client([new TypeError('fetch failed'), json(202, { jobId: 'j1', status: 'queued' }), json(202, { jobId: 'j2', status: 'queued' })]);
    await sm.submitJob({ job: spec });
    await sm.submitJob({ job: spec });
    const keys = calls.map((c) => c.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^sdk-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
  });

  it('faucet sends amountWei as a decimal string with an idempotency key', async () => {
    const { sm, calls } = client([json(200, { txHash: `0x${'1'.repeat(64)}`, balanceWei: '5' })]);
    await sm.faucet({ amountWei: 5n });
    expect(JSON.parse(calls[0].body!)).toEqual({ amountWei: '5' });
    expect(calls[0].headers['idempotency-key']).toMatch(/^sdk-/);
  });

  it('cancelJob is sent once; createQuote (changes nothing) is retried', async () => {
    const busy = () => apiError(503, 'DEPENDENCY_UNAVAILABLE', 'away', { headers: { 'retry-after': '0' } });
    const a = client([busy()]);
    await expect(a.sm.cancelJob({ jobId: 'j1' })).rejects.toMatchObject({ status: 503 });
    expect(a.calls).toHaveLength(1);
    const b = client([busy(), json(200, { feasible: true })]);
    await expect(b.sm.createQuote({ job: spec })).resolves.toMatchObject({ feasible: true });
    expect(b.calls.map((c) => c.path)).toEqual(['/v1/quotes', '/v1/quotes']);
  });

  it('deleteWebhook is sent once: a retry after a lost answer would turn a done delete into a 404', async () => {
    const a = client([new TypeError('fetch failed: socket hang up'), json(404, { error: { code: 'WEBHOOK_NOT_FOUND', message: 'gone' } })]);
    await expect(a.sm.deleteWebhook({ webhookId: 'w1' })).rejects.toMatchObject({ name: 'StarMinerNetworkError' });
    expect(a.calls).toHaveLength(1);
    const b = client([apiError(503, 'DEPENDENCY_UNAVAILABLE', 'away', { headers: { 'retry-after': '0' } })]);
    await expect(b.sm.deleteWebhook({ webhookId: 'w1' })).rejects.toMatchObject({ status: 503 });
    expect(b.calls).toHaveLength(1);
  });

  it('takes a job written `as const` (readonly lists), as the README writes it, and sends it as given', async () => {
    const frozen = {
      ...spec,
      requirements: { gpuModels: ['H100'], gpuCount: 1, minVramGiB: 80, tee: false, regions: ['eu-west'] },
      workload: { kind: 'command', command: ['python', 'train.py'] },
    } as const;
    const { sm, calls } = client([json(200, { feasible: true }), json(202, { jobId: 'j1', status: 'queued' })]);
    await sm.createQuote({ job: frozen });
    await sm.submitJob({ job: frozen });
    for (const c of calls) expect(JSON.parse(c.body!)).toMatchObject({ requirements: { gpuModels: ['H100'], regions: ['eu-west'] }, workload: { command: ['python', 'train.py'] } });
  });

  it('puts ids into paths encoded, so an id cannot reach another route', async () => {
    const { sm, calls } = client([json(200, job('queued'))]);
    await sm.getJob({ jobId: '../orgs?x=1' });
    expect(calls[0].path).toBe('/v1/jobs/..%2Forgs%3Fx%3D1');
  });

  it('listNodes sends the filter language as one query parameter; getPrices its filters', async () => {
    const { sm, calls } = client([json(200, { nodes: [], nextCursor: null }), json(200, { markets: [], nextCursor: null })]);
    await sm.listNodes({ filter: 'gpu=H100 vram>=80 region in [eu-west,us-east] reputation>0.9', limit: 10 });
    await sm.getPrices({ gpuModel: 'H100', region: 'eu-west' });
    expect(new URL(calls[0].url).searchParams.get('filter')).toBe('gpu=H100 vram>=80 region in [eu-west,us-east] reputation>0.9');
    expect(new URL(calls[0].url).searchParams.get('limit')).toBe('10');
    expect(calls[1].path).toBe('/v1/market/prices?gpuModel=H100&region=eu-west');
  });

  it('the webhook calls use their routes and methods', async () => {
    const { sm, calls } = client([json(201, { webhookId: 'w1', secret: 'whsec_x' }), json(200, { webhooks: [] }), json(200, { deliveries: [], nextCursor: null }), json(202, { deliveryId: 'd1', status: 'pending' }), json(204, null)]);
    await sm.createWebhook({ url: 'https://example.test/hook' });
    await sm.listWebhooks();
    await sm.listWebhookDeliveries({ webhookId: 'w1', limit: 5 });
    await sm.redeliverWebhook({ webhookId: 'w1', deliveryId: 'd1' });
    await expect(sm.deleteWebhook({ webhookId: 'w1' })).resolves.toBeUndefined();
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /v1/webhooks',
      'GET /v1/webhooks',
      'GET /v1/webhooks/w1/deliveries?limit=5',
      'POST /v1/webhooks/w1/deliveries/d1/redeliver',
      'DELETE /v1/webhooks/w1',
    ]);
    expect(JSON.parse(calls[0].body!)).toEqual({ url: 'https://example.test/hook' });
  });
});

describe('pagination', () => {
  it('jobs() walks every page lazily, following nextCursor until there is none', async () => {
    const { sm, calls } = client([
      json(200, { jobs: [job('queued', { jobId: 'a' }), job('settled', { jobId: 'b' })], nextCursor: 'c1' }),
      json(200, { jobs: [job('failed', { jobId: 'c' })], nextCursor: 'c2' }),
      json(200, { jobs: [], nextCursor: null }),
    ]);
    const ids: string[] = [];
    for await (const j of sm.jobs({ pageSize: 2 })) ids.push(j.jobId);
    expect(ids).toEqual(['a', 'b', 'c']);
    expect(calls.map((c) => c.path)).toEqual(['/v1/jobs?limit=2', '/v1/jobs?limit=2&cursor=c1', '/v1/jobs?limit=2&cursor=c2']);
  });

  it('asks for a page only when the loop needs it: breaking early fetches no more', async () => {
    const { sm, calls } = client([json(200, { nodes: [{ nodeId: 'n1' }, { nodeId: 'n2' }], nextCursor: 'c1' })]);
    for await (const n of sm.nodes({ filter: 'gpu=H100', pageSize: 500 })) {
      expect(n.nodeId).toBe('n1');
      break;
    }
    expect(calls).toHaveLength(1);
    expect(calls[0].path).toBe('/v1/nodes?filter=gpu%3DH100&limit=100'); // the page size is bounded by the gateway's
  });

  it('given a gateway that answers the same cursor again, throws instead of looping for ever', async () => {
    const { sm } = client(() => json(200, { jobs: [job('queued')], nextCursor: 'same' }));
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const j of sm.jobs()) seen.push(j.jobId);
      })(),
    ).rejects.toThrow(/twice/);
    expect(seen).toHaveLength(2);
  });

  it('getJobHistory collects every page of the job updates, in order', async () => {
    const { sm, calls } = client([json(200, { updates: [update(3, 'queued'), update(7, 'matched')], nextCursor: '7' }), json(200, { updates: [update(9, 'settled')], nextCursor: null })]);
    const updates = await sm.getJobHistory({ jobId: 'j1' });
    expect(updates.map((u) => u.seq)).toEqual(['3', '7', '9']);
    expect(calls.map((c) => c.path)).toEqual(['/v1/jobs/j1/history?limit=100', '/v1/jobs/j1/history?limit=100&cursor=7']);
  });
});

describe('waitForJob', () => {
  const events = (call: SeenCall) => call.path.startsWith('/v1/jobs/j1/events');

  it('given the stream brings the job to settled, resolves with the job read after that update', async () => {
    const stream = sseResponse([sseMessage(update(1, 'queued')), sseMessage(update(2, 'matched')), sseMessage(update(5, 'settled'))]);
    let reads = 0;
    const { sm, calls } = client((call) => (events(call) ? stream.response : json(200, job(reads++ === 0 ? 'queued' : 'settled'))));
    await expect(sm.waitForJob({ jobId: 'j1' })).resolves.toMatchObject({ status: 'settled' });
    expect(calls.map((c) => c.path)).toEqual(['/v1/jobs/j1', '/v1/jobs/j1/events', '/v1/jobs/j1']);
    expect(calls[1].headers.accept).toBe('text/event-stream');
  });

  it('given the job already has a wanted status, answers without watching', async () => {
    const { sm, calls } = client([json(200, job('matched'))]);
    await expect(sm.waitForJob({ jobId: 'j1', statuses: ['matched', 'contracted'] })).resolves.toMatchObject({ status: 'matched' });
    expect(calls).toHaveLength(1);
  });

  it('given the job ends in a final status that is not wanted, rejects with JOB_ENDED and the job', async () => {
    const stream = sseResponse([sseMessage(update(1, 'queued')), sseMessage(update(4, 'refunded'))]);
    let reads = 0;
    const { sm } = client((call) => (events(call) ? stream.response : json(200, job(reads++ === 0 ? 'running' : 'refunded'))));
    const err = await sm.waitForJob({ jobId: 'j1', statuses: ['settled'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobWaitError);
    expect(err).toMatchObject({ code: 'JOB_ENDED', lastJob: { status: 'refunded' } });
  });

  it('given the view is behind the stream, reads it again until it shows the update', async () => {
    const stream = sseResponse([sseMessage(update(5, 'settled'))]);
    const views: JobStatus[] = ['running', 'completed', 'completed', 'settled'];
    const { sm, waits } = client((call) => (events(call) ? stream.response : json(200, job(views.shift()!))));
    await expect(sm.waitForJob({ jobId: 'j1' })).resolves.toMatchObject({ status: 'settled' });
    expect(waits).toEqual([500, 500]);
  });

  it('given a wanted status the job has already passed, skips its replayed updates (no re-reads) and rejects JOB_ENDED when the job ends', async () => {
    // the job is completed; the stream starts with its whole past, `running` included
    const stream = sseResponse([update(1, 'queued'), update(2, 'matched'), update(3, 'contracted'), update(4, 'running'), update(5, 'completed'), update(6, 'settled')].map(sseMessage));
    const views: JobStatus[] = ['completed', 'settled'];
    const { sm, calls, waits } = client((call) => (events(call) ? stream.response : json(200, job(views.shift() ?? 'completed'))));
    const err = await sm.waitForJob({ jobId: 'j1', statuses: ['running'] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'JobWaitError', code: 'JOB_ENDED', lastJob: { status: 'settled' } });
    // the first read, the stream, one read after `settled`: none for the replayed `running`
    expect(calls.map((c) => c.path)).toEqual(['/v1/jobs/j1', '/v1/jobs/j1/events', '/v1/jobs/j1']);
    expect(waits).toEqual([]);
  });

  it('given the job moves past a wanted status before its view shows it, never resolves with a job in another status', async () => {
    // the view jumps from contracted to completed: it never shows `running`
    const stream = sseResponse([update(3, 'contracted'), update(4, 'running'), update(5, 'completed'), update(6, 'refunded')].map(sseMessage));
    const views: JobStatus[] = ['contracted', 'completed', 'refunded'];
    const { sm, waits } = client((call) => (events(call) ? stream.response : json(200, job(views.shift() ?? 'refunded'))));
    const err = await sm.waitForJob({ jobId: 'j1', statuses: ['running'] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'JobWaitError', code: 'JOB_ENDED', lastJob: { status: 'refunded' } });
    expect(waits).toEqual([]); // a view past the update is not read again
  });

  it('given a wanted status that is not final and the view shows it, resolves with it', async () => {
    const stream = sseResponse([update(1, 'queued'), update(3, 'contracted'), update(4, 'running')].map(sseMessage), 'hang');
    const views: JobStatus[] = ['queued', 'contracted', 'running'];
    const { sm } = client((call) => (events(call) ? stream.response : json(200, job(views.shift() ?? 'running'))));
    await expect(sm.waitForJob({ jobId: 'j1', statuses: ['running'] })).resolves.toMatchObject({ status: 'running' });
    expect(stream.state.cancelled).toBe(true);
  });

  it('given the view stays behind a final update past the quick re-reads, keeps reading it: resolves only with the settled job', async () => {
    const stream = sseResponse([sseMessage(update(6, 'settled'))]);
    const views: JobStatus[] = ['running', ...Array<JobStatus>(14).fill('completed'), 'settled'];
    const { sm, waits } = client((call) => (events(call) ? stream.response : json(200, job(views.shift()!))));
    await expect(sm.waitForJob({ jobId: 'j1' })).resolves.toMatchObject({ status: 'settled' });
    expect(waits).toEqual([...Array<number>(9).fill(500), ...Array<number>(5).fill(2_000)]);
  });

  it('given nothing happens in timeoutMs, rejects with WAIT_TIMEOUT and the last job read, and closes the stream', async () => {
    const stream = sseResponse([sseMessage(update(1, 'queued'))], 'hang');
    const { sm } = createWithRealClock((call) => (events(call) ? stream.response : json(200, job('queued'))));
    const err = await sm.waitForJob({ jobId: 'j1', timeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'JobWaitError', code: 'WAIT_TIMEOUT', lastJob: { status: 'queued' } });
    expect(stream.state.cancelled).toBe(true);
  });

  it('given the caller aborts, rejects with the abort reason (not a timeout)', async () => {
    const stream = sseResponse([], 'hang');
    const { sm } = createWithRealClock((call) => (events(call) ? stream.response : json(200, job('queued'))));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('user stopped')), 20);
    await expect(sm.waitForJob({ jobId: 'j1', signal: controller.signal })).rejects.toThrow('user stopped');
  });

  it('given a job that is not the org, rejects with the API error', async () => {
    const { sm } = client([apiError(404, 'JOB_NOT_FOUND', 'no such job')]);
    await expect(sm.waitForJob({ jobId: 'j1' })).rejects.toBeInstanceOf(StarMinerApiError);
  });
});

function createWithRealClock(script: (call: SeenCall, index: number) => FakeAnswer) {
  const f = fakeFetch(script);
  return { sm: createClient({ baseUrl: BASE, apiKey: 'k', fetch: f.fetch }), calls: f.calls };
}
