import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { EXAMPLE_EVENT_DATA, LIMITS, toJson } from '@starminer/events';
import { createClient } from '@starminer/sdk';
import { signNodeRequest } from '@starminer/sdk/provider';
import { eventually, getJson, publishRaw, rawEvent } from '@starminer/service-testing';
import { closeAgent, sendRaw, type RawRequest } from './http-client';
import { nodeRegistration } from './fixtures';
import { foregroundEvents, ledgerState } from './ledger';
import { OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

/**
 * Each poison input that once got past the edge (issue 8) is refused there with a 4xx and its
 * code, and nothing is appended and no token moves; and an invalid event written straight onto
 * the stream is parked by every service that reads it while the market keeps serving.
 */
const AGPU = 10n ** 18n;
let market: Market;
let apiKey: string;
let account: `0x${string}`;

beforeAll(async () => {
  market = await startMarket();
  const org = await createClient({ baseUrl: market.gatewayUrl }).createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Edge' });
  apiKey = org.apiKey;
  account = org.accountAddress as `0x${string}`;
  await createClient({ baseUrl: market.gatewayUrl, apiKey }).faucet({ amountWei: 1000n * AGPU });
}, 180_000);

afterAll(async () => {
  closeAgent();
  await market?.stop();
});

const job = (over: Record<string, unknown> = {}, requirements: Record<string, unknown> = {}) => ({
  category: 'inference',
  budgetWei: (5n * AGPU).toString(),
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 8, tee: false, regions: [], ...requirements },
  expectedRuntimeSec: 60,
  workload: { kind: 'hash-chain', seed: 'edge', iterations: 100 },
  ...over,
});
const registration = nodeRegistration;

const json = (method: string, path: string, body: unknown, headers: Record<string, string> = {}): RawRequest => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { method, path, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers }, body: text };
};
const auth = () => ({ authorization: `Bearer ${apiKey}` });
async function signed(
  method: string,
  path: string,
  body: unknown,
  key = privateKeyToAccount(generatePrivateKey()),
  deployment: { chainId?: number; origin?: string } = {},
): Promise<RawRequest> {
  const text = JSON.stringify(body);
  const chainId = deployment.chainId ?? market.anvil.chainId;
  const origin = deployment.origin ?? market.gatewayUrl;
  const headers = { ...(await signNodeRequest(key, { chainId, origin, method, path, body: text, nonce: String(BigInt(Date.now()) * 1000n + BigInt(Math.floor(Math.random() * 1000))) })) } as Record<string, string>;
  return json(method, path, text, headers);
}

/** Sends `req` and checks it is refused with `status` and `code`, that the log gained nothing and no token moved. */
async function refused(req: RawRequest, status: number, code: string, field?: string): Promise<void> {
  const before = await ledgerState(market, [account]);
  const res = await sendRaw(market.gatewayUrl, req);
  expect({ status: res.status, code: (res.json as { error?: { code?: string } })?.error?.code }).toEqual({ status, code });
  // the refusal is one the OpenAPI document describes for this operation: its status, the ErrorEnvelope, its code
  expect(market.api.validator.check({ method: req.method, path: req.path, status: res.status, contentType: res.json === undefined ? null : 'application/json', body: res.text })).toEqual([]);
  if (field) expect(JSON.stringify((res.json as { error: { details?: unknown } }).error.details)).toContain(field);
  const after = await ledgerState(market, [account]);
  expect(await foregroundEvents(market, before.lastSeq, after.lastSeq)).toEqual([]);
  expect([after.supplyWei, after.balancesWei]).toEqual([before.supplyWei, before.balancesWei]);
}

describe('poison inputs are refused at the edge with a 4xx and their code, and change nothing', () => {
  it.each([
    ['requirements.maxLatencyMs: null', job({}, { maxLatencyMs: null }), 'requirements.maxLatencyMs'],
    ['workload: []', job({ workload: [] }), 'workload'],
    ['a command item over its length limit', job({ workload: { kind: 'command', command: ['x'.repeat(LIMITS.commandArgLengthMax + 1)] } }), 'workload.command[0]'],
    ['a command workload with image: null', job({ workload: { kind: 'command', image: null, command: ['echo'] } }), 'workload.image'],
    ['a NUL character in a workload seed', job({ workload: { kind: 'hash-chain', seed: 'a\u0000b', iterations: 1 } }), 'workload.seed'],
    ['a lone surrogate in a workload seed', job({ workload: { kind: 'hash-chain', seed: 'a\uD800b', iterations: 1 } }), 'workload.seed'],
    ['requirements: []', job({ requirements: [] }), 'requirements'],
    ['a job asking more GPUs on one node than any node has', job({}, { gpuCount: LIMITS.gpusPerNodeMax + 1 }), 'requirements.gpuCount'],
  ])('a job with %s: 400 VALIDATION_FAILED naming the field', async (_what, body, field) => {
    await refused(json('POST', '/v1/jobs', body, auth()), 400, 'VALIDATION_FAILED', field);
  });

  it.each([
    ['129 characters', 'k'.repeat(129)],
    ['200 characters', 'k'.repeat(200)],
    ['a space', 'two words'],
  ])('an Idempotency-Key of %s: 400 IDEMPOTENCY_KEY_INVALID (it would become a causation id past its limit)', async (_what, key) => {
    await refused(json('POST', '/v1/jobs', job(), { ...auth(), 'idempotency-key': key }), 400, 'IDEMPOTENCY_KEY_INVALID');
  });

  it('an Idempotency-Key of exactly the limit is accepted, and recorded as the causation id', async () => {
    const key = 'k'.repeat(LIMITS.idempotencyKeyLengthMax);
    // a budget below any price: the job waits, and never escrows under a later check of this spec
    const res = await sendRaw(market.gatewayUrl, json('POST', '/v1/jobs', job({ budgetWei: '1' }), { ...auth(), 'idempotency-key': key }));
    expect(res.status).toBe(202);
    const { jobId } = res.json as { jobId: string };
    expect((await market.log.readSubject(`trade.job.${jobId}`)).events[0].event.causationId).toBe(key);
  });

  it('a blank Idempotency-Key on the faucet: 400 and nothing minted', async () => {
    await refused(json('POST', '/v1/dev/faucet', { amountWei: '1' }, { ...auth(), 'idempotency-key': '' }), 400, 'IDEMPOTENCY_KEY_INVALID');
  });

  it('a node registration with "poolId": null: 400, whatever key signs it', async () => {
    await refused(await signed('POST', '/v1/providers/nodes', registration('node-null-pool', { poolId: null })), 400, 'VALIDATION_FAILED', 'poolId');
  });

  it('a 32-GPU node: 400 naming the limit the engine has (it registered before, and the engine refused it)', async () => {
    await refused(await signed('POST', '/v1/providers/nodes', registration('node-32', { gpuCount: 32 })), 400, 'VALIDATION_FAILED', 'gpuCount');
  });

  it('one node key registering a second node id: 409 NODE_KEY_IN_USE', async () => {
    const key = privateKeyToAccount(generatePrivateKey());
    const first = await sendRaw(market.gatewayUrl, await signed('POST', '/v1/providers/nodes', registration('node-key-a'), key));
    expect(first.status).toBe(201);
    await refused(await signed('POST', '/v1/providers/nodes', registration('node-key-b'), key), 409, 'NODE_KEY_IN_USE');
  });

  describe('a node request signed for another deployment (another chain, another gateway) is refused: it replays nowhere else', () => {
    it.each([
      ['another chain id', () => ({ chainId: market.anvil.chainId + 1 })],
      ['another gateway origin', () => ({ origin: 'https://gateway.other-deployment.example' })],
      ['another port of this host', () => ({ origin: 'http://127.0.0.1:1' })],
    ])('signed for %s: 401 NODE_SIGNATURE_WRONG_DEPLOYMENT', async (_what, deployment) => {
      const key = privateKeyToAccount(generatePrivateKey());
      await refused(await signed('POST', '/v1/providers/nodes', registration(`node-elsewhere-${key.address.slice(2, 10)}`), key, deployment()), 401, 'NODE_SIGNATURE_WRONG_DEPLOYMENT');
    });

    it('signed for another chain, its deployment headers rewritten to this one: 401 NODE_SIGNATURE_INVALID (the signature covers the deployment)', async () => {
      const key = privateKeyToAccount(generatePrivateKey());
      const req = await signed('POST', '/v1/providers/nodes', registration('node-rewritten'), key, { chainId: market.anvil.chainId + 1, origin: 'https://gateway.other-deployment.example' });
      await refused({ ...req, headers: { ...req.headers, 'x-node-chain-id': String(market.anvil.chainId), 'x-node-origin': new URL(market.gatewayUrl).origin } }, 401, 'NODE_SIGNATURE_INVALID');
    });

    it('signed without naming a deployment (the old message): 401 NODE_SIGNATURE_REQUIRED', async () => {
      const req = await signed('POST', '/v1/providers/nodes', registration('node-no-deployment'));
      const headers = { ...req.headers };
      delete headers['x-node-chain-id'];
      delete headers['x-node-origin'];
      await refused({ ...req, headers }, 401, 'NODE_SIGNATURE_REQUIRED');
    });

    it('signed for this chain at either local name of this gateway (127.0.0.1, localhost): registers', async () => {
      const port = new URL(market.gatewayUrl).port;
      for (const host of ['127.0.0.1', 'localhost']) {
        const key = privateKeyToAccount(generatePrivateKey());
        const res = await sendRaw(market.gatewayUrl, await signed('POST', '/v1/providers/nodes', registration(`node-at-${host.replace(/\./g, '-')}`), key, { origin: `http://${host}:${port}` }));
        expect({ host, status: res.status }).toEqual({ host, status: 201 });
      }
    });
  });

  it('a bearer token with bytes outside ASCII: 401', async () => {
    await refused({ ...json('POST', '/v1/jobs', job()), headers: { ...json('POST', '/v1/jobs', job()).headers, authorization: 'Bearer sm_\u00e9\u00e9\u00ff' } }, 401, 'API_KEY_INVALID');
  });

  it('JSON nested thousands deep: 400 JSON_TOO_DEEP', async () => {
    await refused(json('POST', '/v1/jobs', '['.repeat(5_000) + ']'.repeat(5_000), auth()), 400, 'JSON_TOO_DEEP');
  });

  it('a body over the size limit: 413', async () => {
    await refused(json('POST', '/v1/jobs', { ...job(), pad: 'x'.repeat(LIMITS.requestBodyBytesMax) }, auth()), 413, 'PAYLOAD_TOO_LARGE');
  });

  it.each([
    ['an unsupported charset', 'application/json; charset=latin1'],
    ['another media type', 'text/plain'],
  ])('%s: 415', async (_what, contentType) => {
    const req = json('POST', '/v1/jobs', job(), auth());
    await refused({ ...req, headers: { ...req.headers, 'content-type': contentType } }, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it.each([
    ['%00 in a path', '/v1/jobs/%00', 'BAD_ID'],
    ['a malformed id in a path', '/v1/jobs/not%20an%20id', 'BAD_ID'],
    ['%00 in a cursor', '/v1/jobs?cursor=%00', 'VALIDATION_FAILED'],
    ['a page over the limit', '/v1/jobs?limit=101', 'VALIDATION_FAILED'],
  ])('%s: 400', async (_what, path, code) => {
    await refused({ method: 'GET', path, headers: auth() }, 400, code);
  });

  it('a waiting reason that would pass the catalogue limit (many long region names) is cut, and the job waits', async () => {
    const regions = Array.from({ length: LIMITS.jobRegionsMax }, (_, i) => `region-${i}-${'r'.repeat(LIMITS.regionLengthMax - 12)}`);
    const res = await sendRaw(market.gatewayUrl, json('POST', '/v1/jobs', job({}, { gpuModels: ['H200'], regions }), auth()));
    expect(res.status).toBe(202);
    const { jobId } = res.json as { jobId: string };
    let reason: string | undefined;
    await eventually(async () => {
      const events = (await market.log.readSubject(`trade.job.${jobId}`)).events.map((e) => e.event as { type: string; data: { reason?: string } });
      reason = events.find((e) => e.type === 'JobWaiting')?.data.reason;
      return reason !== undefined;
    }, 20_000);
    expect(reason!.length).toBeLessThanOrEqual(LIMITS.reasonLengthMax);
    expect(reason).toMatch(/H200/);
  });
});

describe('an invalid event written straight onto the stream', () => {
  it('is parked by every service that reads it; the market keeps serving other jobs; readiness stays green, as no funds decision reads it', async () => {
    const agent = await market.startAgent({ name: 'edge-agent', gpuModel: 'RTX4090', vramGiB: 24, region: 'eu-west' });
    // a JobSubmitted an older writer left: its budget is not an amount
    const bad = rawEvent('JobSubmitted', 'job-poison', { ...JSON.parse(toJson(EXAMPLE_EVENT_DATA.JobSubmitted)), jobId: 'job-poison', budgetWei: 'lots' });
    const seq = await publishRaw(market.log, 'trade.job.job-poison', bad);

    // every reader of job events parks it, and says so
    const operator = { authorization: `Bearer ${OPERATOR_TOKEN}` };
    let listed: { services: { service: string; parked?: { seq: number; reader: string }[] }[] } | undefined;
    await eventually(async () => {
      listed = (await sendRaw(market.gatewayUrl, { method: 'GET', path: '/v1/ops/parked', headers: operator })).json as typeof listed;
      const parkers = listed!.services.filter((s) => s.parked?.some((p) => p.seq === seq)).map((s) => s.service);
      return ['gateway', 'intake', 'matching', 'deployer'].every((s) => parkers.includes(s));
    }, 30_000);

    // funds are decided on each org's account stream, not from a read model: every service stays ready
    for (const service of ['gateway', 'intake', 'matching', 'registry', 'deployer', 'settlement']) expect({ service, status: (await getJson(`${market.serviceUrls[service]}/health/ready`)).status }).toEqual({ service, status: 200 });
    for (const service of Object.keys(market.serviceUrls)) expect({ service, status: (await getJson(`${market.serviceUrls[service]}/health/live`)).status }).toEqual({ service, status: 200 });

    // a retry cannot help while the event is still wrong: it stays parked, with its error
    const retry = await sendRaw(market.gatewayUrl, json('POST', '/v1/ops/parked/retry', { service: 'intake', reader: 'intake-jobs', key: 'job-poison' }, operator));
    expect(retry.status).toBe(200);
    expect(retry.json).toMatchObject({ applied: 0, stillParked: [expect.objectContaining({ seq, attempts: 2 })] });

    // and the market keeps serving other jobs, end to end
    const requester = createClient({ baseUrl: market.gatewayUrl, apiKey });
    const { jobId } = await requester.submitJob({ job: job({}, { gpuModels: ['RTX4090'] }) as never });
    const done = await requester.waitForJob({ jobId, statuses: ['settled', 'refunded', 'failed'], timeoutMs: 60_000 });
    expect(done.status).toBe('settled');
    await agent.stop();
  }, 120_000);
});
