import { uuidv7 } from 'uuidv7';
import { agpuBalance, mintAgpu } from '@starminer/chain';
import { redundantCopyJobIds } from '@starminer/domain';
import { COMMANDS, EXAMPLE_EVENT_DATA, type EventData, type PayloadOf } from '@starminer/events';
import { appendDrafts, countEvents, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import { IntakeModule } from '../intake.module';
import { intakeJobSpec as spec } from '../testing/job-spec';

const AGPU = 10n ** 18n;
let infra: TestInfra;
let intake: ServiceUnderTest;
const ORG = 'org-redundancy-1';
const ACCOUNT = `0x${'3c'.repeat(20)}`;

beforeAll(async () => {
  infra = await startTestInfra({ chain: true });
  intake = await startService(IntakeModule, infra);
  const minter = infra.chain!.clients.wallet(infra.chain!.roles.minter);
  await appendDrafts(infra.log, 'account', ORG, [{ type: 'OrgRegistered', data: { orgId: ORG, name: ORG, accountAddress: ACCOUNT, custodyIndex: 1 } }]);
  await mintAgpu(minter, infra.chain!.clients.publicClient, { token: infra.chain!.addresses.token, to: ACCOUNT as `0x${string}`, amountWei: 100n * AGPU });
}, 120_000);

afterAll(async () => {
  await intake?.stop();
  await infra?.stop();
});

const submit = (payload: PayloadOf<typeof COMMANDS.intake.submitJob>) => intake.bus.send(COMMANDS.intake.submitJob, payload);
const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as { code: string });
const submittedOf = async (jobId: string) => (await infra.log.readSubject(`trade.job.${jobId}`)).events.map((e) => e.event).filter((e) => e.type === 'JobSubmitted');
const reservedOf = async (jobId: string) =>
  (await infra.log.readSubject(`trade.account.${ORG}`)).events.map((e) => e.event).filter((e) => e.type === 'FundsReserved' && (e.data as { jobId: string }).jobId === jobId);

describe('cmd.intake.submitJob with redundancy (issue 17)', () => {
  it('given copies: 3, then three sibling jobs are queued, each tagged with the group and reserving its own budget', async () => {
    const jobId = uuidv7();
    const compare = { mode: 'tolerance' as const, absTolerance: 1e-3, relTolerance: 0 };
    const answer = await submit({ orgId: ORG, spec: spec({ redundancy: { copies: 3, compare } }), jobId, requestId: `req-${jobId}` });
    expect(answer.jobId).toBe(jobId);
    const ids = redundantCopyJobIds(jobId, 3);
    for (const [copyIndex, copyId] of ids.entries()) {
      const [e] = await submittedOf(copyId);
      expect((e.data as EventData<'JobSubmitted'>).redundantCopy).toEqual({ groupId: jobId, copyIndex, copies: 3, compare });
      expect(await reservedOf(copyId)).toEqual([expect.objectContaining({ data: { orgId: ORG, jobId: copyId, amountWei: 10n * AGPU } })]);
    }
    // a retry of the same request answers the same job and appends nothing
    const before = await countEvents(infra.log, 'trade.>');
    expect((await submit({ orgId: ORG, spec: spec({ redundancy: { copies: 3, compare } }), jobId, requestId: `req-${jobId}` })).jobId).toBe(jobId);
    expect(await countEvents(infra.log, 'trade.>')).toBe(before);
  });

  it.each([
    ['one copy', { copies: 1, compare: { mode: 'exact' as const } }, spec().requirements, 'REDUNDANCY_COPIES_OUT_OF_RANGE'],
    ['six copies', { copies: 6, compare: { mode: 'exact' as const } }, spec().requirements, 'REDUNDANCY_COPIES_OUT_OF_RANGE'],
    ['a negative tolerance', { copies: 2, compare: { mode: 'tolerance' as const, absTolerance: -1, relTolerance: 0 } }, spec().requirements, 'REDUNDANCY_TOLERANCE_INVALID'],
    ['no GPU model named', { copies: 2, compare: { mode: 'exact' as const } }, { ...spec().requirements, gpuModels: [] }, 'REDUNDANCY_GPU_MODEL_REQUIRED'],
  ])('given %s, then it is refused by code and nothing is appended', async (_what, redundancy, requirements, code) => {
    const before = await countEvents(infra.log, 'trade.>');
    expect(await refusal(submit({ orgId: ORG, spec: spec({ redundancy, requirements }), jobId: uuidv7(), requestId: 'r' }))).toMatchObject({ code });
    expect(await countEvents(infra.log, 'trade.>')).toBe(before);
  });

  it('given a copy matched already, when the request job (copy 0) is cancelled, then every copy still queued is cancelled and the matched one runs on', async () => {
    const jobId = uuidv7();
    await submit({ orgId: ORG, spec: spec({ redundancy: { copies: 3, compare: { mode: 'exact' } } }), jobId, requestId: `req-${jobId}` });
    const [, matched, queued] = redundantCopyJobIds(jobId, 3);
    await appendDrafts(infra.log, 'job', matched, [{ type: 'JobMatched', data: { ...EXAMPLE_EVENT_DATA.JobMatched, jobId: matched } }]);
    await intake.bus.send(COMMANDS.intake.cancelJob, { orgId: ORG, jobId });
    const last = async (id: string) => (await infra.log.readSubject(`trade.job.${id}`)).events.at(-1)!.event.type;
    expect([await last(jobId), await last(matched), await last(queued)]).toEqual(['JobCancelled', 'JobMatched', 'JobCancelled']);
  });

  it('given copy 0 matched already, when it is cancelled, then the copies still queued are cancelled all the same; with none left to cancel, the refusal is the answer', async () => {
    const jobId = uuidv7();
    await submit({ orgId: ORG, spec: spec({ redundancy: { copies: 3, compare: { mode: 'exact' } } }), jobId, requestId: `req-${jobId}` });
    const [, second, third] = redundantCopyJobIds(jobId, 3);
    await appendDrafts(infra.log, 'job', jobId, [{ type: 'JobMatched', data: { ...EXAMPLE_EVENT_DATA.JobMatched, jobId } }]);
    await intake.bus.send(COMMANDS.intake.cancelJob, { orgId: ORG, jobId });
    const last = async (id: string) => (await infra.log.readSubject(`trade.job.${id}`)).events.at(-1)!.event.type;
    expect([await last(jobId), await last(second), await last(third)]).toEqual(['JobMatched', 'JobCancelled', 'JobCancelled']);
    // asked again: nothing is left to cancel, and copy 0's refusal is the answer
    expect(await refusal(intake.bus.send(COMMANDS.intake.cancelJob, { orgId: ORG, jobId }))).toMatchObject({ code: 'JOB_NOT_CANCELLABLE' });
  });

  it('given funds for fewer copies than asked, then INSUFFICIENT_FUNDS and no copy stays queued or reserved', async () => {
    const balance = await agpuBalance(infra.chain!.clients.publicClient, { token: infra.chain!.addresses.token, account: ACCOUNT as `0x${string}` });
    const jobId = uuidv7();
    // at most two copies fit what the balance has left (the tests before reserved at least 30 AGPU)
    const budgetWei = (balance - 30n * AGPU) / 3n + 1n;
    expect(await refusal(submit({ orgId: ORG, spec: spec({ budgetWei, redundancy: { copies: 3, compare: { mode: 'exact' } } }), jobId, requestId: 'r-poor' }))).toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    for (const copyId of redundantCopyJobIds(jobId, 3)) expect(await submittedOf(copyId)).toEqual([]);
    const account = (await infra.log.readSubject(`trade.account.${ORG}`)).events.map((e) => e.event);
    const open = new Map<string, number>();
    for (const e of account) {
      const id = (e.data as { jobId?: string }).jobId;
      if (!id?.startsWith(jobId)) continue;
      open.set(id, (open.get(id) ?? 0) + (e.type === 'FundsReserved' ? 1 : e.type === 'FundsReleased' ? -1 : 0));
    }
    expect([...open.values()].every((n) => n === 0)).toBe(true);
  });
});
