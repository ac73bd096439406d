import { uuidv7 } from 'uuidv7';
import { mintAgpu } from '@starminer/chain';
import { COMMANDS, EXAMPLE_EVENT_DATA } from '@starminer/events';
import { appendDrafts, eventually, serviceUnderTest } from '@starminer/service-testing';
import { IntakeModule } from '../intake.module';
import { DEADLINE_PASSED } from './expire-queued-jobs.ticker';
import { intakeJobSpec } from '../testing/job-spec';

const AGPU = 10n ** 18n;
const ORG = 'org-deadlines';
const ACCOUNT = `0x${'5e'.repeat(20)}`;
const GRACE_MS = 1_000;

const under = serviceUnderTest(IntakeModule, { chain: true, env: { INTAKE_DEADLINE_GRACE_MS: String(GRACE_MS), INTAKE_SWEEP_INTERVAL_MS: '200' } });

/** The shortest deadline the market takes: 1 s (the runtime's). */
const spec = (deadlineSec: number) =>
  intakeJobSpec({ budgetWei: AGPU, expectedRuntimeSec: 1, deadlineSec, workload: { kind: 'hash-chain', seed: 'deadline-spec', iterations: 10 } });
const submit = (deadlineSec: number) => {
  const jobId = uuidv7();
  return under.service.bus.send(COMMANDS.intake.submitJob, { orgId: ORG, jobId, requestId: `req-${jobId}`, spec: spec(deadlineSec) });
};
const typesOf = async (jobId: string) => (await under.infra.log.readSubject(`trade.job.${jobId}`)).events.map((e) => e.event);

beforeAll(async () => {
  await appendDrafts(under.infra.log, 'account', ORG, [{ type: 'OrgRegistered', data: { orgId: ORG, name: ORG, accountAddress: ACCOUNT, custodyIndex: 1 } }]);
  const chain = under.infra.chain!;
  await mintAgpu(chain.clients.wallet(chain.roles.minter), chain.clients.publicClient, { token: chain.addresses.token, to: ACCOUNT as `0x${string}`, amountWei: 10n * AGPU });
}, 60_000);

describe('queued jobs past their deadline', () => {
  it('a job still queued past its deadline and the grace is failed (DEADLINE_PASSED) and its reservation released; a matched one, and one within its deadline, are left', async () => {
    const expiring = await submit(1);
    const waiting = await submit(1);
    const taken = await submit(1);
    const later = await submit(600);
    await appendDrafts(under.infra.log, 'job', waiting.jobId, [{ type: 'JobWaiting', data: { jobId: waiting.jobId, reason: 'no H100 online' } }]);
    // a match recorded before the sweep wins
    await appendDrafts(under.infra.log, 'job', taken.jobId, [{ type: 'JobMatched', data: { ...EXAMPLE_EVENT_DATA.JobMatched, jobId: taken.jobId, receipt: { jobId: taken.jobId } } }]);
    const submittedAt = Date.parse((await typesOf(expiring.jobId))[0].occurredAt);

    await eventually(async () => (await typesOf(expiring.jobId)).some((e) => e.type === 'JobFailed'), 15_000);
    await eventually(async () => (await typesOf(waiting.jobId)).some((e) => e.type === 'JobFailed'), 15_000);
    const failed = (await typesOf(expiring.jobId)).find((e) => e.type === 'JobFailed')!;
    expect(failed).toMatchObject({ actor: 'service:intake', data: { jobId: expiring.jobId, code: DEADLINE_PASSED } });
    // not before its deadline plus the grace
    expect(Date.parse(failed.occurredAt)).toBeGreaterThan(submittedAt + 1_000 + GRACE_MS);
    // the release consumer ends its reservation
    await eventually(async () =>
      (await under.infra.log.readSubject(`trade.account.${ORG}`)).events.some((e) => e.event.type === 'FundsReleased' && (e.event.data as { jobId: string }).jobId === expiring.jobId),
    );
    // a further round fails nothing twice, and leaves the others
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await typesOf(expiring.jobId)).filter((e) => e.type === 'JobFailed')).toHaveLength(1);
    expect((await typesOf(taken.jobId)).map((e) => e.type)).toEqual(['JobSubmitted', 'JobMatched']);
    expect((await typesOf(later.jobId)).map((e) => e.type)).toEqual(['JobSubmitted']);
  }, 60_000);
});
