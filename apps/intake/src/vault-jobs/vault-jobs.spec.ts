import { COMMANDS, EXAMPLE_EVENT_DATA, type TradeEvent, type TradeEventOf } from '@starminer/events';
import { appendDrafts, eventually, serviceUnderTest } from '@starminer/service-testing';
import { IntakeModule } from '../intake.module';
import { RELEASE_FUNDS_DURABLE } from '../release-funds/release-funds.consumer';
import { intakeJobSpec } from '../testing/job-spec';
import { CronTriggersTicker } from '../vault-triggers/cron-triggers.ticker';
import { IntakeVaultsProjection } from '../vault-triggers/intake-vaults.projection';
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
  }, 60_000);
});
