import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { agpuBalance } from '@starminer/chain';
import { keccak256 } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { buildAnchorTree, DEV_MNEMONIC, mintAgpu, readStake, signResult, stakeAgpu, verifyAnchoredEvent } from '@starminer/chain';
import { decodeEvent, makeEvent, subjectFor, type TradeEvent } from '@starminer/events';
import { DEFAULT_ENGINE_CONFIG, priceWeiPerGpuHour } from '@starminer/matching';
import { uuidv7 } from 'uuidv7';
import { resultHashOf } from '@starminer/domain';
import { createClient, type StarMinerClient } from '@starminer/sdk';
import { createProviderClient, signNodeRequest } from '@starminer/sdk/provider';
import { nodeRegistration } from './fixtures';
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

/** The market's fetch that checks every answer against the OpenAPI document (set once the market is up). */
let checkedFetch: typeof fetch = fetch;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of many shapes, read field by field
async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await checkedFetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.json().catch(() => null) };
}

describe('the market end to end, in one process on real NATS, Postgres and anvil', () => {
  let market: Market;
  let requester: StarMinerClient;
  let apiKey: string;
  let accountAddress: `0x${string}`;

  beforeAll(async () => {
    market = await startMarket();
    checkedFetch = market.api.fetch;
    const org = await createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch }).createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Acme' });
    apiKey = org.apiKey;
    accountAddress = org.accountAddress as `0x${string}`;
    requester = createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch, apiKey });
    await requester.faucet({ amountWei: 1000n * AGPU });
  }, 120_000);

  afterAll(async () => {
    await market?.stop();
  });

  // every answer a test received is one the OpenAPI document describes (status, media type, schema, error code)
  afterEach(() => {
    expect(market.api.take()).toEqual([]);
  });

  it('runs a job from HTTP submission to on-chain settlement, paying the provider exactly the price', async () => {
    const agent = await market.startAgent({ name: 'agent-a', gpuModel: 'RTX4090', vramGiB: 24, region: 'eu-west' });
    const token = market.addresses.token;
    const providerBefore = await agpuBalance(market.chain.publicClient, { token, account: agent.account.address });
    const requesterBefore = await agpuBalance(market.chain.publicClient, { token, account: accountAddress });

    const { jobId, status } = await requester.submitJob({ job: job() as never, idempotencyKey: 'e2e-1' });
    expect(status).toBe('queued');
    const done = await requester.waitForJob({ jobId, statuses: ['settled', 'refunded', 'failed'], timeoutMs: 60_000 });

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
    // the requester sees the price and why this node: the engine's quote and receipt
    expect(done.quote).toMatchObject({ costWei: done.costWei });
    expect(done.receipt).toMatchObject({ jobId, winner: { nodeId: agent.nodeId }, price: { costWei: done.costWei } });
    expect(String(done.receipt!.engineVersion)).toMatch(/^starminer-matching\//);
    // one name per concept: the price per GPU-hour, the GPU model, the deadline as an instant
    expect(done.quote).toMatchObject({ gpuModel: 'RTX4090', gpuCount: 1, priceWeiPerGpuHour: done.priceWeiPerGpuHour });
    expect(Date.parse(done.deadlineAt!)).toBeGreaterThan(Date.parse(done.submittedAt));
    // a settled job says so when asked to cancel
    const late = await market.api.fetch(`${market.gatewayUrl}/v1/jobs/${jobId}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` } });
    expect([late.status, ((await late.json()) as { error: { code: string; details: unknown } }).error]).toMatchObject([409, { code: 'JOB_ALREADY_FINAL', details: { status: 'settled' } }]);

    // the Idempotency-Key gives the first answer again and appends nothing
    const jobsBefore = await market.count('trade.job.>');
    const again = await requester.submitJob({ job: job() as never, idempotencyKey: 'e2e-1' });
    expect(again.jobId).toBe(jobId);
    expect(await market.count('trade.job.>')).toBe(jobsBefore);
    await agent.stop();
  }, 120_000);

  it('settles a burst of jobs exactly once each, and no token is created or lost', async () => {
    const agents = await Promise.all(
      ['b', 'c'].map((n) => market.startAgent({ name: `agent-${n}`, gpuModel: 'L40S', vramGiB: 48, region: 'eu-central', gpuCount: 4 })),
    );
    const token = market.addresses.token;
    const balances = async () => Promise.all([accountAddress, ...agents.map((a) => a.account.address)].map((account) => agpuBalance(market.chain.publicClient, { token, account })));
    const before = await balances();
    const spec = job({ requirements: { gpuModels: ['L40S'], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] }, category: 'rendering' });
    const ids = await Promise.all(Array.from({ length: 8 }, () => requester.submitJob({ job: spec as never }).then((r) => r.jobId)));
    const done = await Promise.all(ids.map((id) => requester.waitForJob({ jobId: id, statuses: ['settled', 'refunded', 'failed'], timeoutMs: 90_000 })));
    expect(done.map((d) => d.status)).toEqual(ids.map(() => 'settled'));
    const paid = done.reduce((sum, d) => sum + BigInt(d.costWei!), 0n);
    const after = await balances();
    expect(after[0]).toBe(before[0] - paid);
    expect(after[1] + after[2]).toBe(before[1] + before[2] + paid);
    // the escrow holds nothing for these jobs any more
    for (const id of ids) {
      const events = (await market.log.readSubject(`trade.contract.${id}`)).events.map((e) => (e.event as { type: string }).type);
      expect(events.filter((t) => t === 'ContractReleased' || t === 'ContractRefunded')).toEqual(['ContractReleased']);
    }
    await Promise.all(agents.map((a) => a.stop()));
  }, 120_000);

  it('anchors the log on chain, so any event can be proven in it', async () => {
    const until = Date.now() + 30_000;
    let anchored: { index: number; fromSeq: number; toSeq: number; root: string } | undefined;
    while (!anchored && Date.now() < until) {
      const first = (await market.log.readSubject('trade.anchor.0')).events[0];
      anchored = first?.event.data as typeof anchored;
      if (!anchored) await new Promise((r) => setTimeout(r, 250));
    }
    expect(anchored).toBeDefined();
    const { index, fromSeq, toSeq } = anchored!;
    expect(fromSeq).toBe(1);
    // the auditor's side: rebuild the tree from the raw log and prove one event against the chain
    const jsm = await market.log.jsm();
    const leaves = [];
    for (let seq = fromSeq; seq <= toSeq; seq += 1) {
      const m = await jsm.streams.getMessage(market.log.streamName, { seq });
      leaves.push({ seq: BigInt(seq), eventHash: keccak256(m!.data) });
    }
    const tree = buildAnchorTree(leaves);
    expect(tree.root).toBe(anchored!.root);
    const seq = BigInt(toSeq);
    const proven = (eventHash: `0x${string}`) => verifyAnchoredEvent(market.chain.publicClient, { addresses: market.addresses, index, seq, eventHash, proof: tree.proof(seq) });
    expect(await proven(leaves[leaves.length - 1].eventHash)).toBe(true);
    expect(await proven(keccak256(new TextEncoder().encode('a forged event')))).toBe(false);
  }, 60_000);

  it('learns a provider stake from the staking contract and puts it on the log', async () => {
    const staker = privateKeyToAccount(generatePrivateKey());
    const provider = createProviderClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch, chainId: market.anvil.chainId, account: staker });
    const nodeId = `node-staked-${staker.address.slice(2, 10).toLowerCase()}`;
    await provider.registerNode({
      registration: nodeRegistration(nodeId, { providerId: 'staked', gpuModel: 'A40', gpuCount: 2, vramGiB: 48, region: 'eu-north', latencyMs: 8, energy: { carbonGPerKwh: 40, renewableShare: 0.9 }, poolId: 'pool-gold' }) as never,
    });
    const minter = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 3 });
    await mintAgpu(market.chain.wallet(minter), market.chain.publicClient, { token: market.addresses.token, to: staker.address, amountWei: 500n * AGPU });
    await stakeAgpu(market.chain.wallet(minter), market.chain.publicClient, { addresses: market.addresses, poolId: 'pool-gold', staker, amountWei: 300n * AGPU });
    const until = Date.now() + 30_000;
    let staked: { stakeWei: bigint; poolId: string } | undefined;
    while (!staked && Date.now() < until) {
      const events = (await market.log.readSubject(`trade.node.${nodeId}`, { decode: decodeEvent })).events.map((x) => x.event as TradeEvent);
      const change = events.find((x) => x.type === 'NodeStakeChanged');
      if (change?.type === 'NodeStakeChanged') staked = change.data;
      else await new Promise((r) => setTimeout(r, 250));
    }
    expect(staked).toMatchObject({ poolId: 'pool-gold', stakeWei: 300n * AGPU });
  }, 60_000);

  it('publishes a price board with every term of the price, and follows price moves on the log', async () => {
    const board = await requester.getPrices();
    expect(board.markets.length).toBeGreaterThan(0); // the agents' markets
    for (const m of board.markets) expect(m.tiers.map((t) => t.tier)).toEqual(['priority', 'standard', 'economy']);

    const pricing = DEFAULT_ENGINE_CONFIG.pricing;
    const moved = makeEvent(
      'PriceChanged',
      { gpuClass: 'A100', region: 'board-test', atMs: Date.now(), previousMultiplierBps: 10_000, multiplierBps: 12_000, utilizationBps: 9_000, smoothedUtilizationBps: 8_000 },
      { id: uuidv7(), aggregateId: 'A100', occurredAt: new Date().toISOString(), correlationId: 'A100', causationId: 'test', actor: 'test' },
    );
    await market.log.append(subjectFor('market', 'A100'), [moved], { expectedLastSubjectSeq: 'any' });
    let row: Awaited<ReturnType<StarMinerClient['getPrices']>>['markets'][number] | undefined;
    for (const until = Date.now() + 10_000; !row && Date.now() < until; ) {
      row = (await requester.getPrices({ gpuModel: 'A100', region: 'board-test' })).markets[0];
      if (!row) await new Promise((r) => setTimeout(r, 100));
    }
    expect(row).toMatchObject({ gpuModel: 'A100', region: 'board-test', utilizationMultiplierBps: 12_000, utilizationBps: 9_000 });
    const base = pricing.basePricesWeiPerGpuHour.A100!;
    expect(row!.basePriceWeiPerGpuHour).toBe(base.toString());
    const standard = row!.tiers.find((t) => t.tier === 'standard')!;
    expect(standard.urgencies).toEqual(['normal']);
    expect(standard.priceWeiPerGpuHour).toBe(priceWeiPerGpuHour(base, pricing.tierMultiplierBps.standard, 12_000).toString());

    // pages: one market at a time, in (class, region) order, until the cursor runs out
    const seen: [string, string][] = [];
    for (let page = await requester.getPrices({ limit: 1 }); ; page = await requester.getPrices({ limit: 1, cursor: page.nextCursor! })) {
      seen.push(...page.markets.map((m): [string, string] => [m.gpuModel, m.region]));
      if (!page.nextCursor) break;
    }
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = [seen[i - 1]!, seen[i]!];
      expect(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])).toBe(true); // strictly increasing: no repeats, no gaps in order
    }
    expect(seen).toContainEqual(['A100', 'board-test']);
  });

  it('leaves a job no node can ever serve waiting, with the reason on the job', async () => {
    const { jobId } = await requester.submitJob({ job: job({ requirements: { gpuModels: ['H200'], gpuCount: 8, minVramGiB: 0, tee: false, regions: [] } }) as never });
    const deadline = Date.now() + 20_000;
    let seen = await requester.getJob({ jobId });
    while (!seen.waitingReason && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      seen = await requester.getJob({ jobId });
    }
    expect(seen.status).toBe('queued');
    expect(seen.waitingReason).toMatch(/H200/);
    const cancelled = await market.api.fetch(`${market.gatewayUrl}/v1/jobs/${jobId}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` } });
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toEqual({ jobId, status: 'cancelled' });
    expect((await requester.getJob({ jobId })).status).toBe('cancelled');
    const again = await market.api.fetch(`${market.gatewayUrl}/v1/jobs/${jobId}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` } });
    expect([again.status, ((await again.json()) as { error: { code: string; message: string } }).error]).toEqual([409, { code: 'JOB_ALREADY_FINAL', message: expect.stringContaining('cancelled'), details: { status: 'cancelled' } }]);
  }, 60_000);

  it('refunds the escrow when the deadline passes without a result', async () => {
    // a node that registers and then goes quiet: it is matched, contracted, and never delivers
    const quiet = await market.startAgent({ name: 'agent-quiet', gpuModel: 'A100', vramGiB: 80, region: 'us-east' });
    const nodes = createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch });
    const deadline = Date.now() + 20_000;
    while (!(await nodes.listNodes()).nodes.some((n) => n.nodeId === quiet.nodeId && n.online) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await quiet.stop();
    const token = market.addresses.token;
    const before = await agpuBalance(market.chain.publicClient, { token, account: accountAddress });
    const { jobId } = await requester.submitJob({
      job: job({ requirements: { gpuModels: ['A100'], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] }, expectedRuntimeSec: 1, deadlineSec: 2 }) as never,
    });
    const done = await requester.waitForJob({ jobId, statuses: ['settled', 'refunded', 'failed'], timeoutMs: 60_000 });
    expect(done.status).toBe('refunded');
    expect(done.txHashes.settle).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await agpuBalance(market.chain.publicClient, { token, account: accountAddress })).toBe(before);
    expect(await agpuBalance(market.chain.publicClient, { token, account: quiet.account.address })).toBe(0n);
  }, 90_000);

  it('refunds at once when the provider signs a wrong result, never pays it, and slashes its stake to the requester', async () => {
    const cheat = privateKeyToAccount(generatePrivateKey());
    const provider = createProviderClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch, chainId: market.anvil.chainId, account: cheat });
    const nodeId = `node-cheat-${cheat.address.slice(2, 10).toLowerCase()}`;
    await provider.registerNode({
      registration: nodeRegistration(nodeId, { providerId: 'cheat', gpuModel: 'H100', gpuCount: 1, vramGiB: 80, region: 'ap-south', latencyMs: 5, energy: { carbonGPerKwh: 100, renewableShare: 0.5 }, poolId: 'pool-cheat' }) as never,
    });
    const minter = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 3 });
    await mintAgpu(market.chain.wallet(minter), market.chain.publicClient, { token: market.addresses.token, to: cheat.address, amountWei: 10n * AGPU });
    await stakeAgpu(market.chain.wallet(minter), market.chain.publicClient, { addresses: market.addresses, poolId: 'pool-cheat', staker: cheat, amountWei: 10n * AGPU });
    const token = market.addresses.token;
    const before = await agpuBalance(market.chain.publicClient, { token, account: accountAddress });
    // a long poll longer than the gateway holds one is refused, with the field named
    await expect(provider.getAssignments({ nodeId, waitMs: 20_001 })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    // the node's long poll, open before the job exists, answers with the job once its contract opens
    expect(await provider.getAssignments({ nodeId })).toEqual({ assignments: [] });
    const polling = provider.getAssignments({ nodeId, waitMs: 20_000 });
    const { jobId } = await requester.submitJob({
      job: job({ requirements: { gpuModels: ['H100'], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] }, deadlineSec: 3600 }) as never,
    });
    const polled = await polling;
    const assignment = polled.assignments.find((a) => a.jobId === jobId);
    expect(assignment).toBeDefined();
    // the long poll was the node's heartbeat too: the registry took it
    expect(polled.alive).toBe(true);
    await provider.startJob({ nodeId, jobId });
    const output = 'not the hash chain';
    const resultHash = resultHashOf(output);
    const proofHash = resultHashOf('no proof');
    const signature = await signResult(cheat, { addresses: { escrow: market.addresses.escrow }, chainId: market.anvil.chainId, jobId, resultHash, proofHash });
    await provider.submitResult({ nodeId, jobId, result: { output, resultHash, proofHash, signature } });
    const done = await requester.waitForJob({ jobId, statuses: ['settled', 'refunded', 'failed'], timeoutMs: 60_000 });
    expect(done.status).toBe('refunded');
    expect(done.failure?.code).toBe('RESULT_WRONG');
    expect(await agpuBalance(market.chain.publicClient, { token, account: cheat.address })).toBe(0n);
    // the escrow came back, and the cheat's stake paid the requester up to the job's cost
    const costWei = BigInt(done.costWei!);
    const slashUntil = Date.now() + 20_000;
    let slashed: { amountWei: bigint; jobId: string } | undefined;
    while (!slashed && Date.now() < slashUntil) {
      const events = (await market.log.readSubject('trade.pool.pool-cheat', { decode: decodeEvent })).events.map((x) => x.event as TradeEvent);
      const e = events.find((x) => x.type === 'StakeSlashed');
      if (e?.type === 'StakeSlashed') slashed = e.data;
      else await new Promise((r) => setTimeout(r, 250));
    }
    expect(slashed).toMatchObject({ jobId, amountWei: costWei });
    expect(await agpuBalance(market.chain.publicClient, { token, account: accountAddress })).toBe(before + costWei);
    expect((await readStake(market.chain.publicClient, { addresses: market.addresses, poolId: 'pool-cheat', staker: cheat.address })).activeWei).toBe(10n * AGPU - costWei);
  }, 90_000);

  describe('bad input gets a 4xx with a code and changes nothing', () => {
    const auth = () => ({ authorization: `Bearer ${apiKey}` });
    // what a requester's call could append: jobs, contracts, accounts (prices, anchors and node
    // liveness move on their own; the provider test checks its node's subject itself)
    const written = async () => {
      const counts = await Promise.all(['trade.job.>', 'trade.contract.>', 'trade.account.>'].map((f) => market.count(f)));
      return counts.reduce((a, b) => a + b, 0);
    };
    let seqBefore: number;
    let balanceBefore: bigint;

    beforeEach(async () => {
      seqBefore = await written();
      balanceBefore = await agpuBalance(market.chain.publicClient, { token: market.addresses.token, account: accountAddress });
    });

    afterEach(async () => {
      expect(await written()).toBe(seqBefore);
      expect(await agpuBalance(market.chain.publicClient, { token: market.addresses.token, account: accountAddress })).toBe(balanceBefore);
    });

    it.each([
      ['a malformed body', '{"category": ', 400, 'MALFORMED_JSON'],
      ['an unknown field', job({ colour: 'blue' }), 400, 'VALIDATION_FAILED'],
      ['a negative amount', job({ budgetWei: '-1' }), 400, 'VALIDATION_FAILED'],
      ['a fractional amount', job({ budgetWei: '1.5' }), 400, 'VALIDATION_FAILED'],
      ['an unknown category', job({ category: 'mining' }), 400, 'VALIDATION_FAILED'],
      ['an unknown GPU model', job({ requirements: { gpuModels: ['H900'], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] } }), 400, 'UNKNOWN_GPU_MODEL'],
      ['a budget beyond the org funds', job({ budgetWei: (10_000n * AGPU).toString() }), 402, 'INSUFFICIENT_FUNDS'],
      ['a workload missing its parameters', job({ workload: { kind: 'matmul', seed: 'x' } }), 400, 'VALIDATION_FAILED'],
    ])('%s', async (_what, body, status, code) => {
      const res = await post(`${market.gatewayUrl}/v1/jobs`, body, auth());
      expect(res.status).toBe(status);
      expect(res.body.error.code).toMatch(new RegExp(`^(${code})$`));
      expect(typeof res.body.error.message).toBe('string');
    });

    it.each([
      ['a cursor this endpoint never gave', '?cursor=not-a-cursor', 'BAD_CURSOR'],
      ['a page size over the limit', '?limit=1000', 'VALIDATION_FAILED'],
    ])('the price board with %s', async (_what, qs, code) => {
      const res = await market.api.fetch(`${market.gatewayUrl}/v1/market/prices${qs}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
    });

    it('a call without an API key', async () => {
      const res = await post(`${market.gatewayUrl}/v1/jobs`, job());
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('API_KEY_REQUIRED');
    });

    it("a call for another org's job", async () => {
      const other = await createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch }).createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Other' });
      seqBefore = await written(); // creating the other org is a write of its own
      const mine = await requester.listJobs();
      const res = await market.api.fetch(`${market.gatewayUrl}/v1/jobs/${mine.jobs[0].jobId}`, { headers: { authorization: `Bearer ${other.apiKey}` } });
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
      const body = JSON.stringify(nodeRegistration('node-bad', { providerId: 'p', region: 'eu' }));
      const headers = await signNodeRequest(node, { chainId: market.anvil.chainId, origin: market.gatewayUrl, method: 'POST', path, body, nonce: '1000' });
      const forged = await post(`${market.gatewayUrl}${path}`, body.replace('"T4"', '"H100"'), { ...headers });
      expect(forged.status).toBe(401);
      expect(forged.body.error.code).toBe('NODE_SIGNATURE_INVALID');
      expect(await market.count('trade.node.node-bad')).toBe(0);
      const first = await post(`${market.gatewayUrl}${path}`, body, { ...headers });
      expect(first.status).toBe(201);
      seqBefore = await written(); // the honest registration is a write of its own
      const replay = await post(`${market.gatewayUrl}${path}`, body, { ...headers });
      expect(replay.status).toBe(401);
      expect(replay.body.error.code).toBe('NONCE_REPLAYED');
      expect(await market.count('trade.node.node-bad')).toBe(2); // registered and online, once
    });
  });

  it('checked every answer above against the OpenAPI document the gateway serves, which names this gateway among its servers', async () => {
    expect(market.api.checked).toBeGreaterThan(50);
    const served = (await (await fetch(`${market.gatewayUrl}/docs-json`)).json()) as { servers: { url: string }[] };
    expect(served.servers.map((x) => x.url)).toContain(market.gatewayUrl);
  });
});
