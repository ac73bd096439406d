import { agpuBalance } from '@starminer/chain';
import { createClient } from '@starminer/sdk';
import { eventually } from '@starminer/testing';
import type { Hex } from 'viem';
import { OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

const AGPU = 10n ** 18n;
/** The deployed give-up is 10 minutes; this market gives up after 5 s, through the same code path. */
const GIVE_UP_MS = 5_000;

const job = (seed: string) => ({
  category: 'inference',
  budgetWei: (60n * AGPU).toString(),
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: ['RTX4090'], gpuCount: 1, minVramGiB: 8, tee: false, regions: [] },
  expectedRuntimeSec: 60,
  workload: { kind: 'hash-chain', seed, iterations: 2000 },
});

/**
 * An open that keeps failing, across every service: the job ends (failed, OPEN_TIMED_OUT), its
 * budget is spendable again and its node takes the next job. The fault is one no retry cures by
 * itself: the deployer key has no ether left for gas.
 */
describe('a contract open that keeps failing, end to end', () => {
  let market: Market;

  beforeAll(async () => {
    market = await startMarket({ env: { DEPLOYER_OPEN_GIVE_UP_MS: String(GIVE_UP_MS), DEPLOYER_OPEN_RECONCILE_MS: '500', DEPLOYER_OPEN_RETRY_BASE_MS: '500' } });
  }, 120_000);

  afterAll(async () => {
    await market?.stop();
  });

  it('ends with the job failed, its budget released and its GPUs freed for the next job', async () => {
    const org = await createClient({ baseUrl: market.gatewayUrl }).createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Stuck Opens Inc' });
    const requester = createClient({ baseUrl: market.gatewayUrl, apiKey: org.apiKey });
    // enough for one 60 AGPU budget, not two
    await requester.faucet({ amountWei: 100n * AGPU });
    const agent = await market.startAgent({ name: 'only-node', gpuModel: 'RTX4090', vramGiB: 24, region: 'eu-west' });
    const { publicClient } = market.chain;
    const deployer = market.infra.chain!.roles.deployer.address;
    const anvil = (method: string, params: unknown[]) => publicClient.request({ method, params } as never);
    const gas = `0x${(await publicClient.getBalance({ address: deployer })).toString(16)}` as Hex;
    await anvil('anvil_setBalance', [deployer, '0x0']);
    const balanceBefore = await agpuBalance(publicClient, { token: market.addresses.token, account: org.accountAddress as `0x${string}` });

    const first = await requester.submitJob({ job: job('stuck') as never, idempotencyKey: 'stuck-1' });
    const matched = await requester.waitForJob({ jobId: first.jobId, statuses: ['matched', 'contracted', 'failed'], timeoutMs: 30_000 });
    expect(matched.status).toBe('matched');
    // while its open is pending, its budget is reserved: a second budget does not fit
    await expect(requester.submitJob({ job: job('second') as never, idempotencyKey: 'second-early' })).rejects.toMatchObject({ status: 402, code: 'INSUFFICIENT_FUNDS' });

    const failed = await requester.waitForJob({ jobId: first.jobId, statuses: ['contracted', 'failed', 'settled', 'refunded'], timeoutMs: 60_000 });
    expect(failed).toMatchObject({ status: 'failed', failure: { code: 'OPEN_TIMED_OUT' } });
    // nothing was escrowed for it
    expect(await agpuBalance(publicClient, { token: market.addresses.token, account: org.accountAddress as `0x${string}` })).toBe(balanceBefore);

    // the chain is healthy again: the budget is spendable and the only node takes the next job
    await anvil('anvil_setBalance', [deployer, gas]);
    let second: { jobId: string } | undefined;
    await eventually(async () => {
      second = await requester.submitJob({ job: job('second') as never, idempotencyKey: 'second-after' }).catch(() => undefined);
      return second !== undefined;
    }, 20_000);
    const done = await requester.waitForJob({ jobId: second!.jobId, statuses: ['settled', 'refunded', 'failed'], timeoutMs: 60_000 });
    expect(done).toMatchObject({ status: 'settled', nodeId: agent.nodeId });
    await agent.stop();
  }, 180_000);
});
