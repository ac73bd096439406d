import { jobTemplateHash } from '@starminer/chain';
import { DomainError, vaultFiringId, vaultFiringJobId } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type TradeEventOf } from '@starminer/events';
import { appendDrafts, serviceUnderTest } from '@starminer/service-testing';
import { IntakeModule } from '../intake.module';
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

beforeAll(async () => {
  await appendDrafts(under.infra.log, 'account', ORG, [{ type: 'OrgRegistered', data: { orgId: ORG, name: ORG, accountAddress: ACCOUNT, custodyIndex: 3 } }]);
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
