import { jobTemplateHash, mintAgpu } from '@starminer/chain';
import { DomainError, vaultFiringId, vaultFiringJobId } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type TradeEventOf } from '@starminer/events';
import { appendDrafts, eventually, serviceUnderTest } from '@starminer/service-testing';
import { IntakeJob } from '../intake-jobs/intake-job.entity';
import { IntakeModule } from '../intake.module';
import { ReleaseAbandonedTicker } from '../release-abandoned/release-abandoned.ticker';
import { intakeJobSpec } from '../testing/job-spec';
import { vaultSpecHashOf } from './vault-template';

const under = serviceUnderTest(IntakeModule, { chain: true });

const AGPU = 10n ** 18n;
const ORG = 'org-vault-1';
const OTHER = 'org-vault-2';
const ACCOUNT = `0x${'3c'.repeat(20)}`;

type Create = PayloadOf<typeof COMMANDS.intake.createVault>;
const create = (vaultId: string, over: Partial<Create> = {}): Create => ({
  orgId: ORG,
  vaultId,
  requestId: `req-${vaultId}`,
  depositWei: 50n * AGPU,
  capPerPeriodWei: 20n * AGPU,
  periodSec: 3600,
  template: intakeJobSpec(),
  triggers: [
    { triggerId: 'hourly', kind: 'cron', expression: '0 * * * *', timeZone: 'UTC' },
    { triggerId: 'hook', kind: 'url' },
  ],
  ...over,
});
const send = {
  create: (p: Create) => under.service.bus.send(COMMANDS.intake.createVault, p),
  change: (p: PayloadOf<typeof COMMANDS.intake.changeVault>) => under.service.bus.send(COMMANDS.intake.changeVault, p),
  fire: (vaultId: string, slot: string, triggerId = 'hook', orgId = ORG) => under.service.bus.send(COMMANDS.intake.fireVault, { orgId, vaultId, triggerId, slot }),
};
const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as DomainError);
const typesOn = async (vaultId: string) => (await under.infra.log.readSubject(`trade.vault.${vaultId}`)).events.map((e) => e.event.type);

/** What the org's account holds on chain: the deposits of the spec's vaults, reserved one by one. */
const BALANCE_WEI = 10_000n * AGPU;

beforeAll(async () => {
  await appendDrafts(under.infra.log, 'account', ORG, [{ type: 'OrgRegistered', data: { orgId: ORG, name: ORG, accountAddress: ACCOUNT, custodyIndex: 3 } }]);
  const chain = under.infra.chain!;
  await mintAgpu(chain.clients.wallet(chain.roles.minter), chain.clients.publicClient, { token: chain.addresses.token, to: ACCOUNT as `0x${string}`, amountWei: BALANCE_WEI });
}, 60_000);

/** The account's reservation events of one key: [type, amount, reason]. */
const reservationsOf = async (key: string) =>
  (await under.infra.log.readSubject(`trade.account.${ORG}`)).events.flatMap(({ event: e }) =>
    (e.type === 'FundsReserved' || e.type === 'FundsReleased') && (e.data as { jobId: string }).jobId === key
      ? [[e.type, (e.data as { amountWei: bigint }).amountWei, (e.data as { reason?: string }).reason ?? null]]
      : [],
  );

describe("the deposit, reserved on the org's account until the vault opens", () => {
  it('reserves the deposit under the vault id at creation, once; releases it when the vault opens on chain, or its open fails', async () => {
    await send.create(create('vault-r1', { depositWei: 70n * AGPU }));
    await send.create(create('vault-r1', { depositWei: 70n * AGPU }));
    expect(await reservationsOf('vault-r1')).toEqual([['FundsReserved', 70n * AGPU, null]]);
    await appendDrafts(under.infra.log, 'vault', 'vault-r1', [
      { type: 'VaultChainSynced', data: { vaultId: 'vault-r1', action: 'open', status: 'active', templateHash: `0x${'ab'.repeat(32)}`, txHash: null, blockNumber: null } },
    ]);
    await eventually(async () => (await reservationsOf('vault-r1')).length === 2);
    expect((await reservationsOf('vault-r1'))[1]).toEqual(['FundsReleased', 70n * AGPU, 'contracted']);

    await send.create(create('vault-r2', { depositWei: 5n * AGPU }));
    await appendDrafts(under.infra.log, 'vault', 'vault-r2', [{ type: 'VaultOpenFailed', data: { vaultId: 'vault-r2', code: 'ERC20InsufficientBalance', reason: 'x' } }]);
    await eventually(async () => (await reservationsOf('vault-r2')).length === 2);
    expect((await reservationsOf('vault-r2'))[1]).toEqual(['FundsReleased', 5n * AGPU, 'open-failed']);
  });

  it('refuses a deposit above what the account holds less its reservations with INSUFFICIENT_FUNDS, and reserves nothing for refused terms', async () => {
    expect(await refusal(send.create(create('vault-r3', { depositWei: BALANCE_WEI + 1n })))).toMatchObject({ code: 'INSUFFICIENT_FUNDS', kind: 'insufficient-funds' });
    expect(await typesOn('vault-r3')).toEqual([]);
    expect(await refusal(send.create(create('vault-r4', { capPerPeriodWei: 1n })))).toMatchObject({ code: 'CAP_BELOW_TEMPLATE_BUDGET' });
    expect(await reservationsOf('vault-r4')).toEqual([]);
  });

  it('keeps the deposit of a vault waiting for its open from the abandoned sweep', async () => {
    await send.create(create('vault-r5', { depositWei: 3n * AGPU }));
    const rows = under.service.rt.db.getRepository(IntakeJob);
    await eventually(async () => (await rows.findOneBy({ jobId: 'vault-r5' }))?.reservationOpen === true);
    await under.service.app.get(ReleaseAbandonedTicker).sweep(new Date(Date.now() + 24 * 3600_000));
    expect(await reservationsOf('vault-r5')).toEqual([['FundsReserved', 3n * AGPU, null]]);
  });
});

describe('cmd.intake.createVault', () => {
  it("records the vault, owned by the org's custodial account, with the template's hashes as the chain computes them", async () => {
    const { vaultId, seq } = await send.create(create('vault-a'));
    const { events } = await under.infra.log.readSubject(`trade.vault.${vaultId}`);
    expect(events.map((e) => [e.seq, e.event.type, e.event.causationId])).toEqual([[seq, 'VaultCreated', 'req-vault-a']]);
    const data = (events[0].event as TradeEventOf<'VaultCreated'>).data;
    expect(data).toMatchObject({ orgId: ORG, ownerAddress: ACCOUNT, depositWei: 50n * AGPU, capPerPeriodWei: 20n * AGPU, periodSec: 3600 });
    const specHash = vaultSpecHashOf(intakeJobSpec());
    expect(data.template.specHash).toBe(specHash);
    expect(data.template.templateHash).toBe(jobTemplateHash({ specHash, budgetWei: intakeJobSpec().budgetWei, expectedRuntimeSec: intakeJobSpec().expectedRuntimeSec }));
  });

  it('answers the same request with the first vault, and another request with the id VAULT_ID_IN_USE', async () => {
    const first = await send.create(create('vault-b'));
    expect(await send.create(create('vault-b'))).toEqual(first);
    expect(await refusal(send.create(create('vault-b', { requestId: 'another' })))).toMatchObject({ code: 'VAULT_ID_IN_USE', kind: 'conflict' });
    expect(await typesOn('vault-b')).toEqual(['VaultCreated']);
  });

  it.each<[string, Partial<Create>]>([
    ['ORG_NOT_FOUND', { orgId: OTHER }],
    ['CAP_BELOW_TEMPLATE_BUDGET', { capPerPeriodWei: 1n }],
    ['BAD_CRON', { triggers: [{ triggerId: 't', kind: 'cron', expression: 'every day', timeZone: 'UTC' }] }],
    ['BAD_TIME_ZONE', { triggers: [{ triggerId: 't', kind: 'cron', expression: '0 * * * *', timeZone: 'Nowhere/Else' }] }],
    ['UNKNOWN_GPU_MODEL', { template: intakeJobSpec({ requirements: { ...intakeJobSpec().requirements, gpuModels: ['NOPE'] } }) }],
  ])('refuses %s and appends nothing', async (code, over) => {
    const vaultId = `vault-refused-${code.toLowerCase().replace(/_/g, '-')}`;
    expect(await refusal(send.create(create(vaultId, over)))).toMatchObject({ code });
    expect(await typesOn(vaultId)).toEqual([]);
  });
});

describe('cmd.intake.changeVault', () => {
  it('edits the template, pauses, resumes and closes; the same change again appends nothing', async () => {
    await send.create(create('vault-c'));
    const next = intakeJobSpec({ budgetWei: 5n * AGPU });
    expect((await send.change({ orgId: ORG, vaultId: 'vault-c', change: { type: 'editTemplate', template: next } })).seq).toEqual(expect.any(Number));
    expect((await send.change({ orgId: ORG, vaultId: 'vault-c', change: { type: 'pause' } })).seq).toEqual(expect.any(Number));
    expect(await send.change({ orgId: ORG, vaultId: 'vault-c', change: { type: 'pause' } })).toEqual({ seq: null });
    expect((await send.change({ orgId: ORG, vaultId: 'vault-c', change: { type: 'resume' } })).seq).toEqual(expect.any(Number));
    expect((await send.change({ orgId: ORG, vaultId: 'vault-c', change: { type: 'close' } })).seq).toEqual(expect.any(Number));
    expect(await refusal(send.change({ orgId: ORG, vaultId: 'vault-c', change: { type: 'resume' } }))).toMatchObject({ code: 'VAULT_CLOSED', kind: 'conflict' });
    expect(await typesOn('vault-c')).toEqual(['VaultCreated', 'VaultTemplateEdited', 'VaultPaused', 'VaultResumed', 'VaultClosed']);
  });

  it("refuses another org's vault as not found", async () => {
    await send.create(create('vault-d'));
    expect(await refusal(send.change({ orgId: OTHER, vaultId: 'vault-d', change: { type: 'pause' } }))).toMatchObject({ code: 'VAULT_NOT_FOUND', kind: 'not-found' });
  });
});

describe('cmd.intake.fireVault', () => {
  it('fires a URL trigger once per key: the same call again answers the same firing and appends nothing', async () => {
    await send.create(create('vault-e'));
    const first = await send.fire('vault-e', 'key-1');
    const firingId = vaultFiringId('vault-e', 'hook', 'key-1');
    expect(first).toEqual({ firingId, jobId: vaultFiringJobId(firingId), seq: expect.any(Number) });
    expect(await send.fire('vault-e', 'key-1')).toEqual({ ...first, seq: null });
    expect(await typesOn('vault-e')).toEqual(['VaultCreated', 'VaultFired']);
  });

  it('refuses over the cap of the period, while paused, a cron trigger, and another org', async () => {
    await send.create(create('vault-f'));
    await send.fire('vault-f', 'k1');
    await send.fire('vault-f', 'k2');
    expect(await refusal(send.fire('vault-f', 'k3'))).toMatchObject({ code: 'VAULT_CAP_EXCEEDED', kind: 'conflict' });
    expect(await refusal(send.fire('vault-f', 'k3', 'hourly'))).toMatchObject({ code: 'TRIGGER_NOT_FOUND' });
    expect(await refusal(send.fire('vault-f', 'k3', 'hook', OTHER))).toMatchObject({ code: 'VAULT_NOT_FOUND' });
    await send.change({ orgId: ORG, vaultId: 'vault-f', change: { type: 'pause' } });
    expect(await refusal(send.fire('vault-f', 'k4'))).toMatchObject({ code: 'VAULT_PAUSED' });
    expect(await typesOn('vault-f')).toEqual(['VaultCreated', 'VaultFired', 'VaultFired', 'VaultPaused']);
  });
});
