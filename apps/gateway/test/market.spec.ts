import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { agpuBalance } from '@starminer/chain';
import { signNodeRequest, StarMinerClient } from '@starminer/sdk';
import { OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

const AGPU = 10n ** 18n;

const job = (over: Record<string, unknown> = {}) => ({
  category: 'inference',
  budgetWei: (50n * AGPU).toString(),
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 8, tee: false, regions: [] },
  expectedRuntimeSec: 60,
  workload: { kind: 'hash-chain', seed: 'market-spec', iterations: 2000 },
  ...over,
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.json().catch(() => null) };
}

describe('the market end to end, in one process on real NATS, Postgres and anvil', () => {
  let market: Market;
  let requester: StarMinerClient;
  let apiKey: string;
  let accountAddress: `0x${string}`;

  beforeAll(async () => {
    market = await startMarket();
    const org = await new StarMinerClient({ baseUrl: market.gatewayUrl }).createOrg(OPERATOR_TOKEN, 'Acme');
    apiKey = org.apiKey;
    accountAddress = org.accountAddress as `0x${string}`;
    requester = new StarMinerClient({ baseUrl: market.gatewayUrl, apiKey });
    await requester.faucet(1000n * AGPU);
  }, 120_000);

  afterAll(async () => {
    await market?.stop();
  });

  it('runs a job from HTTP submission to on-chain settlement, paying the provider exactly the price', async () => {
    const agent = await market.startAgent({ name: 'agent-a', gpuModel: 'RTX4090', vramGiB: 24, region: 'eu-west' });
    const token = market.addresses.token;
    const providerBefore = await agpuBalance(market.chain.publicClient, { token, account: agent.account.address });
    const requesterBefore = await agpuBalance(market.chain.publicClient, { token, account: accountAddress });

    const { jobId, status } = await requester.submitJob(job() as never, 'e2e-1');
    expect(status).toBe('queued');
    const done = await requester.waitForJob(jobId, ['settled', 'refunded', 'failed'], 60_000);

    expect(done.status).toBe('settled');
    expect(done.nodeId).toBe(agent.nodeId);
    expect(done.contractAddress).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(done.txHashes.open).toMatch(/^0x[0-9a-f]{64}$/);
    expect(done.txHashes.settle).toMatch(/^0x[0-9a-f]{64}$/);
    const costWei = BigInt(done.costWei!);
    expect(costWei).toBeGreaterThan(0n);
    expect(costWei).toBeLessThanOrEqual(50n * AGPU);
    expect(await agpuBalance(market.chain.publicClient, { token, account: agent.account.address })).toBe(providerBefore + costWei);
    expect(await agpuBalance(market.chain.publicClient, { token, account: accountAddress })).toBe(requesterBefore - costWei);

    // the Idempotency-Key gives the first answer again and appends nothing
    const seqBefore = await market.log.lastSeq();
    const again = await requester.submitJob(job() as never, 'e2e-1');
    expect(again.jobId).toBe(jobId);
    expect(await market.log.lastSeq()).toBe(seqBefore);
    await agent.stop();
  }, 120_000);

  describe('bad input gets a 4xx with a code and changes nothing', () => {
    const auth = () => ({ authorization: `Bearer ${apiKey}` });
    let seqBefore: number;
    let balanceBefore: bigint;

    beforeEach(async () => {
      seqBefore = await market.log.lastSeq();
      balanceBefore = await agpuBalance(market.chain.publicClient, { token: market.addresses.token, account: accountAddress });
    });

    afterEach(async () => {
      expect(await market.log.lastSeq()).toBe(seqBefore);
      expect(await agpuBalance(market.chain.publicClient, { token: market.addresses.token, account: accountAddress })).toBe(balanceBefore);
    });

    it.each([
      ['a malformed body', '{"category": ', 400, 'BAD_REQUEST|VALIDATION_FAILED'],
      ['an unknown field', job({ colour: 'blue' }), 400, 'VALIDATION_FAILED'],
      ['a negative amount', job({ budgetWei: '-1' }), 400, 'VALIDATION_FAILED'],
      ['a fractional amount', job({ budgetWei: '1.5' }), 400, 'VALIDATION_FAILED'],
      ['an unknown category', job({ category: 'mining' }), 400, 'VALIDATION_FAILED'],
      ['an unknown GPU model', job({ requirements: { gpuModels: ['H900'], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] } }), 400, 'UNKNOWN_GPU_MODEL'],
      ['a budget beyond the org funds', job({ budgetWei: (10_000n * AGPU).toString() }), 402, 'INSUFFICIENT_FUNDS'],
      ['a workload missing its parameters', job({ workload: { kind: 'matmul', seed: 'x' } }), 400, 'BAD_WORKLOAD'],
    ])('%s', async (_what, body, status, code) => {
      const res = await post(`${market.gatewayUrl}/v1/jobs`, body, auth());
      expect(res.status).toBe(status);
      expect(res.body.error.code).toMatch(new RegExp(`^(${code})$`));
      expect(typeof res.body.error.message).toBe('string');
    });

    it('a call without an API key', async () => {
      const res = await post(`${market.gatewayUrl}/v1/jobs`, job());
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('API_KEY_REQUIRED');
    });

    it("a call for another org's job", async () => {
      const other = await new StarMinerClient({ baseUrl: market.gatewayUrl }).createOrg(OPERATOR_TOKEN, 'Other');
      seqBefore = await market.log.lastSeq(); // creating the other org is a write of its own
      const mine = await requester.listJobs();
      const res = await fetch(`${market.gatewayUrl}/v1/jobs/${mine.jobs[0].jobId}`, { headers: { authorization: `Bearer ${other.apiKey}` } });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('JOB_NOT_FOUND');
    });

    it('the same Idempotency-Key with another body', async () => {
      const res = await post(`${market.gatewayUrl}/v1/jobs`, job({ urgency: 'high' }), { ...auth(), 'idempotency-key': 'e2e-1' });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    });

    it('a bad provider signature, and a replayed one', async () => {
      const node = privateKeyToAccount(generatePrivateKey());
      const path = '/v1/providers/nodes';
      const body = JSON.stringify({
        nodeId: 'node-bad',
        providerId: 'p',
        gpuModel: 'T4',
        gpuCount: 1,
        vramGiB: 16,
        region: 'eu',
        latencyMs: 10,
        tee: false,
        energy: { carbonGPerKwh: 100, renewableShare: 0.5 },
        benchmark: { kind: 'x', score: 1, measuredAt: '2026-01-01' },
        stakeWei: '0',
        runtimes: ['hash-chain'],
      });
      const headers = await signNodeRequest(node, { method: 'POST', path, body, nonce: '1000' });
      const forged = await post(`${market.gatewayUrl}${path}`, body.replace('"T4"', '"H100"'), { ...headers });
      expect(forged.status).toBe(401);
      expect(forged.body.error.code).toBe('NODE_SIGNATURE_INVALID');
      const first = await post(`${market.gatewayUrl}${path}`, body, { ...headers });
      expect(first.status).toBe(201);
      seqBefore = await market.log.lastSeq(); // the honest registration is a write of its own
      const replay = await post(`${market.gatewayUrl}${path}`, body, { ...headers });
      expect(replay.status).toBe(401);
      expect(replay.body.error.code).toBe('NONCE_REPLAYED');
    });
  });
});
