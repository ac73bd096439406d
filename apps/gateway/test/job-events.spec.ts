import type { INestApplication } from '@nestjs/common';
import { createParser } from 'eventsource-parser';
import { isFinalJobStatus, jobUpdateSchema, type JobUpdate } from '@starminer/events';
import { listen } from '@starminer/service-kit';
import { eventually } from '@starminer/service-testing';
import { createGateway } from '../src/main';
import { jobUpdatesOnLog, OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

/**
 * Live job status over Server-Sent Events (GET /v1/jobs/{jobId}/events) and a job's history, on
 * the whole market (real NATS, Postgres, anvil). The client is a raw one (fetch and
 * eventsource-parser, as any EventSource would read it), not the SDK: what is tested is the wire.
 */
const AGPU = 10n ** 18n;
/** Heartbeats every second, and four streams per gateway process, so both can be seen in a test. */
const ENV = { JOB_EVENTS_HEARTBEAT_SEC: '1', JOB_EVENTS_STREAMS_MAX: '4' };
/** Long enough (a few seconds of sha256 on the agent, and again in settlement) that the job still runs when the gateway comes back. */
const SLOW_ITERATIONS = 3_000_000;

let market: Market;
let keyA: string;
let keyB: string;
const gateways: INestApplication[] = [];
/** Each watch's stop, so none outlives the file. */
const watchers: AbortController[] = [];

const job = (requirements: Record<string, unknown>, iterations = 2_000) => ({
  category: 'inference',
  budgetWei: (50n * AGPU).toString(),
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 8, tee: false, regions: [], ...requirements },
  expectedRuntimeSec: 60,
  workload: { kind: 'hash-chain', seed: 'job-events', iterations },
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of many shapes, read field by field
type Answer = { status: number; headers: Headers; body: any };
async function call(method: string, url: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

async function newOrg(name: string): Promise<string> {
  const org = await call('POST', `${market.gatewayUrl}/v1/orgs`, OPERATOR_TOKEN, { name });
  expect(org.status).toBe(201);
  return org.body.apiKey as string;
}

async function submit(key: string, body: unknown, idempotencyKey: string): Promise<string> {
  const answer = await call('POST', `${market.gatewayUrl}/v1/jobs`, key, body, { 'idempotency-key': idempotencyKey });
  expect(answer.status).toBe(202);
  return answer.body.jobId as string;
}

const statusOf = async (jobId: string): Promise<string> => (await call('GET', `${market.gatewayUrl}/v1/jobs/${jobId}`, keyA)).body.status as string;

/** A second gateway on the same stores (NATS, Postgres, chain), on `port` (0: any). */
async function startGateway(port = 0): Promise<{ app: INestApplication; url: string }> {
  const saved = process.env.HTTP_PORT;
  process.env.HTTP_PORT = String(port);
  try {
    const app = await createGateway({ logger: ['error', 'warn'] });
    gateways.push(app);
    return { app, url: await listen(app) };
  } finally {
    process.env.HTTP_PORT = saved;
  }
}

interface Message {
  id: string | undefined;
  event: string | undefined;
  update: JobUpdate;
}

interface Opened {
  status: number;
  headers: Headers;
  /** the error body of an answer other than 200 */
  body?: unknown;
}

/**
 * One connection of a raw SSE client: reads until the server ends the stream (or `signal`
 * aborts), telling each message and comment. Resolves how it was answered.
 */
async function connect(url: string, key: string, opts: { lastEventId?: string; signal?: AbortSignal; onOpen?: (o: Opened) => void; onMessage?: (m: Message) => void; onComment?: (c: string) => void } = {}): Promise<Opened> {
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...(opts.lastEventId === undefined ? {} : { 'last-event-id': opts.lastEventId }) },
    signal: opts.signal,
  });
  if (res.status !== 200) {
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }
  opts.onOpen?.({ status: res.status, headers: res.headers });
  const parser = createParser({
    onEvent: (ev) => opts.onMessage?.({ id: ev.id, event: ev.event, update: jobUpdateSchema.parse(JSON.parse(ev.data)) }),
    onComment: (c) => opts.onComment?.(c),
  });
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
  return { status: res.status, headers: res.headers };
}

/**
 * A watcher as a client would write one: connects, and whenever the stream drops before a final
 * status (the gateway restarting: a reset, a refused connection, an end), connects again with the
 * id of the last update it got as Last-Event-ID, until its job has ended.
 */
function watch(baseUrl: string, jobId: string, key: string) {
  const received: Message[] = [];
  const connections: { lastEventId: string | undefined; status: number | 'network error'; firstSeq?: string }[] = [];
  const stop = new AbortController();
  watchers.push(stop);
  const done = (async () => {
    const deadline = Date.now() + 150_000;
    while (Date.now() < deadline && !stop.signal.aborted) {
      const lastEventId = received.at(-1)?.id;
      const connection: (typeof connections)[number] = { lastEventId, status: 'network error' };
      try {
        const answer = await connect(`${baseUrl}/v1/jobs/${jobId}/events`, key, {
          lastEventId,
          signal: stop.signal,
          onOpen: (o) => {
            connection.status = o.status;
            connections.push(connection);
          },
          onMessage: (m) => {
            connection.firstSeq ??= m.update.seq;
            received.push(m);
          },
        });
        if (answer.status !== 200) throw new Error(`the stream answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        const last = received.at(-1);
        if (last && isFinalJobStatus(last.update.status)) return;
      } catch (err) {
        if (stop.signal.aborted) break;
        // fetch refused or reset (a TypeError of Node's realm, not jest's): the gateway is away; try again, as an EventSource would
        if ((err as Error)?.name !== 'TypeError') throw err;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(stop.signal.aborted ? `the watch of job ${jobId} was stopped` : `job ${jobId} did not end within the watch`);
  })();
  // a test that fails before it awaits `done` leaves no rejection behind to fail another suite; awaiting it still throws
  done.catch(() => undefined);
  return { received, connections, done };
}

/** The job's updates as the log says them: its job and contract events in log order, each as a client sees it. */
const updatesInLog = (jobId: string): Promise<JobUpdate[]> => jobUpdatesOnLog(market.log, jobId);

/** The streams the market's gateway serves now, from its metrics. */
async function openStreams(): Promise<number> {
  const text = await (await fetch(`${market.gatewayUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('starminer_job_event_streams'));
  return Number(line?.split(' ').at(-1));
}

async function history(jobId: string, key: string, limit: number): Promise<JobUpdate[]> {
  const all: JobUpdate[] = [];
  let cursor: string | null = null;
  do {
    const page: Answer = await call('GET', `${market.gatewayUrl}/v1/jobs/${jobId}/history?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, key);
    expect(page.status).toBe(200);
    expect(page.body.updates.length).toBeLessThanOrEqual(limit);
    all.push(...page.body.updates);
    cursor = page.body.nextCursor;
  } while (cursor);
  return all;
}

beforeAll(async () => {
  market = await startMarket({ env: ENV });
  keyA = await newOrg('Watcher');
  keyB = await newOrg('Other');
  const faucet = await call('POST', `${market.gatewayUrl}/v1/dev/faucet`, keyA, { amountWei: (1000n * AGPU).toString() });
  expect(faucet.status).toBe(200);
}, 180_000);

afterAll(async () => {
  for (const stop of watchers) stop.abort();
  for (const app of gateways) await app.close().catch(() => undefined);
  await market?.stop();
});

let settledJobId: string;

describe('the job event stream', () => {
  it('a watcher survives a gateway restart without missing an event: every update of the job from the log, in seq order, once each, ending job.settled', async () => {
    const gw = await startGateway();
    const port = Number(new URL(gw.url).port);
    // no node runs it yet, so the job waits while the watcher's gateway is up
    const jobId = await submit(keyA, job({ gpuModels: ['RTX4090'], regions: ['eu-west'] }, SLOW_ITERATIONS), 'sse-restart');
    settledJobId = jobId;
    const watcher = watch(gw.url, jobId, keyA);
    await eventually(() => watcher.received.some((m) => m.update.type === 'job.queued'), 30_000, 50);

    // the watcher's gateway stops: its stream ends, and reconnects are refused while it is away
    await gw.app.close();
    // meanwhile the market goes on through the other gateway: a node comes and the job runs
    const agent = await market.startAgent({ name: 'sse-agent', gpuModel: 'RTX4090', vramGiB: 24, region: 'eu-west' });
    await eventually(async () => ['contracted', 'running', 'completed', 'settled'].includes(await statusOf(jobId)), 90_000, 100);
    // the gateway comes back on the same address
    await startGateway(port);
    await watcher.done;

    const got = watcher.received.map((m) => m.update);
    const seqs = got.map((u) => BigInt(u.seq));
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1])).toBe(true); // in seq order, no duplicates
    expect(got).toEqual(await updatesInLog(jobId)); // no gaps: exactly the log's updates of the job
    expect(got.at(-1)).toMatchObject({ type: 'job.settled', status: 'settled', txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    expect(got.map((u) => u.type)).toEqual(expect.arrayContaining(['job.queued', 'job.matched', 'job.contracted', 'job.running', 'job.result-submitted', 'job.completed', 'job.settled']));
    // each message: id = the update's seq, event = its type
    for (const m of watcher.received) expect([m.id, m.event]).toEqual([m.update.seq, m.update.type]);
    // it did resume: a later connection sent Last-Event-ID = the last id it had, and got what came after it
    const resumed = watcher.connections.filter((c) => c.lastEventId !== undefined && c.firstSeq !== undefined);
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    for (const c of resumed) expect(BigInt(c.firstSeq!)).toBeGreaterThan(BigInt(c.lastEventId!));
    await agent.stop();
  }, 240_000);

  it('after the last update of an ended job, answers 204 (an EventSource stops reconnecting)', async () => {
    const [last] = (await updatesInLog(settledJobId)).slice(-1);
    const res = await fetch(`${market.gatewayUrl}/v1/jobs/${settledJobId}/events`, { headers: { authorization: `Bearer ${keyA}`, 'last-event-id': last.seq } });
    expect(res.status).toBe(204);
    // and from an earlier position of the ended job, it replays the rest and ends
    const updates: JobUpdate[] = [];
    const before = (await updatesInLog(settledJobId)).at(-3)!;
    const answer = await connect(`${market.gatewayUrl}/v1/jobs/${settledJobId}/events?after=${before.seq}`, keyA, { onMessage: (m) => updates.push(m.update) });
    expect(answer.status).toBe(200);
    expect(updates).toEqual((await updatesInLog(settledJobId)).slice(-2));
  });

  it('streams a waiting job live: a heartbeat comment every period, the updates as they come, and ends after job.cancelled; streams are bounded, and a client that goes frees its place', async () => {
    // no H100 anywhere: the job waits until it is cancelled
    const jobId = await submit(keyA, job({ gpuModels: ['H100'], minVramGiB: 40 }), 'sse-live');
    const url = `${market.gatewayUrl}/v1/jobs/${jobId}/events`;
    const updates: JobUpdate[] = [];
    const comments: string[] = [];
    let opened: Opened | undefined;
    const live = connect(url, keyA, { onOpen: (o) => (opened = o), onMessage: (m) => updates.push(m.update), onComment: (c) => comments.push(c) });
    await eventually(() => updates.length >= 1 && comments.length >= 2, 10_000, 50);
    expect(opened?.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(opened?.headers.get('cache-control')).toMatch(/no-cache/);
    expect(updates[0]).toMatchObject({ type: 'job.queued', status: 'queued', jobId });
    expect(comments[0].trim()).toBe('heartbeat');

    // four streams per gateway here: three more fill it, the fifth is refused with 503 and Retry-After
    const aborts = [new AbortController(), new AbortController(), new AbortController()];
    let open = 1;
    const extra = aborts.map((a) => connect(url, keyA, { signal: a.signal, onOpen: () => (open += 1) }).catch((err: Error) => err));
    await eventually(() => open === 4, 10_000, 50);
    const refused = await call('GET', url, keyA);
    expect([refused.status, refused.body.error.code]).toEqual([503, 'TOO_MANY_STREAMS']);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await openStreams()).toBe(4);
    // a client that disconnects gives its place back
    aborts[0].abort();
    const again = new AbortController();
    let reopened = false;
    const fifth = connect(url, keyA, { signal: again.signal, onOpen: () => (reopened = true) }).catch((err: Error) => err);
    await eventually(() => reopened, 10_000, 50);

    // the job is cancelled: the update comes live, and the server ends the stream
    expect((await call('POST', `${market.gatewayUrl}/v1/jobs/${jobId}/cancel`, keyA)).status).toBe(200);
    await expect(live).resolves.toMatchObject({ status: 200 });
    expect(updates.at(-1)).toMatchObject({ type: 'job.cancelled', status: 'cancelled', failure: { code: 'CANCELLED' } });
    expect(updates).toEqual(await updatesInLog(jobId));
    for (const a of [...aborts, again]) a.abort();
    await Promise.all([...extra, fifth]);
    // every stream gave its place back: none leaks
    await eventually(async () => (await openStreams()) === 0, 10_000, 100);
  }, 120_000);

  it("answers another org's job, and a job that does not exist, 404 JOB_NOT_FOUND", async () => {
    for (const path of [`/v1/jobs/${settledJobId}/events`, `/v1/jobs/${settledJobId}/history`, '/v1/jobs/no-such-job/events', '/v1/jobs/no-such-job/history']) {
      const key = path.includes(settledJobId) ? keyB : keyA;
      const answer = await call('GET', `${market.gatewayUrl}${path}`, key);
      expect({ path, status: answer.status, code: answer.body.error.code }).toEqual({ path, status: 404, code: 'JOB_NOT_FOUND' });
    }
  });

  it('answers a Last-Event-ID or ?after= that is not a decimal seq 400 BAD_LAST_EVENT_ID, and no API key 401', async () => {
    const url = `${market.gatewayUrl}/v1/jobs/${settledJobId}/events`;
    for (const [headers, query] of [[{ 'last-event-id': 'abc' }, ''], [{ 'last-event-id': '-5' }, ''], [{ 'last-event-id': '1e3' }, ''], [{}, '?after=latest']] as const) {
      const answer = await call('GET', `${url}${query}`, keyA, undefined, headers);
      expect({ headers, query, status: answer.status, code: answer.body.error.code }).toEqual({ headers, query, status: 400, code: 'BAD_LAST_EVENT_ID' });
    }
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
  });
});

describe("a job's history", () => {
  it('pages through the same updates as the stream, oldest first, by cursor', async () => {
    const all = await updatesInLog(settledJobId);
    expect(all.length).toBeGreaterThan(5);
    expect(await history(settledJobId, keyA, 2)).toEqual(all);
    expect(await history(settledJobId, keyA, 100)).toEqual(all);
    const first = await call('GET', `${market.gatewayUrl}/v1/jobs/${settledJobId}/history?limit=3`, keyA);
    expect(first.body).toEqual({ updates: all.slice(0, 3), nextCursor: all[2].seq });
    const last = await call('GET', `${market.gatewayUrl}/v1/jobs/${settledJobId}/history?cursor=${all.at(-1)!.seq}`, keyA);
    expect(last.body).toEqual({ updates: [], nextCursor: null });
  });

  it('refuses a cursor it did not hand out (BAD_CURSOR) and a limit out of range (VALIDATION_FAILED)', async () => {
    const badCursor = await call('GET', `${market.gatewayUrl}/v1/jobs/${settledJobId}/history?cursor=abc`, keyA);
    expect([badCursor.status, badCursor.body.error.code]).toEqual([400, 'BAD_CURSOR']);
    const badLimit = await call('GET', `${market.gatewayUrl}/v1/jobs/${settledJobId}/history?limit=0`, keyA);
    expect([badLimit.status, badLimit.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});
