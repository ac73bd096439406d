import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount, type LocalAccount, type PrivateKeyAccount } from 'viem/accounts';
import { DEV_MNEMONIC, mintAgpu, stakeAgpu } from '@starminer/chain';
import { decodeEvent, LIMITS, matchesNodeFilter, parseNodeFilter, type NodeFilterable, type TradeEvent } from '@starminer/events';
import { createProviderClient, type ProviderClient } from '@starminer/sdk/provider';
import { eventually } from '@starminer/service-testing';
import { nodeRegistration } from './fixtures';
import { OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

/**
 * Node search and the provider's view of its node, over HTTP on the whole market (real NATS,
 * Postgres, anvil): nodes registered by signed requests, a job run by a provider agent to
 * settlement, then what the search and the provider see of them.
 */
const AGPU = 10n ** 18n;
const PROVIDER = 'g-spec';

/** The nodes this spec registers: every searchable field varied. */
const NODES: Record<string, Partial<NodeFilterable>> = {
  'g-h100-eu': { gpuModel: 'H100', vramGiB: 80, gpuCount: 8, region: 'eu-west', latencyMs: 10, tee: true },
  'g-h100-us': { gpuModel: 'H100', vramGiB: 80, gpuCount: 4, region: 'us-east', latencyMs: 30, tee: false },
  'g-a100-eu': { gpuModel: 'A100', vramGiB: 80, gpuCount: 2, region: 'eu-west', latencyMs: 20, tee: false },
  'g-4090-eu': { gpuModel: 'RTX4090', vramGiB: 24, gpuCount: 1, region: 'eu-west', latencyMs: 5, tee: false },
  'g-4090-ap': { gpuModel: 'RTX4090', vramGiB: 24, gpuCount: 1, region: 'ap-south', latencyMs: 50, tee: false },
  'g-l40s-us': { gpuModel: 'L40S', vramGiB: 48, gpuCount: 2, region: 'us-east', latencyMs: 15, tee: true },
};
const BENCHMARK = 1000;
/** The stake watcher follows a node key's stake in the pool its node registered with. */
const POOL_OF: Record<string, string> = { 'g-l40s-us': 'pool-gold' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of many shapes, read field by field
type Answer = { status: number; body: any };

describe('node search and the provider view over HTTP, on the whole market', () => {
  let market: Market;
  let apiKey: string;
  const keys: Record<string, PrivateKeyAccount> = {};
  const provider = (account: LocalAccount): ProviderClient => createProviderClient({ baseUrl: market.gatewayUrl, chainId: market.anvil.chainId, account });

  async function get(path: string, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(`${market.gatewayUrl}${path}`, { headers });
    return { status: res.status, body: await res.json() };
  }
  async function post(path: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
    const res = await fetch(`${market.gatewayUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  }
  const search = (filter: string, extra = '') => get(`/v1/nodes?filter=${encodeURIComponent(filter)}${extra}`);
  /** What the language says a filter passes of this spec's nodes (all at reputation 0.5, as registered). */
  const expected = (filter: string) =>
    Object.entries(NODES)
      .filter(([, n]) => matchesNodeFilter(parseNodeFilter(filter), { reputation: 0.5, benchmarkScore: BENCHMARK, online: false, providerId: PROVIDER, ...n } as NodeFilterable))
      .map(([id]) => id)
      .sort();

  beforeAll(async () => {
    market = await startMarket();
    const org = await post('/v1/orgs', { name: 'Nodes Inc' }, { authorization: `Bearer ${OPERATOR_TOKEN}` });
    apiKey = org.body.apiKey;
    expect((await post('/v1/dev/faucet', { amountWei: (100n * AGPU).toString() }, { authorization: `Bearer ${apiKey}`, 'idempotency-key': 'nodes-faucet' })).status).toBeLessThan(300);
    for (const [nodeId, n] of Object.entries(NODES)) {
      keys[nodeId] = privateKeyToAccount(generatePrivateKey());
      await provider(keys[nodeId]).registerNode({ registration: nodeRegistration(nodeId, { ...n, ...(POOL_OF[nodeId] ? { poolId: POOL_OF[nodeId] } : {}), providerId: PROVIDER, benchmark: { kind: 'hash-chain-sha256', score: BENCHMARK, measuredAt: new Date().toISOString() } }) as never });
    }
    await eventually(async () => (await search(`provider=${PROVIDER}`, '&limit=100')).body.nodes?.length === Object.keys(NODES).length, 15_000);
  }, 180_000);

  afterAll(async () => {
    await market?.stop();
  });

  it.each([
    ['gpu=H100 vram>=80 region in [eu-west,us-east] reputation>0.4'],
    ['gpu notin [H100,A100] latency<20'],
    ['tee=true'],
    ['gpus>=2 vram<80'],
    ['vram >= 24   region notin [ap-south] gpus in [1,8]'],
    ['gpuModel="RTX4090" benchmark>=1000'],
    ['reputation>0.9'],
  ])('given the filter %s, then exactly the nodes that pass every term', async (filter) => {
    const { status, body } = await search(`provider=${PROVIDER} ${filter}`, '&limit=100');
    expect(status).toBe(200);
    expect(body.nodes.map((n: { nodeId: string }) => n.nodeId).sort()).toEqual(expected(filter));
    expect(body.nextCursor).toBeNull();
  });

  it('answers each node with what a requester needs to pick one', async () => {
    const { status, body } = await get('/v1/nodes/g-h100-eu');
    expect(status).toBe(200);
    expect(body).toEqual({
      nodeId: 'g-h100-eu',
      nodeAddress: keys['g-h100-eu'].address.toLowerCase(),
      providerId: PROVIDER,
      gpuModel: 'H100',
      gpuCount: 8,
      vramGiB: 80,
      region: 'eu-west',
      latencyMs: 10,
      tee: true,
      benchmarkScore: BENCHMARK,
      reputation: 0.5,
      // online from its registration until the registry's heartbeat timeout: either, by when this runs
      online: expect.any(Boolean) as boolean,
      stakeWei: '0',
      poolId: null,
      activeJobs: 0,
      // it sent no GPU telemetry (as a CPU-only agent)
      telemetry: null,
    });
    expect(await get('/v1/nodes/g-none')).toMatchObject({ status: 404, body: { error: { code: 'NODE_NOT_FOUND' } } });
    expect(await get('/v1/nodes/not%20an%20id')).toMatchObject({ status: 400, body: { error: { code: 'BAD_ID' } } });
  });

  it("shows a node's GPU telemetry from its heartbeats, newest first; telemetry past its GPUs is 400 TELEMETRY_INVALID", async () => {
    // the H200 under load, as nvidia-smi read it (../shared/data/gpu/h200-telemetry-under-load.csv): idle, then at 100 %
    const idle = { sampledAt: '2026-11-27T17:06:47.604Z', gpus: [{ index: 0, utilizationPct: 0, memoryUsedMiB: 0, powerDrawW: 78.23, powerLimitW: null, temperatureC: 32 }] };
    const busy = { sampledAt: '2026-11-27T17:06:56.659Z', gpus: [{ index: 0, utilizationPct: 100, memoryUsedMiB: 1011, powerDrawW: 691.56, powerLimitW: null, temperatureC: 55 }] };
    const node = provider(keys['g-4090-eu']);
    await node.heartbeat({ nodeId: 'g-4090-eu', telemetry: idle });
    await node.heartbeat({ nodeId: 'g-4090-eu', telemetry: busy });
    const { status, body } = await get('/v1/nodes/g-4090-eu');
    expect(status).toBe(200);
    expect(body.telemetry).toEqual({ latest: busy, history: [busy, idle] });
    const twoGpus = { ...busy, gpus: [busy.gpus[0], { ...busy.gpus[0], index: 1 }] };
    await expect(node.heartbeat({ nodeId: 'g-4090-eu', telemetry: twoGpus })).rejects.toMatchObject({ status: 400, code: 'TELEMETRY_INVALID' });
    expect((await get('/v1/nodes/g-4090-eu')).body.telemetry.history).toHaveLength(2);
  });

  it('pages a search by nodeId cursor, the last page with a null cursor', async () => {
    const ids: string[] = [];
    let cursor = '';
    for (let page = 0; page < 3; page++) {
      const { status, body } = await search(`provider=${PROVIDER}`, `&limit=2${cursor}`);
      expect(status).toBe(200);
      expect(body.nodes).toHaveLength(2);
      ids.push(...body.nodes.map((n: { nodeId: string }) => n.nodeId));
      expect(body.nextCursor === null).toBe(page === 2);
      cursor = `&cursor=${body.nextCursor}`;
    }
    expect([...ids].sort()).toEqual(Object.keys(NODES).sort());
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.each([
    ['a mistyped value', 'vram>=lots', { term: 'vram>=lots', position: 6, expected: 'a value for vram: an integer 0..2147483647' }],
    ['an unknown field', 'gpu=H100 colour=blue', { term: 'colour=blue', position: 9 }],
    ['an operator the field lacks', 'region>eu', { term: 'region>eu', position: 6, expected: 'an operator for region (text): = != in notin' }],
    ['an unclosed list', 'region in [eu-west', { term: 'region in [eu-west', position: 18 }],
    ['a filter past its length', 'x'.repeat(LIMITS.nodeFilterLengthMax + 1), { position: LIMITS.nodeFilterLengthMax }],
  ])('given %s, then 400 BAD_FILTER naming the term, the position and what was expected', async (_what, filter, details) => {
    const { status, body } = await search(filter);
    expect(status).toBe(400);
    expect(body.error.code).toBe('BAD_FILTER');
    expect(body.error.details).toMatchObject(details);
    expect(body.error.details.expected).toEqual(expect.any(String));
  });

  it.each([
    ['a cursor that is no node id', '?cursor=a%20b', 'BAD_CURSOR'],
    ['a page size past the limit', `?limit=${LIMITS.pageSizeMax + 1}`, 'VALIDATION_FAILED'],
    ['an unknown parameter', '?gpu=H100', 'VALIDATION_FAILED'],
    ['the filter twice', '?filter=gpu%3DH100&filter=vram%3E%3D80', 'VALIDATION_FAILED'],
  ])('given %s, then 400 %s', async (_what, query, code) => {
    expect(await get(`/v1/nodes${query}`)).toMatchObject({ status: 400, body: { error: { code } } });
  });

  it('shows a stake the staking contract reports', async () => {
    const nodeId = 'g-l40s-us';
    const minter = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 3 });
    await mintAgpu(market.chain.wallet(minter), market.chain.publicClient, { token: market.addresses.token, to: keys[nodeId].address, amountWei: 50n * AGPU });
    await stakeAgpu(market.chain.wallet(minter), market.chain.publicClient, { addresses: market.addresses, poolId: POOL_OF[nodeId], staker: keys[nodeId], amountWei: 40n * AGPU });
    await eventually(async () => (await get(`/v1/nodes/${nodeId}`)).body.stakeWei === (40n * AGPU).toString(), 30_000);
    expect((await get(`/v1/nodes/${nodeId}`)).body).toMatchObject({ stakeWei: (40n * AGPU).toString(), poolId: POOL_OF[nodeId] });
  }, 60_000);

  it("shows a provider its node and what it was paid, once a job settled; only to the node's key", async () => {
    const agent = await market.startAgent({ name: 'g-agent', gpuModel: 'RTX3090', vramGiB: 24, region: 'sa-east' });
    const job = await post(
      '/v1/jobs',
      {
        category: 'inference',
        budgetWei: (50n * AGPU).toString(),
        urgency: 'normal',
        latencyPreference: 'normal',
        requirements: { gpuModels: ['RTX3090'], gpuCount: 1, minVramGiB: 8, tee: false, regions: ['sa-east'] },
        expectedRuntimeSec: 60,
        workload: { kind: 'hash-chain', seed: 'nodes-spec', iterations: 2000 },
      },
      { authorization: `Bearer ${apiKey}`, 'idempotency-key': 'nodes-job-1' },
    );
    expect(job.status).toBe(202);
    const jobId: string = job.body.jobId;
    let status = '';
    await eventually(async () => {
      status = (await get(`/v1/jobs/${jobId}`, { authorization: `Bearer ${apiKey}` })).body.status;
      return ['settled', 'refunded', 'failed', 'cancelled'].includes(status);
    }, 90_000);
    expect(status).toBe('settled');
    // the agent's own requests would race this test's for the nonce order
    await agent.stop();
    const released = (await market.log.readSubject(`trade.contract.${jobId}`, { decode: decodeEvent })).events
      .map((e) => e.event as TradeEvent)
      .find((e) => e.type === 'ContractReleased');
    if (released?.type !== 'ContractReleased') throw new Error('no ContractReleased on the log');

    const own = provider(agent.account);
    const node = await own.getNodeStatus({ nodeId: agent.nodeId });
    expect(node).toMatchObject({
      node: { nodeId: agent.nodeId, nodeAddress: agent.account.address.toLowerCase(), gpuModel: 'RTX3090', region: 'sa-east', activeJobs: 0 },
      jobs: { queued: 0, matched: 0, contracted: 0, running: 0, completed: 0, settled: 1, refunded: 0, failed: 0, cancelled: 0 },
    });
    const earnings = await own.getEarnings({ nodeId: agent.nodeId });
    expect(earnings).toMatchObject({
      nodeId: agent.nodeId,
      totalEarnedWei: released.data.amountWei.toString(),
      settledJobs: 1,
      refundedJobs: 0,
      failedJobs: 0,
      jobs: [{ jobId, paidWei: released.data.amountWei.toString(), settleTxHash: released.data.txHash }],
      nextCursor: null,
    });
    expect(Date.parse(String(earnings.jobs[0].settledAt))).toBeGreaterThan(0);

    // another node's key, no signature, no such node
    await expect(provider(keys['g-h100-eu']).getNodeStatus({ nodeId: agent.nodeId })).rejects.toMatchObject({ status: 403, code: 'NOT_NODE_KEY' });
    await expect(provider(keys['g-h100-eu']).getEarnings({ nodeId: agent.nodeId })).rejects.toMatchObject({ status: 403, code: 'NOT_NODE_KEY' });
    expect(await get(`/v1/providers/nodes/${agent.nodeId}/earnings`)).toMatchObject({ status: 401, body: { error: { code: 'NODE_SIGNATURE_REQUIRED' } } });
    await expect(own.getNodeStatus({ nodeId: 'g-none' })).rejects.toMatchObject({ status: 404, code: 'NODE_NOT_FOUND' });
    await expect(own.getEarnings({ nodeId: agent.nodeId, cursor: 'job-none' })).rejects.toMatchObject({ status: 400, code: 'BAD_CURSOR' });
  }, 150_000);
});
