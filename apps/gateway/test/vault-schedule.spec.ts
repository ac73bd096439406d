import { readVault } from '@starminer/chain';
import { cronSlotOf } from '@starminer/domain';
import { type TradeEvent, type TradeEventOf } from '@starminer/events';
import { createClient, type StarMinerClient } from '@starminer/sdk';
import { eventually } from '@starminer/service-testing';
import { ledgerState } from './ledger';
import { jobRequest, OPERATOR_TOKEN, startMarket, type Market } from './market-harness';

/**
 * Issue 16's done-when for vaults, the whole market on real NATS, Postgres and anvil: a vault
 * created through the SDK with a schedule (every 10 minutes, periods of 30 minutes, a cap of two
 * jobs' budgets per period); the spec drives the trigger ticker's clock across three periods,
 * restarting intake mid-period, and finds exactly the firings expected (two per period, the third
 * refused by the cap), none twice; each fired job is submitted, its escrow drawn from the vault on
 * chain, run by a provider and settled: the vault's balance falls by what was drawn, the org's
 * account is untouched, the provider gains exactly that, and no token is created or lost. (A draw
 * with another template reverting on chain: contracts/test/vaults.spec.ts; the deployer's refusals
 * as ContractOpenFailed: apps/deployer/src/vault-draws.)
 */
const AGPU = 10n ** 18n;
const MIN = 60_000;
const PERIOD_SEC = 1800;
/** The background ticks never run during the spec: it drives the ticker with its own clock. */
const ENV = { INTAKE_VAULT_TICK_MS: '600000' };

let market: Market;
let sm: StarMinerClient;
let account: `0x${string}`;

beforeAll(async () => {
  market = await startMarket({ env: ENV });
  const org = await createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch }).createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Vault schedule' });
  account = org.accountAddress as `0x${string}`;
  sm = createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch, apiKey: org.apiKey });
  await sm.faucet({ amountWei: 100n * AGPU });
}, 180_000);

afterAll(async () => {
  await market?.stop();
});

afterEach(() => {
  expect(market.api.take()).toEqual([]);
});

const vaultEvents = async (vaultId: string): Promise<TradeEvent[]> => (await market.log.readSubject(`trade.vault.${vaultId}`)).events.map((e) => e.event as TradeEvent);

describe('a vault with a schedule, end to end', () => {
  it('fires exactly the expected slots across three periods and a restart of intake, each job settled from the vault, the cap refusing the third', async () => {
    const agent = await market.startAgent({ name: 'vault-agent', gpuModel: 'RTX4090', vramGiB: 24, region: 'eu-west' });
    const { vault } = await sm.createVault({
      vault: {
        depositWei: 40n * AGPU,
        capPerPeriodWei: 10n * AGPU,
        periodSec: PERIOD_SEC,
        template: jobRequest({ budgetWei: (5n * AGPU).toString(), workload: { seed: 'vault-schedule', iterations: 500 } }) as never,
        triggers: [{ triggerId: 'every10', kind: 'cron', expression: '*/10 * * * *', timeZone: 'UTC' }],
      },
      idempotencyKey: 'vault-schedule-1',
    });
    const vaultId = vault.vaultId;
    const onChain = () => readVault(market.chain.publicClient, { addresses: market.addresses, vaultId });
    // the deployer opens it on chain with the deposit from the org's account
    await eventually(async () => (await onChain()).balanceWei === 40n * AGPU, 60_000);
    const holders = [account, market.addresses.vaults!, market.addresses.escrow, agent.account.address] as `0x${string}`[];
    const before = await ledgerState(market, holders);

    // nine 10-minute slots from the vault's creation: three periods of 30 minutes hold three each
    const anchor = ((await vaultEvents(vaultId))[0] as TradeEventOf<'VaultCreated'>).data.periodAnchorMs;
    const first = (Math.floor(anchor / (10 * MIN)) + 1) * 10 * MIN;
    const slots = Array.from({ length: 9 }, (_, i) => first + i * 10 * MIN);
    for (const [i, slot] of slots.entries()) {
      // intake restarts mid-period (the second period's second slot): the new instance decides from the log
      if (i === 4) await market.restartService('intake');
      await market.tickVaultSchedules(slot + 1_000);
      await market.tickVaultSchedules(slot + 2_000);
    }

    const periodOf = (atMs: number) => Math.floor((atMs - anchor) / (PERIOD_SEC * 1000));
    const expected: [string, string][] = [];
    const perPeriod = new Map<number, number>();
    for (const slot of slots) {
      const n = perPeriod.get(periodOf(slot)) ?? 0;
      expected.push([cronSlotOf(slot), n < 2 ? 'fired' : 'VAULT_CAP_EXCEEDED']);
      perPeriod.set(periodOf(slot), n + 1);
    }
    expect([...perPeriod.values()]).toEqual([3, 3, 3]);
    const events = await vaultEvents(vaultId);
    const decided = events.flatMap((e): [string, string][] => (e.type === 'VaultFired' ? [[e.data.slot, 'fired']] : e.type === 'VaultFiringSkipped' ? [[e.data.slot, e.data.code]] : []));
    expect(decided).toEqual(expected);
    const fired = events.filter((e): e is TradeEventOf<'VaultFired'> => e.type === 'VaultFired');
    expect(fired).toHaveLength(6);

    // each firing's job, submitted once (marked with the vault), drawn from the vault and settled
    let drawnWei = 0n;
    for (const f of fired) {
      const done = await sm.waitForJob({ jobId: f.data.jobId, statuses: ['settled', 'refunded', 'failed'], timeoutMs: 120_000 });
      expect(done).toMatchObject({ status: 'settled', nodeId: agent.nodeId });
      const job = (await market.log.readSubject(`trade.job.${f.data.jobId}`)).events.map((e) => e.event as TradeEvent);
      const submitted = job.filter((e): e is TradeEventOf<'JobSubmitted'> => e.type === 'JobSubmitted');
      expect(submitted).toHaveLength(1);
      expect(submitted[0].data).toMatchObject({ requesterAddress: account, budgetWei: 5n * AGPU, vault: { vaultId, firingId: f.data.firingId } });
      drawnWei += BigInt(done.costWei!);
    }
    expect(drawnWei).toBeGreaterThan(0n);

    const after = await ledgerState(market, holders);
    const [accountWei, vaultsWei, escrowWei, providerWei] = after.balancesWei.map((b, i) => b - before.balancesWei[i]);
    expect(await onChain()).toMatchObject({ balanceWei: 40n * AGPU - drawnWei });
    expect(vaultsWei).toBe(-drawnWei);
    expect(accountWei).toBe(0n);
    expect(escrowWei).toBe(0n);
    expect(providerWei).toBe(drawnWei);
    expect(after.supplyWei).toBe(before.supplyWei);
    // the API shows the vault's firings and what they committed
    const shown = await sm.getVault({ vaultId });
    expect(shown).toMatchObject({ firedCount: 6, skippedCount: 3 });
  }, 600_000);
});
