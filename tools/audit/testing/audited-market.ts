import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { DEV_MNEMONIC, mintAgpu, signResult, stakeAgpu } from '@starminer/chain';
import { resultHashOf } from '@starminer/domain';
import { createClient, StarMinerApiError, type StarMinerClient } from '@starminer/sdk';
import { createProviderClient } from '@starminer/sdk/provider';
import { nodeRegistration } from '../../../apps/gateway/test/fixtures';
import { jobRequest, OPERATOR_TOKEN, startMarket, type Market } from '../../../apps/gateway/test/market-harness';

const AGPU = 10n ** 18n;
/** Jobs in flight at once while the fixture submits (bounded: the market, not the submitter, is under test). */
const SUBMIT_PARALLEL_MAX = 16;
/** Jobs the quiet node takes (one GPU each, all matched at once): the GPUs of one node. */
const QUIET_JOBS_MAX = 8;
/** How long one job may take to end in this fixture. */
const JOB_TIMEOUT_MS = 120_000;

export interface AuditedMarket {
  readonly market: Market;
  readonly requester: StarMinerClient;
  readonly orgId: string;
  /** Jobs that settled, were refunded at their deadline, and were refunded with the provider slashed. */
  readonly jobs: { settled: string[]; deadlineRefunded: string[]; slashed: string[] };
  /** The audit tool's environment for this market (NATS_URL, TRADE_STREAM, RPC_URL, CHAIN_ID, MARKET_ADDRESSES). */
  readonly auditEnv: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * A market that traded, for the auditor's specs: two honest providers run `settled` jobs; a node
 * that went quiet leaves `deadlineRefunded` jobs refunded at their deadline; a staked node that
 * signs wrong results leaves `slashed` jobs refunded with its stake paid to the requester. Resolves
 * once every job has ended and an anchor covers the log up to the last job's end.
 */
export async function startAuditedMarket(opts: { settled: number; deadlineRefunded?: number; slashed?: number }): Promise<AuditedMarket> {
  const market = await startMarket({ env: { ANCHOR_INTERVAL_MS: '1000' } });
  try {
    const admin = createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch });
    const org = await admin.createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Audited' });
    const requester = createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch, apiKey: org.apiKey });
    await requester.faucet({ amountWei: 100_000n * AGPU });
    await Promise.all(['audit-a', 'audit-b'].map((name) => market.startAgent({ name, gpuModel: 'L40S', vramGiB: 48, region: 'eu-central', gpuCount: 4 })));
    const honest = jobRequest({ category: 'rendering', expectedRuntimeSec: 30, budgetWei: (20n * AGPU).toString(), requirements: { gpuModels: ['L40S'], minVramGiB: 0 } });
    // the quiet node's jobs first: its last heartbeat must still be fresh when they are matched
    const deadlineRefunded = opts.deadlineRefunded ? await quietNodeJobs(market, requester, opts.deadlineRefunded) : [];
    const slashed = opts.slashed ? await cheatingNodeJobs(market, requester, opts.slashed) : [];
    const settled = await runJobs(requester, opts.settled, () => honest, 'settled');
    await anchoredThrough(market, await market.log.lastSeq());
    const auditEnv = {
      NATS_URL: market.infra.nats.url,
      TRADE_STREAM: market.log.streamName,
      TRADE_SUBJECT_PREFIX: market.log.subjectPrefix,
      RPC_URL: market.anvil.rpcUrl,
      CHAIN_ID: String(market.anvil.chainId),
      MARKET_ADDRESSES: JSON.stringify(market.addresses),
    };
    return { market, requester, orgId: org.orgId, jobs: { settled, deadlineRefunded, slashed }, auditEnv, stop: () => market.stop() };
  } catch (err) {
    await market.stop().catch(() => undefined);
    throw err;
  }
}

/** Submits `count` jobs (at most SUBMIT_PARALLEL_MAX in flight) and waits for each to end as `expected`. */
async function runJobs(requester: StarMinerClient, count: number, job: () => unknown, expected: 'settled' | 'refunded'): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const { jobId } = await requester.submitJob({ job: job() as never });
      const done = await ended(requester, jobId);
      if (done.status !== expected) throw new Error(`job ${jobId} ended ${done.status}, expected ${expected}`);
      ids.push(jobId);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SUBMIT_PARALLEL_MAX, count) }, worker));
  return ids;
}

/** A node that registers, goes quiet, and is matched anyway: its jobs are refunded at their deadline. */
async function quietNodeJobs(market: Market, requester: StarMinerClient, count: number): Promise<string[]> {
  // a GPU per job: they are all matched at once, before the node's silence takes it offline
  if (count > QUIET_JOBS_MAX) throw new RangeError(`at most ${QUIET_JOBS_MAX} jobs on the quiet node`);
  const quiet = await market.startAgent({ name: 'audit-quiet', gpuModel: 'A100', vramGiB: 80, region: 'us-east', gpuCount: count });
  const nodes = createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch });
  const until = Date.now() + 20_000;
  while (!(await nodes.listNodes()).nodes.some((n) => n.nodeId === quiet.nodeId && n.online)) {
    if (Date.now() > until) throw new Error('the quiet node never came online');
    await sleep(100);
  }
  await quiet.stop();
  const job = jobRequest({ requirements: { gpuModels: ['A100'], minVramGiB: 0 }, expectedRuntimeSec: 1, deadlineSec: 2 });
  return runJobs(requester, count, () => job, 'refunded');
}

/** A staked node that signs wrong results: each job is refunded and the node's stake pays the requester. */
async function cheatingNodeJobs(market: Market, requester: StarMinerClient, count: number): Promise<string[]> {
  const cheat = privateKeyToAccount(generatePrivateKey());
  const provider = createProviderClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch, chainId: market.anvil.chainId, account: cheat });
  const nodeId = `node-cheat-${cheat.address.slice(2, 10).toLowerCase()}`;
  await provider.registerNode({
    registration: nodeRegistration(nodeId, { providerId: 'cheat', gpuModel: 'H100', gpuCount: 1, vramGiB: 80, region: 'ap-south', latencyMs: 5, poolId: 'pool-cheat' }) as never,
  });
  const minter = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 3 });
  await mintAgpu(market.chain.wallet(minter), market.chain.publicClient, { token: market.addresses.token, to: cheat.address, amountWei: 1000n * AGPU });
  await stakeAgpu(market.chain.wallet(minter), market.chain.publicClient, { addresses: market.addresses, poolId: 'pool-cheat', staker: cheat, amountWei: 1000n * AGPU });
  const job = jobRequest({ requirements: { gpuModels: ['H100'], minVramGiB: 0 }, deadlineSec: 3600 });
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const { jobId } = await requester.submitJob({ job: job as never });
    const until = Date.now() + JOB_TIMEOUT_MS;
    let assigned = false;
    while (!assigned && Date.now() < until) {
      const polled = await provider.getAssignments({ nodeId, waitMs: 5_000 });
      assigned = polled.assignments.some((a) => a.jobId === jobId);
    }
    if (!assigned) throw new Error(`job ${jobId} never reached the cheating node`);
    await provider.startJob({ nodeId, jobId });
    const output = `not the hash chain ${i}`;
    const resultHash = resultHashOf(output);
    const proofHash = resultHashOf('no proof');
    const signature = await signResult(cheat, { addresses: { escrow: market.addresses.escrow }, chainId: market.anvil.chainId, jobId, resultHash, proofHash });
    await provider.submitResult({ nodeId, jobId, result: { output, resultHash, proofHash, signature } });
    const done = await ended(requester, jobId);
    if (done.status !== 'refunded') throw new Error(`cheated job ${jobId} ended ${done.status}`);
    await slashedFor(market, jobId);
    ids.push(jobId);
  }
  return ids;
}

/**
 * The job once it has ended. The gateway answers a submit after its read model has the job or after
 * READ_YOUR_WRITES_WAIT_MS, whichever is first: on a loaded machine (a CI run of every suite) the
 * view can be later than that, and the job is JOB_NOT_FOUND for a moment.
 */
async function ended(requester: StarMinerClient, jobId: string): Promise<Awaited<ReturnType<StarMinerClient['waitForJob']>>> {
  const until = Date.now() + JOB_TIMEOUT_MS;
  for (;;) {
    try {
      return await requester.waitForJob({ jobId, statuses: ['settled', 'refunded', 'failed'], timeoutMs: Math.max(1, until - Date.now()) });
    } catch (err) {
      if (!(err instanceof StarMinerApiError && err.code === 'JOB_NOT_FOUND') || Date.now() > until) throw err;
      await sleep(250);
    }
  }
}

async function slashedFor(market: Market, jobId: string): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const { events } = await market.log.readSubject('trade.pool.pool-cheat');
    if (events.some((e) => e.event.type === 'StakeSlashed' && (e.event.data as { jobId: string }).jobId === jobId)) return;
    await sleep(250);
  }
  throw new Error(`the stake was never slashed for ${jobId}`);
}

/** Waits until the anchors on the log cover `seq` (the deployer anchors every ANCHOR_INTERVAL_MS). */
export async function anchoredThrough(market: Market, seq: number): Promise<void> {
  const until = Date.now() + 60_000;
  for (let index = 0; Date.now() < until; ) {
    const { events } = await market.log.readSubject(`trade.anchor.${index}`);
    const posted = events[0]?.event.data as { toSeq: number } | undefined;
    if (posted && posted.toSeq >= seq) return;
    if (posted) index += 1;
    else await sleep(250);
  }
  throw new Error(`no anchor covered #${seq} within 60 s`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
