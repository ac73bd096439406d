import type { Address } from 'viem';
import { agpuBalance, ChainActionError, readComputeContract, readContractRunway, topUpComputeContract } from '@starminer/chain';
import { DomainError } from '@starminer/domain';
import { uuidv7 } from 'uuidv7';
import { COMMANDS, EXAMPLE_EVENT_DATA, makeEvent, subjectFor, type EventData } from '@starminer/events';
import { appendDrafts, eventually, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import { CustodySlots } from '../accounts/custody-slots';
import { DeployerChain } from '../chain/deployer-chain';
import { DeployerModule } from '../deployer.module';
import { PendingTopUpRow } from './pending-top-up.entity';
import { ReconcileTopUpsService, TOP_UP_GRACE_MS } from './reconcile-top-ups.service';
import { topUpCostWei, topUpRefusalOf } from './top-up-contract.handler';

const AGPU = 10n ** 18n;
const PROVIDER = `0x${'5e'.repeat(20)}`;
const ORG = 'org-top-up';
const OTHER_ORG = 'org-top-up-other';
/** The example match's price: 2 AGPU an hour for all its GPUs. */
const PRICE_WEI_PER_HOUR = EXAMPLE_EVENT_DATA.JobMatched.priceWeiPerHour;
let infra: TestInfra;
let deployer: ServiceUnderTest;
let requester: Address;

beforeAll(async () => {
  infra = await startTestInfra({ chain: true });
  deployer = await startService(DeployerModule, infra);
  const slot = await deployer.bus.send(COMMANDS.deployer.allocateAccount, { orgId: ORG });
  requester = slot.accountAddress as Address;
  await appendDrafts(infra.log, 'account', ORG, [{ type: 'OrgRegistered', data: { orgId: ORG, name: ORG, accountAddress: slot.accountAddress, custodyIndex: slot.custodyIndex } }]);
  await deployer.bus.send(COMMANDS.deployer.mint, { orgId: ORG, amountWei: 100n * AGPU, requestId: 'top-up-spec-funds' });
}, 120_000);

afterAll(async () => {
  await deployer?.stop();
  await infra?.stop();
});

const chain = () => ({ publicClient: infra.chain!.clients.publicClient, addresses: infra.chain!.addresses });
const balanceOf = (account: Address) => agpuBalance(chain().publicClient, { token: chain().addresses.token, account });
const contractEvents = async (jobId: string) => (await infra.log.readSubject(`trade.contract.${jobId}`)).events.map((e) => e.event);

/** A job of ORG, submitted and matched at the example's price; resolves once its contract is open on chain and recorded. */
async function openJob(jobId: string): Promise<EventData<'ContractOpened'>> {
  const submitted = { type: 'JobSubmitted' as const, data: { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId, orgId: ORG, requesterAddress: requester } };
  const matched = { type: 'JobMatched' as const, data: { ...EXAMPLE_EVENT_DATA.JobMatched, jobId, nodeAddress: PROVIDER, receipt: { jobId } } };
  await appendDrafts(infra.log, 'job', jobId, [submitted, matched]);
  await eventually(async () => (await contractEvents(jobId)).some((e) => e.type === 'ContractOpened'), 20_000);
  const opened = (await contractEvents(jobId)).find((e) => e.type === 'ContractOpened')!;
  return opened.data as EventData<'ContractOpened'>;
}

const topUp = (jobId: string, topUpId: string, extraRuntimeSec = 1_800, over: { orgId?: string; extraCostWei?: bigint } = {}) =>
  deployer.bus.send(COMMANDS.deployer.topUpContract, {
    orgId: over.orgId ?? ORG,
    jobId,
    topUpId,
    extraCostWei: over.extraCostWei ?? topUpCostWei(PRICE_WEI_PER_HOUR, extraRuntimeSec),
    extraRuntimeSec,
    requestId: `req-${topUpId}`,
  });

describe('topping up a running job\'s escrow (cmd.deployer.topUpContract, issue 16)', () => {
  it('prices a top-up at the match\'s hourly price, rounded up to the wei', () => {
    expect(topUpCostWei(2n * AGPU, 1_800)).toBe(AGPU);
    expect(topUpCostWei(7n, 1)).toBe(1n); // 7/3600 of a wei rounds up
  });

  it('given an open contract, when it is topped up, then the chain holds more escrow and a later deadline, and ContractToppedUp records what the chain answered', async () => {
    const opened = await openJob('job-top-up-1');
    const extraWei = topUpCostWei(PRICE_WEI_PER_HOUR, 1_800);
    const [escrowBefore, requesterBefore] = [await balanceOf(chain().addresses.escrow), await balanceOf(requester)];
    const reply = await topUp('job-top-up-1', 'tu-spec-1');
    expect(reply).toMatchObject({ alreadyApplied: false, extraCostWei: extraWei, newCostWei: opened.escrowWei + extraWei, newDeadlineUnixSec: opened.deadlineUnixSec + 1_800 });
    expect(reply.seq).toBeGreaterThan(0);
    expect(await balanceOf(chain().addresses.escrow)).toBe(escrowBefore + extraWei);
    expect(await balanceOf(requester)).toBe(requesterBefore - extraWei);
    const onChain = await readComputeContract(chain().publicClient, { addresses: chain().addresses, jobId: 'job-top-up-1' });
    expect(onChain).toMatchObject({ status: 'open', costWei: opened.escrowWei + extraWei, deadlineSec: opened.deadlineUnixSec + 1_800 });
    const runway = await readContractRunway(chain().publicClient, { addresses: chain().addresses, jobId: 'job-top-up-1' });
    expect(runway).toMatchObject({ topUps: 1, extendedSec: 1_800, deadlineSec: opened.deadlineUnixSec + 1_800 });
    const toppedUp = (await contractEvents('job-top-up-1')).filter((e) => e.type === 'ContractToppedUp');
    expect(toppedUp).toHaveLength(1);
    expect(toppedUp[0]).toMatchObject({ causationId: 'req-tu-spec-1', actor: 'service:deployer', data: { topUpId: 'tu-spec-1', extraCostWei: extraWei, txHash: reply.txHash } });
  });

  it('given a crash after the chain paid and before the log recorded it, when the same top-up is sent again, then the chain answers the first top-up (alreadyApplied) and the log records it once; a third send pays nothing', async () => {
    await openJob('job-top-up-2');
    const extraWei = topUpCostWei(PRICE_WEI_PER_HOUR, 600);
    // the first attempt's chain half, as the handler sends it, then "the crash": nothing on the log
    const slot = (await deployer.app.get(CustodySlots).find(ORG))!;
    const dc = deployer.app.get(DeployerChain);
    const paid = await dc.asDeployer((wallet) =>
      topUpComputeContract(wallet, dc.publicClient, { addresses: dc.addresses, jobId: 'job-top-up-2', topUpId: 'tu-spec-2', requester: slot.account, extraCostWei: extraWei, extraRuntimeSec: 600 }),
    );
    expect((await contractEvents('job-top-up-2')).some((e) => e.type === 'ContractToppedUp')).toBe(false);
    const requesterAfterFirst = await balanceOf(requester);

    const retry = await topUp('job-top-up-2', 'tu-spec-2', 600);
    expect(retry).toMatchObject({ alreadyApplied: true, txHash: paid.txHash, newCostWei: paid.newCostWei, newDeadlineUnixSec: paid.newDeadlineSec });
    const again = await topUp('job-top-up-2', 'tu-spec-2', 600);
    expect(again).toMatchObject({ alreadyApplied: true, seq: null, txHash: paid.txHash });
    expect((await contractEvents('job-top-up-2')).filter((e) => e.type === 'ContractToppedUp')).toHaveLength(1);
    expect(await balanceOf(requester)).toBe(requesterAfterFirst);
  });

  it('refuses a job of another org (JOB_NOT_FOUND), a job not contracted yet (TOP_UP_NOT_OPEN), and a price that is not the match\'s (TOP_UP_PRICE_CHANGED, 409, with the price now: nothing paid)', async () => {
    await openJob('job-top-up-3');
    await expect(topUp('job-top-up-3', 'tu-spec-3a', 600, { orgId: OTHER_ORG })).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    await appendDrafts(infra.log, 'job', 'job-top-up-queued', [{ type: 'JobSubmitted', data: { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId: 'job-top-up-queued', orgId: ORG, requesterAddress: requester } }]);
    await expect(topUp('job-top-up-queued', 'tu-spec-3b', 600)).rejects.toMatchObject({ code: 'TOP_UP_NOT_OPEN' });
    const before = await balanceOf(requester);
    await expect(topUp('job-top-up-3', 'tu-spec-3c', 600, { extraCostWei: 1n })).rejects.toMatchObject({
      code: 'TOP_UP_PRICE_CHANGED',
      kind: 'conflict',
      details: { extraCostWei: topUpCostWei(PRICE_WEI_PER_HOUR, 600).toString(), attempt: 1 },
    });
    expect(await balanceOf(requester)).toBe(before);
  });

  it("maps the chain's refusals: the bounds are TOP_UP_LIMIT (422), the job's state TOP_UP_NOT_OPEN (409); a chain away is retried, not refused", () => {
    const refusal = topUpRefusalOf(new ChainActionError('TotalExtensionAboveBound', 'over'), 'j');
    expect(refusal).toBeInstanceOf(DomainError);
    expect(refusal).toMatchObject({ code: 'TOP_UP_LIMIT', kind: 'unprocessable', details: { chainCode: 'TotalExtensionAboveBound' } });
    expect(topUpRefusalOf(new ChainActionError('DeadlinePassed', 'late'), 'j')).toMatchObject({ code: 'TOP_UP_NOT_OPEN', kind: 'conflict' });
    expect(topUpRefusalOf(new ChainActionError('ChainUnavailable', 'down'), 'j')).toBeUndefined();
  });

  it('given an org that cannot pay the top-up (7 days at 2 AGPU an hour is 336 AGPU), then INSUFFICIENT_FUNDS and nothing recorded', async () => {
    await openJob('job-top-up-4');
    await expect(topUp('job-top-up-4', 'tu-spec-4', 7 * 24 * 3600)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    expect((await contractEvents('job-top-up-4')).some((e) => e.type === 'ContractToppedUp')).toBe(false);
  });
});

describe("the top-ups' reconciler", () => {
  /** The request's reservation as intake appends it: under the top-up id, correlated with the job, long enough ago that no request is still on it. */
  const reserved = async (jobId: string, topUpId: string, amountWei: bigint, type: 'FundsReserved' | 'FundsReleased' = 'FundsReserved') => {
    const data = type === 'FundsReserved' ? { orgId: ORG, jobId: topUpId, amountWei } : { orgId: ORG, jobId: topUpId, amountWei, reason: 'abandoned' as const };
    const event = makeEvent(type, data as never, { id: uuidv7(), aggregateId: ORG, occurredAt: new Date(Date.now() - TOP_UP_GRACE_MS - 5_000).toISOString(), correlationId: jobId, causationId: `req-${topUpId}`, actor: `org:${ORG}` });
    await infra.log.append(subjectFor('account', ORG, infra.log.subjectPrefix), [event], { expectedLastSubjectSeq: 'any' });
  };
  const rowOf = (topUpId: string) => deployer.rt.db.getRepository(PendingTopUpRow).findOneBy({ topUpId });

  it('given a top-up the chain paid and the log never recorded (a crash, no retry), then the reconciler records it from the chain\'s event, once, and forgets it', async () => {
    await openJob('job-top-up-5');
    const extraWei = topUpCostWei(PRICE_WEI_PER_HOUR, 300);
    await reserved('job-top-up-5', 'tu-spec-5', extraWei);
    const slot = (await deployer.app.get(CustodySlots).find(ORG))!;
    const dc = deployer.app.get(DeployerChain);
    const paid = await dc.asDeployer((wallet) =>
      topUpComputeContract(wallet, dc.publicClient, { addresses: dc.addresses, jobId: 'job-top-up-5', topUpId: 'tu-spec-5', requester: slot.account, extraCostWei: extraWei, extraRuntimeSec: 300 }),
    );
    await eventually(async () => (await contractEvents('job-top-up-5')).some((e) => e.type === 'ContractToppedUp'), 30_000);
    const recorded = (await contractEvents('job-top-up-5')).filter((e) => e.type === 'ContractToppedUp');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ actor: 'service:deployer', causationId: 'tu-spec-5', data: { topUpId: 'tu-spec-5', extraCostWei: extraWei, newCostWei: paid.newCostWei, newDeadlineUnixSec: paid.newDeadlineSec, txHash: paid.txHash } });
    await eventually(async () => (await rowOf('tu-spec-5')) === null, 15_000);
    // the request's retry, later, answers the same top-up and records nothing more
    expect(await topUp('job-top-up-5', 'tu-spec-5', 300)).toMatchObject({ alreadyApplied: true, seq: null, txHash: paid.txHash });
    expect((await contractEvents('job-top-up-5')).filter((e) => e.type === 'ContractToppedUp')).toHaveLength(1);
  }, 60_000);

  it('given a top-up the chain paid whose contract the log ended before recording it, then the reconciler hands it to an operator once (refused), not every 5 minutes for ever', async () => {
    await openJob('job-top-up-7');
    const extraWei = topUpCostWei(PRICE_WEI_PER_HOUR, 300);
    await reserved('job-top-up-7', 'tu-spec-7', extraWei);
    await eventually(async () => (await rowOf('tu-spec-7')) !== null, 15_000);
    const slot = (await deployer.app.get(CustodySlots).find(ORG))!;
    const dc = deployer.app.get(DeployerChain);
    await dc.asDeployer((wallet) =>
      topUpComputeContract(wallet, dc.publicClient, { addresses: dc.addresses, jobId: 'job-top-up-7', topUpId: 'tu-spec-7', requester: slot.account, extraCostWei: extraWei, extraRuntimeSec: 300 }),
    );
    // the log ends the contract before the paid top-up is recorded (the reconciler's grace has not passed)
    await appendDrafts(
      infra.log,
      'contract',
      'job-top-up-7',
      [
        { type: 'SettlementDecided', data: { jobId: 'job-top-up-7', outcome: 'refund', reason: 'deadline passed' } },
        { type: 'ContractRefunded', data: { ...EXAMPLE_EVENT_DATA.ContractRefunded, jobId: 'job-top-up-7' } },
      ],
      { actor: 'service:settlement' },
    );
    const reconciler = deployer.app.get(ReconcileTopUpsService);
    expect((await reconciler.round(Date.now() + 60 * 60_000))['tu-spec-7']).toBe('refused');
    expect(await rowOf('tu-spec-7')).toBeNull();
    expect((await contractEvents('job-top-up-7')).some((e) => e.type === 'ContractToppedUp')).toBe(false);
  }, 60_000);

  it('given a reservation whose top-up never reached the chain, then nothing is recorded; once the reservation is released, the row goes', async () => {
    await openJob('job-top-up-6');
    await reserved('job-top-up-6', 'tu-spec-6', AGPU);
    await eventually(async () => (await rowOf('tu-spec-6')) !== null, 15_000);
    const reconciler = deployer.app.get(ReconcileTopUpsService);
    const later = () => Date.now() + 60 * 60_000;
    expect((await reconciler.round(later()))['tu-spec-6']).toBe('not-paid');
    await reserved('job-top-up-6', 'tu-spec-6', AGPU, 'FundsReleased');
    await eventually(async () => (await rowOf('tu-spec-6'))?.releasedAtMs != null, 15_000);
    // past the backoff the first look set
    expect((await reconciler.round(later() + 60 * 60_000))['tu-spec-6']).toBe('released');
    await eventually(async () => (await rowOf('tu-spec-6')) === null, 15_000);
    expect((await contractEvents('job-top-up-6')).some((e) => e.type === 'ContractToppedUp')).toBe(false);
  }, 60_000);
});
