import { uuidv7 } from 'uuidv7';
import { mintAgpu } from '@starminer/chain';
import { draft } from '@starminer/domain';
import { COMMANDS } from '@starminer/events';
import { appendDrafts, eventually, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import { IntakeModule } from '../intake.module';
import { intakeJobSpec } from '../testing/job-spec';

const AGPU = 10n ** 18n;
const ORG = 'org-top-up-reserve';
const ACCOUNT = `0x${'3c'.repeat(20)}`;
let infra: TestInfra;
let intake: ServiceUnderTest;

beforeAll(async () => {
  infra = await startTestInfra({ chain: true });
  intake = await startService(IntakeModule, infra);
  await appendDrafts(infra.log, 'account', ORG, [{ type: 'OrgRegistered', data: { orgId: ORG, name: ORG, accountAddress: ACCOUNT, custodyIndex: 1 } }]);
  await mintAgpu(infra.chain!.clients.wallet(infra.chain!.roles.minter), infra.chain!.clients.publicClient, { token: infra.chain!.addresses.token, to: ACCOUNT as `0x${string}`, amountWei: 20n * AGPU });
}, 120_000);

afterAll(async () => {
  await intake?.stop();
  await infra?.stop();
});

const reserve = (jobId: string, topUpId: string, amountWei: bigint, orgId = ORG) => intake.bus.send(COMMANDS.intake.reserveTopUp, { orgId, jobId, topUpId, amountWei, requestId: `req-${topUpId}` });
const accountEvents = async () => (await infra.log.readSubject(`trade.account.${ORG}`)).events.map((e) => e.event);
const ofKey = (key: string) => async () => (await accountEvents()).filter((e) => (e.data as { jobId?: string }).jobId === key).map((e) => [e.type, (e.data as { reason?: string }).reason]);

describe('cmd.intake.reserveTopUp (issue 16)', () => {
  it("reserves a top-up's price under its top-up id like a budget (once, however often it is sent), counts it against the balance, and releases it when the escrow takes it", async () => {
    const { jobId } = await intake.bus.send(COMMANDS.intake.submitJob, { orgId: ORG, jobId: uuidv7(), spec: intakeJobSpec({ budgetWei: 10n * AGPU }), requestId: 'req-job' });
    expect(await reserve(jobId, 'tu-r1', 4n * AGPU)).toEqual({ reserved: true });
    expect(await reserve(jobId, 'tu-r1', 4n * AGPU)).toEqual({ reserved: true });
    expect(await ofKey('tu-r1')()).toEqual([['FundsReserved', undefined]]);
    // 20 AGPU: the job's 10 and this top-up's 4 are reserved, so 7 more do not fit
    await expect(reserve(jobId, 'tu-r2', 7n * AGPU)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });

    await appendDrafts(
      infra.log,
      'contract',
      jobId,
      [
        draft('ContractOpened', { jobId, chainJobId: `0x${'0f'.repeat(32)}`, contractAddress: `0x${'cc'.repeat(20)}`, requesterAddress: ACCOUNT, nodeAddress: `0x${'22'.repeat(20)}`, escrowWei: AGPU, deadlineUnixSec: 2_000_000_000, termsHash: `0x${'0e'.repeat(32)}`, txHash: `0x${'ab'.repeat(32)}`, blockNumber: '1' }),
        draft('ContractToppedUp', { jobId, topUpId: 'tu-r1', extraCostWei: 4n * AGPU, extraRuntimeSec: 600, newCostWei: 5n * AGPU, newDeadlineUnixSec: 2_000_000_600, txHash: `0x${'ac'.repeat(32)}`, blockNumber: '2' }),
      ],
      { actor: 'service:deployer' },
    );
    await eventually(async () => (await ofKey('tu-r1')()).length === 2, 20_000);
    expect(await ofKey('tu-r1')()).toEqual([
      ['FundsReserved', undefined],
      ['FundsReleased', 'contracted'],
    ]);
    // a retry after the top-up landed reserves nothing
    expect(await reserve(jobId, 'tu-r1', 4n * AGPU)).toEqual({ reserved: false });
    expect(await ofKey('tu-r1')()).toHaveLength(2);
  }, 60_000);

  it("refuses a job that is not the org's (JOB_NOT_FOUND) and reserves nothing", async () => {
    await expect(reserve('job-nobody', 'tu-r3', AGPU)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    expect(await ofKey('tu-r3')()).toEqual([]);
  });
});
