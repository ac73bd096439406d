import { uuidv7 } from 'uuidv7';
import { mintAgpu } from '@starminer/chain';
import type { DomainError } from '@starminer/domain';
import { COMMANDS, EXAMPLE_EVENT_DATA } from '@starminer/events';
import { appendDrafts, eventually, serviceUnderTest } from '@starminer/service-testing';
import { IntakeModule } from '../intake.module';
import { RELEASE_FUNDS_DURABLE } from './release-funds.consumer';
import { intakeJobSpec } from '../testing/job-spec';

const AGPU = 10n ** 18n;
const ORG = 'org-releases';
const ACCOUNT = `0x${'4d'.repeat(20)}`;
/** Short, so the abandoned sweep is seen within a test. */
const ABANDONED_MS = 1_500;

const under = serviceUnderTest(IntakeModule, { chain: true, env: { INTAKE_RESERVATION_ABANDONED_MS: String(ABANDONED_MS), INTAKE_SWEEP_INTERVAL_MS: '200' } });

const spec = (budgetWei: bigint) => intakeJobSpec({ budgetWei, workload: { kind: 'hash-chain', seed: 'release-spec', iterations: 1000 } });

const submit = (budgetWei: bigint, jobId = uuidv7(), requestId = `req-${jobId}`) =>
  under.service.bus.send(COMMANDS.intake.submitJob, { orgId: ORG, jobId, requestId, spec: spec(budgetWei) });
const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as DomainError);
/** The releases of one job on the org's account, by reason. */
const releasesOf = async (jobId: string) =>
  (await under.infra.log.readSubject(`trade.account.${ORG}`)).events
    .map((e) => e.event)
    .filter((e) => e.type === 'FundsReleased' && (e.data as { jobId: string }).jobId === jobId)
    .map((e) => (e.data as { reason: string }).reason);
const matched = (jobId: string) => ({ type: 'JobMatched' as const, data: { ...EXAMPLE_EVENT_DATA.JobMatched, jobId, receipt: { jobId } } });

beforeAll(async () => {
  await appendDrafts(under.infra.log, 'account', ORG, [{ type: 'OrgRegistered', data: { orgId: ORG, name: ORG, accountAddress: ACCOUNT, custodyIndex: 1 } }]);
  const chain = under.infra.chain!;
  await mintAgpu(chain.clients.wallet(chain.roles.minter), chain.clients.publicClient, { token: chain.addresses.token, to: ACCOUNT as `0x${string}`, amountWei: 10n * AGPU });
}, 60_000);

describe('reservations end when a job no longer needs them', () => {
  it('given a job whose contract open failed, then its reservation is released (open-failed) once, and the org may spend it again', async () => {
    const { jobId } = await submit(8n * AGPU);
    expect(await refusal(submit(8n * AGPU))).toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    await appendDrafts(under.infra.log, 'job', jobId, [matched(jobId)]);
    const openFailed = { type: 'ContractOpenFailed' as const, data: { ...EXAMPLE_EVENT_DATA.ContractOpenFailed, jobId } };
    await appendDrafts(under.infra.log, 'contract', jobId, [openFailed]);
    await eventually(async () => (await releasesOf(jobId)).length === 1);
    expect(await releasesOf(jobId)).toEqual(['open-failed']);
    // the deployer failing the job as well (a second ending) releases nothing more
    const [failedSeq] = await appendDrafts(under.infra.log, 'job', jobId, [{ type: 'JobFailed', data: { jobId, code: 'OPEN_FAILED', reason: 'escrow not opened' } }]);
    const next = await submit(8n * AGPU);
    await eventually(() => (under.service.rt.reader(RELEASE_FUNDS_DURABLE)?.health().position ?? 0) >= failedSeq);
    expect(await releasesOf(jobId)).toEqual(['open-failed']);
    // leave the funds free for the next test
    await under.service.bus.send(COMMANDS.intake.cancelJob, { orgId: ORG, jobId: next.jobId });
    await eventually(async () => (await releasesOf(next.jobId)).length === 1);
  });

  it('given a cancelled job, then its reservation is released (cancelled) and the org may spend it again', async () => {
    const { jobId } = await submit(8n * AGPU);
    expect(await refusal(submit(8n * AGPU))).toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    await under.service.bus.send(COMMANDS.intake.cancelJob, { orgId: ORG, jobId });
    await eventually(async () => (await releasesOf(jobId)).length === 1);
    expect(await releasesOf(jobId)).toEqual(['cancelled']);
    const again = await submit(8n * AGPU);
    await under.service.bus.send(COMMANDS.intake.cancelJob, { orgId: ORG, jobId: again.jobId });
    await eventually(async () => (await releasesOf(again.jobId)).length === 1);
  });

  it('given a contract opened on chain, then the reservation is released as contracted (the escrow holds the funds now)', async () => {
    const { jobId } = await submit(AGPU);
    await appendDrafts(under.infra.log, 'job', jobId, [matched(jobId)]);
    await appendDrafts(under.infra.log, 'contract', jobId, [{ type: 'ContractOpened', data: { ...EXAMPLE_EVENT_DATA.ContractOpened, jobId } }]);
    await eventually(async () => (await releasesOf(jobId)).length === 1);
    expect(await releasesOf(jobId)).toEqual(['contracted']);
  });

  it('given a reservation whose job never came (a crash), then it is released as abandoned after the bound; a retry then reserves again and submits', async () => {
    const jobId = uuidv7();
    await appendDrafts(under.infra.log, 'account', ORG, [{ type: 'FundsReserved', data: { orgId: ORG, jobId, amountWei: 8n * AGPU } }]);
    // held meanwhile: the org cannot spend it twice
    expect(await refusal(submit(8n * AGPU))).toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    await eventually(async () => (await releasesOf(jobId)).length === 1, 20_000);
    expect(await releasesOf(jobId)).toEqual(['abandoned']);
    // a job submitted within the bound is never taken for abandoned
    const live = await submit(AGPU);
    await new Promise((r) => setTimeout(r, ABANDONED_MS + 1_000));
    expect(await releasesOf(live.jobId)).toEqual([]);
    await under.service.bus.send(COMMANDS.intake.cancelJob, { orgId: ORG, jobId: live.jobId });
    // the late retry of the crashed request
    const { seq } = await submit(8n * AGPU, jobId);
    expect(seq).toBeGreaterThan(0);
    const reserves = (await under.infra.log.readSubject(`trade.account.${ORG}`)).events.filter((e) => e.event.type === 'FundsReserved' && (e.event.data as { jobId: string }).jobId === jobId);
    expect(reserves).toHaveLength(2);
  }, 60_000);
});
