import { readVault } from '@starminer/chain';
import { VAULT_TRIGGER_SECRET_PATTERN } from '@starminer/events';
import { createClient, signVaultTrigger, type StarMinerClient, type VaultInput } from '@starminer/sdk';
import { eventually } from '@starminer/service-testing';
import { OPERATOR_TOKEN, startMarket, type Market } from '../../test/market-harness';
import { vaultIdFor } from './vault-id';

/**
 * The vault routes end to end through the SDK, on real NATS, Postgres and anvil with intake and the
 * deployer: create (its trigger secret once, the same vault for a retry; the deployer opens it on
 * chain with the deposit), read, fire the signed trigger URL once per key, the cap, pause / resume /
 * close, and the refusals as 4xx with a code.
 */
const AGPU = 10n ** 18n;

let market: Market;
let sm: StarMinerClient;
let orgId: string;

const vault = (over: Partial<VaultInput> = {}): VaultInput => ({
  depositWei: 50n * AGPU,
  capPerPeriodWei: 10n * AGPU,
  periodSec: 86_400,
  template: {
    category: 'inference',
    budgetWei: 5n * AGPU,
    urgency: 'normal',
    latencyPreference: 'normal',
    requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 8, tee: false, regions: [] },
    expectedRuntimeSec: 60,
    workload: { kind: 'hash-chain', seed: 'vault-spec', iterations: 100 },
  },
  triggers: [
    { triggerId: 'nightly', kind: 'cron', expression: '0 2 * * *', timeZone: 'Europe/Berlin' },
    { triggerId: 'hook', kind: 'url' },
  ],
  ...over,
});

const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as { status: number; code: string });

beforeAll(async () => {
  market = await startMarket({ services: ['intake', 'deployer'] });
  const created = await createClient({ baseUrl: market.gatewayUrl }).createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Vaults' });
  orgId = created.orgId;
  sm = createClient({ baseUrl: market.gatewayUrl, apiKey: created.apiKey });
  await sm.faucet({ amountWei: 1000n * AGPU });
}, 180_000);

afterAll(async () => {
  await market?.stop();
});

describe('/v1/vaults', () => {
  it('creates a vault with its trigger secret once; a retry with the key answers the same vault and secret', async () => {
    const first = await sm.createVault({ vault: vault(), idempotencyKey: 'vault-create-1' });
    expect(first.triggerSecret).toMatch(VAULT_TRIGGER_SECRET_PATTERN);
    expect(first.vault).toMatchObject({ status: 'active', depositWei: (50n * AGPU).toString(), balanceWei: (50n * AGPU).toString(), firedCount: 0, firings: [] });
    expect(first.vault.template).toMatchObject({ deadlineSec: 600, green: false, templateHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    expect(first.vault.triggers).toContainEqual({ triggerId: 'hook', kind: 'url', path: `/v1/vault-triggers/${first.vault.vaultId}/hook` });
    const again = await sm.createVault({ vault: vault(), idempotencyKey: 'vault-create-1' });
    expect(again.vault.vaultId).toBe(first.vault.vaultId);
    expect(again.triggerSecret).toBe(first.triggerSecret);
    const created = (await market.log.readSubject(`trade.vault.${first.vault.vaultId}`)).events.filter((e) => e.event.type === 'VaultCreated');
    expect(created).toHaveLength(1);
    const page = await sm.listVaults();
    expect(page.vaults.map((v) => v.vaultId)).toContain(first.vault.vaultId);
    // the deployer opens it on chain: the deposit from the org's custodial account, its terms and template
    await eventually(async () => (await readVault(market.chain.publicClient, { addresses: market.addresses, vaultId: first.vault.vaultId })).exists, 60_000);
    expect(await readVault(market.chain.publicClient, { addresses: market.addresses, vaultId: first.vault.vaultId })).toMatchObject({
      status: 'active',
      owner: first.vault.ownerAddress,
      balanceWei: 50n * AGPU,
      capPerPeriodWei: 10n * AGPU,
      templateHash: first.vault.template.templateHash,
    });
  }, 90_000);

  it('fires the signed trigger URL once per key, with its job id in the vault; a bad signature is 401', async () => {
    const { vault: v, triggerSecret } = await sm.createVault({ vault: vault() });
    const secret = triggerSecret!;
    const fired = await sm.fireVaultTrigger({ vaultId: v.vaultId, triggerId: 'hook', secret, idempotencyKey: 'call-1' });
    expect(fired).toMatchObject({ vaultId: v.vaultId, triggerId: 'hook', jobId: expect.stringMatching(/^vj_/) });
    expect(await sm.fireVaultTrigger({ vaultId: v.vaultId, triggerId: 'hook', secret, idempotencyKey: 'call-1' })).toEqual(fired);
    const after = await sm.getVault({ vaultId: v.vaultId });
    expect(after.firings).toEqual([expect.objectContaining({ firingId: fired.firingId, jobId: fired.jobId, outcome: 'fired' })]);
    expect(after).toMatchObject({ firedCount: 1, balanceWei: (45n * AGPU).toString(), currentPeriod: expect.objectContaining({ spentWei: (5n * AGPU).toString() }) });

    expect(await refusal(sm.fireVaultTrigger({ vaultId: v.vaultId, triggerId: 'hook', secret: `vtsec_${'B'.repeat(43)}`, idempotencyKey: 'call-2' }))).toMatchObject({ status: 401, code: 'TRIGGER_SIGNATURE_INVALID' });
    // a stale signature (captured, replayed later) is refused the same
    const body = '{}';
    const stale = await signVaultTrigger({ secret, body, nowSec: Math.floor(Date.now() / 1000) - 3600 });
    const res = await fetch(`${market.gatewayUrl}/v1/vault-triggers/${v.vaultId}/hook`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'call-3', 'starminer-signature': stale }, body });
    expect(res.status).toBe(401);
    expect(await refusal(sm.fireVaultTrigger({ vaultId: v.vaultId, triggerId: 'nightly', secret, idempotencyKey: 'call-4' }))).toMatchObject({ status: 404, code: 'TRIGGER_NOT_FOUND' });
    // the cap: 10 AGPU a period, 5 a job
    await sm.fireVaultTrigger({ vaultId: v.vaultId, triggerId: 'hook', secret, idempotencyKey: 'call-5' });
    expect(await refusal(sm.fireVaultTrigger({ vaultId: v.vaultId, triggerId: 'hook', secret, idempotencyKey: 'call-6' }))).toMatchObject({ status: 409, code: 'VAULT_CAP_EXCEEDED' });
  });

  it('pauses, resumes and closes; a paused or closed vault does not fire', async () => {
    const { vault: v, triggerSecret } = await sm.createVault({ vault: vault() });
    const fire = (key: string) => sm.fireVaultTrigger({ vaultId: v.vaultId, triggerId: 'hook', secret: triggerSecret!, idempotencyKey: key });
    expect((await sm.pauseVault({ vaultId: v.vaultId })).status).toBe('paused');
    expect(await refusal(fire('p-1'))).toMatchObject({ status: 409, code: 'VAULT_PAUSED' });
    expect((await sm.resumeVault({ vaultId: v.vaultId })).status).toBe('active');
    const edited = await sm.editVaultTemplate({ vaultId: v.vaultId, template: { ...vault().template, budgetWei: 2n * AGPU } });
    expect(edited.template.budgetWei).toBe((2n * AGPU).toString());
    expect(edited.template.templateHash).not.toBe(v.template.templateHash);
    expect((await sm.closeVault({ vaultId: v.vaultId })).status).toBe('closed');
    expect(await refusal(fire('p-2'))).toMatchObject({ status: 409, code: 'VAULT_CLOSED' });
    expect(await refusal(sm.resumeVault({ vaultId: v.vaultId }))).toMatchObject({ status: 409, code: 'VAULT_CLOSED' });
  });

  it('answers client errors as 4xx with a code, and appends nothing for them', async () => {
    const refused: [string, Partial<VaultInput>, number, string][] = [
      ['bad-cron', { triggers: [{ triggerId: 'x', kind: 'cron', expression: 'at noon', timeZone: 'UTC' }] }, 400, 'BAD_CRON'],
      ['bad-zone', { triggers: [{ triggerId: 'x', kind: 'cron', expression: '0 * * * *', timeZone: 'Atlantis/Capital' }] }, 400, 'BAD_TIME_ZONE'],
      ['low-cap', { capPerPeriodWei: 1n }, 400, 'CAP_BELOW_TEMPLATE_BUDGET'],
      ['short-period', { periodSec: 1 }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [key, over, status, code] of refused) {
      expect(await refusal(sm.createVault({ vault: vault(over), idempotencyKey: key }))).toMatchObject({ status, code });
      expect(await market.count(`trade.vault.${vaultIdFor(orgId, key)}`)).toBe(0);
    }
    expect(await refusal(sm.getVault({ vaultId: 'vault_nope' }))).toMatchObject({ status: 404, code: 'VAULT_NOT_FOUND' });
    expect(await refusal(sm.pauseVault({ vaultId: 'vault_nope' }))).toMatchObject({ status: 404, code: 'VAULT_NOT_FOUND' });
    // a refused creation leaves nothing listed
    const listed = await sm.listVaults({ limit: 100 });
    for (const v of listed.vaults) expect(v.status).toEqual(expect.any(String));
    expect(listed.vaults).toHaveLength(3);
  });
});
