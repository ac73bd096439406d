/**
 * Escrow for long jobs (issue 16), end to end on real NATS, Postgres and anvil: a job whose
 * deadline is shorter than its work. Its escrow's runway drops under the warning threshold, the
 * requester gets `job.runway-low` on the job's SSE stream, tops the job up (POST
 * /v1/jobs/{jobId}/top-ups), and the job settles after its old deadline, paid from the topped-up
 * escrow: the requester pays the cost and the top-up once, the node gets both, tokens conserved.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readComputeContract } from '@starminer/chain';
import { webhookDeliverySchema, type WebhookDelivery } from '@starminer/events';
import { eventually } from '@starminer/service-testing';
import { createClient, StarMinerApiError, type JobUpdate, type StarMinerClient } from '@starminer/sdk';
import { ledgerState } from './ledger';
import { jobRequest, jobUpdatesOnLog, OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

const AGPU = 10n ** 18n;
/** The old deadline: seconds after the contract opens. */
const DEADLINE_SEC = 45;
/** The warning comes when the runway drops under this (the expected runtime's share is smaller). */
const WARNING_MIN_SEC = 30;
/** About a minute of hash chain on a quiet core (2 s a million): well past the old deadline. */
const ITERATIONS = 28_000_000;
const EXTRA_RUNTIME_SEC = 900;

describe('escrow for long jobs: the runway warning and a top-up', () => {
  let market: Market;
  let requester: StarMinerClient;
  let accountAddress: `0x${string}`;
  /** The requester's webhook receiver on 127.0.0.1: every delivery it got. */
  const delivered: WebhookDelivery[] = [];
  let receiver: Server;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        delivered.push(webhookDeliverySchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    market = await startMarket({ env: { SETTLEMENT_RUNWAY_WARNING_MIN_SEC: String(WARNING_MIN_SEC) } });
    const org = await createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch }).createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Long jobs' });
    accountAddress = org.accountAddress as `0x${string}`;
    requester = createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch, apiKey: org.apiKey });
    await requester.faucet({ amountWei: 1000n * AGPU });
    await requester.createWebhook({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/long-jobs` });
  }, 120_000);

  afterAll(async () => {
    await market?.stop();
    receiver?.closeAllConnections();
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  });

  it('warns before the escrow runs out; a top-up moves the deadline and the job settles after the old one, tokens conserved', async () => {
    const agent = await market.startAgent({ name: 'long-1', gpuModel: 'A100', vramGiB: 80, region: 'eu-north' });
    const escrow = market.addresses.escrow;
    const tracked = [accountAddress, agent.account.address, escrow];
    const before = await ledgerState(market, tracked);
    const job = jobRequest({ requirements: { gpuModels: ['A100'], regions: ['eu-north'] }, expectedRuntimeSec: 20, deadlineSec: DEADLINE_SEC, workload: { seed: 'long-1', iterations: ITERATIONS } });
    const { jobId } = await requester.submitJob({ job: job as never, idempotencyKey: 'long-1' });

    // the warning, as the requester's SSE stream brings it
    const seen: JobUpdate[] = [];
    let warning: JobUpdate | undefined;
    for await (const u of requester.watchJob({ jobId })) {
      seen.push(u);
      if (u.type === 'job.runway-low') {
        warning = u;
        break;
      }
      if (['settled', 'refunded', 'failed'].includes(u.status)) break;
    }
    expect(warning).toMatchObject({ jobId, type: 'job.runway-low' });
    expect(warning!.runwaySec).toBeLessThan(WARNING_MIN_SEC);
    const oldDeadlineSec = warning!.deadlineUnixSec!;
    const contracted = await requester.getJob({ jobId });
    expect(['contracted', 'running']).toContain(contracted.status);
    expect(contracted.deadlineAt).toBe(new Date(oldDeadlineSec * 1000).toISOString());
    expect(contracted.runwaySec).toBeLessThanOrEqual(WARNING_MIN_SEC);
    expect(contracted.escrowWei).toBe(contracted.costWei);

    // the top-up: priced from the match, paid once (a retry with the same key answers the same top-up)
    const topUp = await requester.topUpJob({ jobId, extraRuntimeSec: EXTRA_RUNTIME_SEC, idempotencyKey: 'long-1-more' });
    const priceWeiPerHour = BigInt(contracted.priceWeiPerGpuHour!) * BigInt(contracted.gpuCount!);
    const extraWei = (priceWeiPerHour * BigInt(EXTRA_RUNTIME_SEC) + 3599n) / 3600n;
    expect(topUp).toMatchObject({ jobId, extraRuntimeSec: EXTRA_RUNTIME_SEC, extraCostWei: extraWei.toString(), escrowWei: (BigInt(contracted.costWei!) + extraWei).toString() });
    expect(topUp.deadlineAt).toBe(new Date((oldDeadlineSec + EXTRA_RUNTIME_SEC) * 1000).toISOString());
    expect(await requester.topUpJob({ jobId, extraRuntimeSec: EXTRA_RUNTIME_SEC, idempotencyKey: 'long-1-more' })).toEqual(topUp);
    const onChain = await readComputeContract(market.chain.publicClient, { addresses: market.addresses, jobId });
    expect(onChain).toMatchObject({ status: 'open', costWei: BigInt(topUp.escrowWei), deadlineSec: oldDeadlineSec + EXTRA_RUNTIME_SEC });
    const extended = await requester.getJob({ jobId });
    expect(extended).toMatchObject({ deadlineAt: topUp.deadlineAt, escrowWei: topUp.escrowWei });
    expect(extended.runwaySec).toBeGreaterThan(EXTRA_RUNTIME_SEC - 60);

    // the job outlives its old deadline and settles from the topped-up escrow
    const done = await requester.waitForJob({ jobId, statuses: ['settled', 'refunded', 'failed'], timeoutMs: 400_000 });
    expect(done.status).toBe('settled');
    const history = await requester.getJobHistory({ jobId });
    const settledAt = Date.parse(history.find((u) => u.type === 'job.settled')!.at);
    expect(settledAt).toBeGreaterThan(oldDeadlineSec * 1000);
    expect(history.map((u) => u.type)).toEqual(expect.arrayContaining(['job.runway-low', 'job.topped-up', 'job.settled']));
    expect(history.find((u) => u.type === 'job.topped-up')).toMatchObject({ deadlineUnixSec: oldDeadlineSec + EXTRA_RUNTIME_SEC, escrowWei: topUp.escrowWei, extraRuntimeSec: EXTRA_RUNTIME_SEC });
    // SSE, history and webhooks show what the log has: the warning and the top-up reached the requester's webhook too
    expect(history).toEqual(await jobUpdatesOnLog(market.log, jobId));
    await eventually(() => ['job.runway-low', 'job.topped-up', 'job.settled'].every((t) => delivered.some((d) => d.event.jobId === jobId && d.event.type === t)), 30_000);
    expect(delivered.find((d) => d.event.jobId === jobId && d.event.type === 'job.runway-low')!.event).toEqual(history.find((u) => u.type === 'job.runway-low'));

    // tokens conserved: the requester paid the cost and the top-up once, the node got both, the escrow is back where it was
    const after = await ledgerState(market, tracked);
    const paidWei = BigInt(topUp.escrowWei);
    expect(after.supplyWei).toBe(before.supplyWei);
    expect(after.balancesWei[0]).toBe(before.balancesWei[0]! - paidWei);
    expect(after.balancesWei[1]).toBe(before.balancesWei[1]! + paidWei);
    expect(after.balancesWei[2]).toBe(before.balancesWei[2]);
    expect(market.api.take()).toEqual([]);
  }, 600_000);

  it('refuses a top-up of a job that has ended (409 JOB_ALREADY_FINAL) and one past the bound per top-up (400)', async () => {
    const page = await requester.listJobs({});
    const settled = page.jobs.find((j) => j.status === 'settled')!;
    const refused = await requester.topUpJob({ jobId: settled.jobId, extraRuntimeSec: 60 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StarMinerApiError);
    expect(refused).toMatchObject({ status: 409, code: 'JOB_ALREADY_FINAL' });
    const tooLong = await requester.topUpJob({ jobId: settled.jobId, extraRuntimeSec: 8 * 24 * 3600 }).catch((e: unknown) => e);
    expect(tooLong).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect(market.api.take()).toEqual([]);
  });
});
