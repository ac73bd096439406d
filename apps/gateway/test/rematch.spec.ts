/**
 * Re-match on failure (issue 16), end to end on real NATS, Postgres and anvil: a provider agent is
 * killed mid-job, the registry marks its node offline, settlement fails the attempt, matching
 * queues the job again without that node, the deployer moves the escrow on chain to the next node,
 * and the job settles there. The first node is paid nothing, tokens are conserved, the requester
 * pays once, and the job's history shows every attempt. Past LIMITS.jobAttemptsMax, the escrow is
 * refunded with the reason.
 */
import { agpuBalance, artifacts, readComputeContract } from '@starminer/chain';
import { LIMITS, type JobUpdate } from '@starminer/events';
import { createClient, type Job, type StarMinerClient } from '@starminer/sdk';
import { ledgerState } from './ledger';
import { OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

const AGPU = 10n ** 18n;
/** A node is offline after this much silence: above the agent's heartbeat gap (10 s, looked at every 5 s). */
const NODE_TIMEOUT_MS = 20_000;

/** A job for the A100 nodes of one region: each test has a market (region) of its own, so no node of another test takes its job. */
const job = (seed: string, region: string) => ({
  category: 'inference',
  budgetWei: (50n * AGPU).toString(),
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: ['A100'], gpuCount: 1, minVramGiB: 40, tee: false, regions: [region] },
  expectedRuntimeSec: 60,
  deadlineSec: 1_800,
  workload: { kind: 'hash-chain', seed, iterations: 2000 },
});

describe('re-match on failure', () => {
  let market: Market;
  let requester: StarMinerClient;
  let accountAddress: `0x${string}`;

  beforeAll(async () => {
    market = await startMarket({ env: { REGISTRY_NODE_TIMEOUT_MS: String(NODE_TIMEOUT_MS) } });
    const org = await createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch }).createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Rematch' });
    accountAddress = org.accountAddress as `0x${string}`;
    requester = createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch, apiKey: org.apiKey });
    await requester.faucet({ amountWei: 1000n * AGPU });
  }, 120_000);

  afterAll(async () => {
    await market?.stop();
  });

  /** Polls the job until `ok` holds (the SDK waits for statuses; this also names the node). */
  async function until(jobId: string, what: string, ok: (j: Job) => boolean, timeoutMs = 90_000): Promise<Job> {
    const end = Date.now() + timeoutMs;
    let last: Job | undefined;
    while (Date.now() < end) {
      last = await requester.getJob({ jobId });
      if (ok(last)) return last;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`job ${jobId}: not ${what} within ${timeoutMs} ms (last: ${last?.status} on ${last?.nodeId})`);
  }

  const contractEvents = async (jobId: string): Promise<string[]> => (await market.log.readSubject(`trade.contract.${jobId}`)).events.map((e) => (e.event as { type: string }).type);
  const attemptsOf = (history: JobUpdate[]) => history.filter((u) => u.type === 'job.attempt-failed').map((u) => ({ attempt: u.attempt, nodeId: u.nodeId, code: u.failure?.code }));

  it('moves a job whose agent was killed mid-job to another node, where it settles: the first node unpaid, tokens conserved, both attempts in its history', async () => {
    const a = await market.startAgent({ name: 'rematch-a', gpuModel: 'A100', vramGiB: 80, region: 'us-east', stallWorkloads: true });
    const escrow = market.addresses.escrow;
    const { jobId } = await requester.submitJob({ job: job('rematch-1', 'us-east') as never, idempotencyKey: 'rematch-1' });
    const first = await until(jobId, 'running on the first node', (j) => j.status === 'running' && j.nodeId === a.nodeId);
    const escrowedWei = BigInt(first.costWei!);

    // the first agent dies mid-job; a second node of the same market comes up
    await a.kill();
    const b = await market.startAgent({ name: 'rematch-b', gpuModel: 'A100', vramGiB: 80, region: 'us-east' });
    const tracked = [accountAddress, a.account.address, b.account.address, escrow];
    const before = await ledgerState(market, tracked);

    const done = await requester.waitForJob({ jobId, statuses: ['settled', 'refunded', 'failed'], timeoutMs: 150_000 });
    expect(done.status).toBe('settled');
    expect(done.nodeId).toBe(b.nodeId);
    const paidWei = BigInt(done.costWei!);
    expect(paidWei).toBeGreaterThan(0n);
    expect(paidWei).toBeLessThanOrEqual(escrowedWei); // never charged more than the first escrow

    // tokens: the supply unchanged; the first node paid nothing; the second its cost; the requester
    // got back what the escrow held above that cost; the escrow holds nothing of this job
    const after = await ledgerState(market, tracked);
    expect(after.supplyWei).toBe(before.supplyWei);
    const [requesterDelta, aDelta, bDelta, escrowDelta] = after.balancesWei.map((w, i) => w - before.balancesWei[i]!);
    expect(aDelta).toBe(0n);
    expect(bDelta).toBe(paidWei);
    expect(requesterDelta).toBe(escrowedWei - paidWei);
    expect(escrowDelta).toBe(-escrowedWei);
    expect(requesterDelta + aDelta + bDelta + escrowDelta).toBe(0n);

    // on chain: the escrow moved once, to the second node, and released to it
    const onChain = await readComputeContract(market.chain.publicClient, { addresses: market.addresses, jobId });
    expect(onChain).toMatchObject({ status: 'released', attempt: 2, provider: b.account.address, openProvider: a.account.address, costWei: paidWei });

    // the log: one contract, two attempts, one release
    expect(await contractEvents(jobId)).toEqual(['ContractOpened', 'JobStarted', 'ContractAttemptFailed', 'ContractReassigned', 'JobStarted', 'ResultSubmitted', 'SettlementDecided', 'ContractReleased']);
    // the history a requester reads: both attempts, in order
    const history = await requester.getJobHistory({ jobId });
    expect(attemptsOf(history)).toEqual([{ attempt: 1, nodeId: a.nodeId, code: 'NODE_OFFLINE' }]);
    const steps = history.filter((u) => ['job.matched', 'job.requeued', 'job.reassigned', 'job.running', 'job.settled'].includes(u.type)).map((u) => [u.type, u.nodeId ?? null, u.attempt ?? 1]);
    expect(steps).toEqual([
      ['job.matched', a.nodeId, 1],
      ['job.running', a.nodeId, 1],
      ['job.requeued', null, 2],
      ['job.matched', b.nodeId, 2],
      ['job.reassigned', b.nodeId, 2],
      ['job.running', b.nodeId, 1],
      ['job.settled', null, 1],
    ]);
    await b.stop();
  }, 240_000);

  it('refunds the escrow with the reason once every attempt failed', async () => {
    const token = market.addresses.token;
    const balance = (account: `0x${string}`) => agpuBalance(market.chain.publicClient, { token, account });
    const requesterBefore = await balance(accountAddress);
    const { jobId } = await requester.submitJob({ job: job('rematch-2', 'us-west') as never, idempotencyKey: 'rematch-2' });
    const killed: { nodeId: string; address: `0x${string}`; balanceWei: bigint }[] = [];
    for (let attempt = 1; attempt <= LIMITS.jobAttemptsMax; attempt++) {
      const agent = await market.startAgent({ name: `exhaust-${attempt}`, gpuModel: 'A100', vramGiB: 80, region: 'us-west', stallWorkloads: true });
      killed.push({ nodeId: agent.nodeId, address: agent.account.address, balanceWei: await balance(agent.account.address) });
      await until(jobId, `running on node ${attempt}`, (j) => j.status === 'running' && j.nodeId === agent.nodeId, 120_000);
      await agent.kill();
    }
    const done = await requester.waitForJob({ jobId, statuses: ['settled', 'refunded', 'failed'], timeoutMs: 120_000 });
    expect(done.status).toBe('refunded');
    expect(done.failure).toMatchObject({ code: 'ATTEMPTS_EXHAUSTED' });
    expect(done.failure!.reason).toMatch(new RegExp(`^attempts exhausted \\(${LIMITS.jobAttemptsMax} of ${LIMITS.jobAttemptsMax}\\): node ${killed.at(-1)!.nodeId} went offline`));
    // the requester has every token back, and no node was paid
    expect(await balance(accountAddress)).toBe(requesterBefore);
    for (const k of killed) expect(await balance(k.address)).toBe(k.balanceWei);
    const onChain = await readComputeContract(market.chain.publicClient, { addresses: market.addresses, jobId });
    expect(onChain).toMatchObject({ status: 'refunded', attempt: LIMITS.jobAttemptsMax });
    const history = await requester.getJobHistory({ jobId });
    expect(attemptsOf(history)).toEqual(killed.map((k, i) => ({ attempt: i + 1, nodeId: k.nodeId, code: 'NODE_OFFLINE' })));
    expect(history.at(-1)).toMatchObject({ type: 'job.refunded', status: 'refunded' });
    // the escrow holds nothing for the job
    const escrowOfJob = await market.chain.publicClient.readContract({ address: market.addresses.escrow, abi: artifacts().ComputeEscrow.abi, functionName: 'runway', args: [onChain.jobKey] });
    expect(escrowOfJob).toBe(0n);
  }, 420_000);
});
