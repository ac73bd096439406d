import { mintAgpu } from '@starminer/chain';
import { COMMANDS, EXAMPLE_EVENT_DATA, type TradeEvent, type TradeEventOf } from '@starminer/events';
import { appendDrafts, eventually, serviceUnderTest } from '@starminer/service-testing';
import { IntakeModule } from '../intake.module';
import { RELEASE_FUNDS_DURABLE } from '../release-funds/release-funds.consumer';
import { intakeJobSpec } from '../testing/job-spec';
import { CronTriggersTicker } from '../vault-triggers/cron-triggers.ticker';
import { IntakeVaultsProjection } from '../vault-triggers/intake-vaults.projection';
import { VaultJobEndsConsumer } from './vault-job-ends.consumer';
import { VaultJobsConsumer, VAULT_JOBS_DURABLE } from './vault-jobs.consumer';

/**
 * A vault's firing submits its job: the template as the job the firing named, marked with the
 * vault, requested by the vault's owner, with nothing reserved on the org's account; once, however
 * often the VaultFired is delivered. On real NATS and Postgres.
 */
const AGPU = 10n ** 18n;
const ORG = 'org-vault-jobs';
const ACCOUNT = `0x${'4e'.repeat(20)}`;
const MIN = 60_000;

/** The background ticks never run during the spec: it drives them with its own clock. */
const under = serviceUnderTest(IntakeModule, { chain: true, env: { INTAKE_VAULT_TICK_MS: '600000' } });

const eventsOf = async (subject: string): Promise<TradeEvent[]> => (await under.infra.log.readSubject(subject)).events.map((e) => e.event as TradeEvent);

beforeAll(async () => {
  await appendDrafts(under.infra.log, 'account', ORG, [{ type: 'OrgRegistered', data: { orgId: ORG, name: ORG, accountAddress: ACCOUNT, custodyIndex: 1 } }]);
  // the vaults' deposits are reserved on the org's account
  const chain = under.infra.chain!;
  await mintAgpu(chain.clients.wallet(chain.roles.minter), chain.clients.publicClient, { token: chain.addresses.token, to: ACCOUNT as `0x${string}`, amountWei: 100_000n * AGPU });
}, 60_000);

describe('vault jobs', () => {
  it("given a firing, then its job is the template, marked with the vault, the owner's, reserved nowhere, submitted once", async () => {
    const template = intakeJobSpec({ budgetWei: 3n * AGPU, workload: { kind: 'hash-chain', seed: 'vault-jobs', iterations: 500 } });
    const { seq } = await under.service.bus.send(COMMANDS.intake.createVault, {
      orgId: ORG,
      vaultId: 'vault-jobs-1',
      requestId: 'req-vault-jobs-1',
      depositWei: 10n * AGPU,
      capPerPeriodWei: 6n * AGPU,
      periodSec: 3600,
      template,
      triggers: [{ triggerId: 'hourly', kind: 'cron', expression: '0 * * * *', timeZone: 'UTC' }],
    });
    await under.service.app.get(IntakeVaultsProjection).waitUntil(seq);
    const created = (await eventsOf('trade.vault.vault-jobs-1'))[0] as TradeEventOf<'VaultCreated'>;
    const slotMs = (Math.floor(created.data.periodAnchorMs / (60 * MIN)) + 1) * 60 * MIN;
    expect(await under.service.app.get(CronTriggersTicker).tick(slotMs + 1_000)).toBe(1);
    const fired = (await eventsOf('trade.vault.vault-jobs-1')).find((e): e is TradeEventOf<'VaultFired'> => e.type === 'VaultFired')!;
    const jobId = fired.data.jobId;

    await eventually(async () => (await eventsOf(`trade.job.${jobId}`)).length === 1);
    const [submitted] = (await eventsOf(`trade.job.${jobId}`)) as [TradeEventOf<'JobSubmitted'>];
    expect(submitted).toMatchObject({ type: 'JobSubmitted', causationId: fired.id, correlationId: jobId, actor: 'service:intake' });
    expect(submitted.data).toEqual({
      jobId,
      orgId: ORG,
      requesterAddress: ACCOUNT,
      ...template,
      vault: { vaultId: 'vault-jobs-1', firingId: fired.data.firingId, specHash: created.data.template.specHash },
    });

    // a redelivered VaultFired (or one another replica took) appends nothing
    expect(await under.service.app.get(VaultJobsConsumer).onFired(fired)).toBe('already-submitted');
    expect(await eventsOf(`trade.job.${jobId}`)).toHaveLength(1);

    // the org's account holds nothing for it, before and after the job ends
    const [endSeq] = await appendDrafts(under.infra.log, 'contract', jobId, [{ type: 'ContractOpenFailed', data: { ...EXAMPLE_EVENT_DATA.ContractOpenFailed, jobId, code: 'CapExceeded' } }]);
    await eventually(() => (under.service.rt.reader(RELEASE_FUNDS_DURABLE)?.health().position ?? 0) >= endSeq);
    expect(under.service.rt.reader(VAULT_JOBS_DURABLE)?.health().state).not.toBe('failed');
    const account = await eventsOf(`trade.account.${ORG}`);
    expect(account.filter((e) => (e.data as { jobId?: string }).jobId === jobId)).toEqual([]);

    // its open refused on chain, the job drew nothing: the vault gets its budget back, once, and the next slot fires
    const ended = async () => (await eventsOf('trade.vault.vault-jobs-1')).filter((e): e is TradeEventOf<'VaultFiringEnded'> => e.type === 'VaultFiringEnded');
    await eventually(async () => (await ended()).length === 1);
    expect((await ended())[0].data).toEqual({ vaultId: 'vault-jobs-1', firingId: fired.data.firingId, jobId, budgetWei: 3n * AGPU, drawnWei: 0n });
    expect(await under.service.app.get(VaultJobEndsConsumer).onEnd(jobId, 'redelivered')).toBe(0);
    expect(await ended()).toHaveLength(1);
  }, 60_000);

  it('a job that opened keeps only its escrow against the vault; one cancelled before any match gives its whole budget back', async () => {
    const template = intakeJobSpec({ budgetWei: 4n * AGPU, workload: { kind: 'hash-chain', seed: 'vault-jobs-2', iterations: 500 } });
    const { seq } = await under.service.bus.send(COMMANDS.intake.createVault, {
      orgId: ORG,
      vaultId: 'vault-jobs-2',
      requestId: 'req-vault-jobs-2',
      depositWei: 8n * AGPU,
      capPerPeriodWei: 100n * AGPU,
      periodSec: 3600,
      template,
      triggers: [{ triggerId: 'hook', kind: 'url' }],
    });
    await under.service.app.get(IntakeVaultsProjection).waitUntil(seq);
    const fire = (slot: string) => under.service.bus.send(COMMANDS.intake.fireVault, { orgId: ORG, vaultId: 'vault-jobs-2', triggerId: 'hook', slot });
    const a = await fire('call-a');
    const b = await fire('call-b');
    await eventually(async () => (await eventsOf(`trade.job.${b.jobId}`)).length === 1);
    // the deposit is committed in full: a third call is refused
    await expect(fire('call-c')).rejects.toMatchObject({ code: 'VAULT_BALANCE_INSUFFICIENT' });
    await appendDrafts(under.infra.log, 'contract', a.jobId, [{ type: 'ContractOpened', data: { ...EXAMPLE_EVENT_DATA.ContractOpened, jobId: a.jobId, escrowWei: 1n * AGPU } }]);
    await appendDrafts(under.infra.log, 'job', b.jobId, [{ type: 'JobCancelled', data: { jobId: b.jobId, reason: 'the owner cancelled it' } }]);
    const drawn = async () => (await eventsOf('trade.vault.vault-jobs-2')).flatMap((e) => (e.type === 'VaultFiringEnded' ? [[e.data.jobId, e.data.drawnWei] as const] : []));
    await eventually(async () => (await drawn()).length === 2);
    expect(new Map(await drawn())).toEqual(new Map([[a.jobId, 1n * AGPU], [b.jobId, 0n]]));
    // 8 deposited, 1 drawn: a call fits again
    expect((await fire('call-c')).seq).toEqual(expect.any(Number));
  }, 60_000);
});
