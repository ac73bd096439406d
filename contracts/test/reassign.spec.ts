/**
 * Re-match on failure (issue 16): ComputeEscrow.reassign moves an open job's escrow to the provider
 * of its next attempt. Tested like a ledger: after every step the supply never moves, every holder
 * holds what the ledger says, and the escrow holds exactly the open jobs' costs; the first provider
 * is never paid, the requester never pays twice.
 */
import { keccak256, parseEventLogs, stringToBytes, type Address } from 'viem';
import {
  artifacts,
  disputeComputeContract,
  jobIdToBytes32,
  MAX_ATTEMPT_DEADLINE_SEC,
  MAX_ATTEMPTS_PER_JOB,
  openComputeContract,
  readComputeContract,
  reassignComputeContract,
  REASSIGN_REJECTION_CODES,
  refundComputeContract,
  releaseComputeContract,
  signResult,
  type OpenComputeContractParams,
  type ReassignComputeContractParams,
} from '@starminer/chain';
import { LIMITS } from '@starminer/events';
import { AGPU, advanceTime, chainNowSec, expectCode, hash32, startMarket, type Market } from './fixture';

let m: Market;
let seq = 0;
const nextId = (label: string): string => `${label}-${Date.now()}-${++seq}`;
const escrowAbi = () => artifacts().ComputeEscrow.abi;
const tokenAbi = () => artifacts().AgpuToken.abi;

const expected = new Map<string, bigint>();
const openCosts = new Map<string, bigint>();
let supply0: bigint;
const holders = (): Address[] => [m.requester.address, m.requester2.address, m.provider.address, m.stranger.address, m.addresses.escrow, m.deployer.address, m.settlement.address];
const balanceOf = (a: Address) => m.publicClient.readContract({ address: m.addresses.token, abi: tokenAbi(), functionName: 'balanceOf', args: [a] });
const move = (from: Address, to: Address, wei: bigint): void => {
  expected.set(from.toLowerCase(), expected.get(from.toLowerCase())! - wei);
  expected.set(to.toLowerCase(), expected.get(to.toLowerCase())! + wei);
};

async function checkLedger(): Promise<void> {
  const supply = await m.publicClient.readContract({ address: m.addresses.token, abi: tokenAbi(), functionName: 'totalSupply' });
  const balances = await Promise.all(holders().map(balanceOf));
  expect(supply).toBe(supply0);
  expect(Object.fromEntries(holders().map((h, i) => [h, balances[i]]))).toEqual(Object.fromEntries(holders().map((h) => [h, expected.get(h.toLowerCase())])));
  expect(balances[4]).toBe([...openCosts.values()].reduce((a, b) => a + b, 0n));
}

beforeAll(async () => {
  m = await startMarket();
  supply0 = await m.publicClient.readContract({ address: m.addresses.token, abi: tokenAbi(), functionName: 'totalSupply' });
  for (const h of holders()) expected.set(h.toLowerCase(), await balanceOf(h));
  await checkLedger();
}, 60_000);
afterAll(async () => {
  await m?.stop();
});

async function openJob(over: Partial<OpenComputeContractParams> = {}): Promise<OpenComputeContractParams> {
  const p: OpenComputeContractParams = {
    addresses: m.addresses,
    jobId: nextId('job'),
    requester: m.requester,
    provider: m.provider.address,
    costWei: 5n * AGPU,
    expectedRuntimeSec: 600,
    deadlineSec: (await chainNowSec(m)) + 3_600,
    termsHash: keccak256(stringToBytes('terms')),
    ...over,
  };
  await openComputeContract(m.deployerW, m.publicClient, p);
  move(p.requester.address, m.addresses.escrow, p.costWei);
  openCosts.set(p.jobId, p.costWei);
  await checkLedger();
  return p;
}

async function reassignParams(p: OpenComputeContractParams, over: Partial<ReassignComputeContractParams> = {}): Promise<ReassignComputeContractParams> {
  return { addresses: m.addresses, jobId: p.jobId, attempt: 2, newProvider: m.stranger.address, newCostWei: 4n * AGPU, newDeadlineSec: (await chainNowSec(m)) + 3_600, ...over };
}

/** A reassign through the library, booked in the ledger (the difference back to the requester), checked. */
async function reassign(p: OpenComputeContractParams, over: Partial<ReassignComputeContractParams> = {}) {
  const params = await reassignParams(p, over);
  const r = await reassignComputeContract(m.deployerW, m.publicClient, params);
  if (!r.alreadyApplied) {
    move(m.addresses.escrow, p.requester.address, r.returnedWei);
    openCosts.set(p.jobId, params.newCostWei);
  }
  await checkLedger();
  return { params, r };
}

async function release(p: OpenComputeContractParams, signer: Market['provider']) {
  const resultHash = hash32('result');
  const proofHash = hash32('proof');
  const providerSignature = await signResult(signer, { addresses: m.addresses, chainId: m.chainId, jobId: p.jobId, resultHash, proofHash });
  return releaseComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId, resultHash, proofHash, providerSignature });
}

/** A raw reassign call (not through the idempotent action), simulated only: its revert is the answer. */
function rawReassign(wallet: Market['adminW'], jobId: string, attempt: number, oldTerms: { requester: Address; provider: Address; costWei: bigint }, newTerms: { requester: Address; provider: Address; costWei: bigint }, newDeadline: number) {
  return m.publicClient.simulateContract({ account: wallet.account, address: m.addresses.escrow, abi: escrowAbi(), functionName: 'reassign', args: [jobIdToBytes32(jobId), attempt, oldTerms, newTerms, newDeadline] });
}

describe('reassign', () => {
  it('has the bounds the library and the platform mirror', async () => {
    const read = (functionName: 'MAX_ATTEMPTS_PER_JOB' | 'MAX_ATTEMPT_DEADLINE_SEC') => m.publicClient.readContract({ address: m.addresses.escrow, abi: escrowAbi(), functionName });
    expect(await read('MAX_ATTEMPTS_PER_JOB')).toBe(BigInt(MAX_ATTEMPTS_PER_JOB));
    expect(await read('MAX_ATTEMPT_DEADLINE_SEC')).toBe(BigInt(MAX_ATTEMPT_DEADLINE_SEC));
    expect([LIMITS.jobAttemptsMax, LIMITS.deadlineSecMax]).toEqual([MAX_ATTEMPTS_PER_JOB, MAX_ATTEMPT_DEADLINE_SEC]);
  });

  it('moves the escrow to the new provider: the difference back to the requester, the first provider paid nothing, release pays the new one', async () => {
    const p = await openJob();
    const { params, r } = await reassign(p);
    expect(r).toMatchObject({ alreadyApplied: false, attempt: 2, oldProvider: m.provider.address, newProvider: m.stranger.address, newCostWei: 4n * AGPU, returnedWei: 1n * AGPU, newDeadlineSec: params.newDeadlineSec });
    const receipt = await m.publicClient.getTransactionReceipt({ hash: r.txHash });
    const [ev] = parseEventLogs({ abi: escrowAbi(), logs: receipt.logs, eventName: 'ComputeContractReassigned' });
    expect(ev!.args).toMatchObject({ jobId: jobIdToBytes32(p.jobId), attempt: 2, newProvider: m.stranger.address, newCostWei: 4n * AGPU, returnedWei: 1n * AGPU });
    const job = await readComputeContract(m.publicClient, { addresses: m.addresses, jobId: p.jobId });
    expect(job).toMatchObject({ status: 'open', provider: m.stranger.address, openProvider: m.provider.address, costWei: 4n * AGPU, openCostWei: 5n * AGPU, deadlineSec: params.newDeadlineSec, attempt: 2 });
    expect(await m.publicClient.readContract({ address: m.addresses.escrow, abi: escrowAbi(), functionName: 'attemptOf', args: [jobIdToBytes32(p.jobId)] })).toBe(2n);

    // the first provider's signed result no longer releases anything
    await expectCode(release(p, m.provider), 'InvalidProviderSignature');
    await checkLedger();
    const rel = await release(p, m.stranger);
    expect(rel.amountWei).toBe(4n * AGPU);
    move(m.addresses.escrow, m.stranger.address, 4n * AGPU);
    openCosts.delete(p.jobId);
    await checkLedger();
  });

  it('is idempotent by attempt: a retry moves nothing, the same attempt with other terms is a conflict', async () => {
    const p = await openJob();
    const { params } = await reassign(p, { newCostWei: 5n * AGPU });
    const again = await reassign(p, { newCostWei: 5n * AGPU, newDeadlineSec: params.newDeadlineSec });
    expect(again.r).toMatchObject({ alreadyApplied: true, attempt: 2, returnedWei: 0n });
    await expectCode(reassign(p, { newCostWei: 3n * AGPU }), 'ReassignConflict');
    // the third attempt goes back to the first node's key as a new provider: allowed (it is another than the current)
    const third = await reassign(p, { attempt: 3, newProvider: m.provider.address, newCostWei: 2n * AGPU });
    expect(third.r).toMatchObject({ attempt: 3, returnedWei: 3n * AGPU });
    // bounded: no fourth attempt
    await expectCode(reassign(p, { attempt: 4, newProvider: m.stranger.address, newCostWei: 1n }), 'TooManyAttempts');
    await expectCode(rawReassign(m.deployerW, p.jobId, 4, { requester: p.requester.address, provider: m.provider.address, costWei: 2n * AGPU }, { requester: p.requester.address, provider: m.stranger.address, costWei: 1n }, (await chainNowSec(m)) + 60), 'TooManyAttempts');
    // a refund now returns what the escrow holds: the third attempt's cost
    await advanceTime(m, 3_700);
    const refunded = await refundComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId });
    expect(refunded.amountWei).toBe(2n * AGPU);
    move(m.addresses.escrow, p.requester.address, 2n * AGPU);
    openCosts.delete(p.jobId);
    await checkLedger();
    // the requester paid 5 in all and got 5 back: never charged twice
  });

  it('refuses what the rules do not allow, moving nothing', async () => {
    const p = await openJob();
    const now = await chainNowSec(m);
    const old = { requester: p.requester.address, provider: p.provider, costWei: p.costWei };
    const to = (over: Partial<typeof old> = {}) => ({ ...old, provider: m.stranger.address, ...over });
    await expectCode(rawReassign(m.strangerW, p.jobId, 2, old, to(), now + 60), 'AccessControlUnauthorizedAccount');
    await expectCode(rawReassign(m.settlementW, p.jobId, 2, old, to(), now + 60), 'AccessControlUnauthorizedAccount');
    await expectCode(rawReassign(m.deployerW, p.jobId, 3, old, to(), now + 60), 'AttemptOutOfOrder');
    await expectCode(rawReassign(m.deployerW, p.jobId, 2, { ...old, costWei: 1n }, to(), now + 60), 'TermsMismatch');
    await expectCode(rawReassign(m.deployerW, p.jobId, 2, old, to({ requester: m.requester2.address }), now + 60), 'RequesterChanged');
    await expectCode(rawReassign(m.deployerW, p.jobId, 2, old, to({ provider: p.provider }), now + 60), 'SameProvider');
    await expectCode(rawReassign(m.deployerW, p.jobId, 2, old, to({ costWei: 0n }), now + 60), 'ZeroCost');
    await expectCode(rawReassign(m.deployerW, p.jobId, 2, old, to({ costWei: p.costWei + 1n }), now + 60), 'CostAboveEscrow');
    await expectCode(rawReassign(m.deployerW, p.jobId, 2, old, to(), now - 1), 'DeadlineInPast');
    await expectCode(rawReassign(m.deployerW, p.jobId, 2, old, to(), now + MAX_ATTEMPT_DEADLINE_SEC + 3_600), 'DeadlineAboveBound');
    await expectCode(rawReassign(m.deployerW, nextId('unknown'), 2, old, to(), now + 60), 'UnknownJob');
    for (const code of ['AttemptOutOfOrder', 'TermsMismatch', 'RequesterChanged', 'SameProvider', 'CostAboveEscrow', 'DeadlineAboveBound', 'UnknownJob']) expect(REASSIGN_REJECTION_CODES.has(code)).toBe(true);
    await checkLedger();

    // disputed: no move (the job is being decided)
    await disputeComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId, reasonHash: hash32('why') });
    await expectCode(reassign(p), 'NotOpen');
    const refunded = await refundComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId });
    move(m.addresses.escrow, p.requester.address, refunded.amountWei);
    openCosts.delete(p.jobId);
    await checkLedger();
    // settled: no move
    await expectCode(reassign(p), 'NotOpen');

    // past the deadline: refunded instead
    const late = await openJob({ deadlineSec: (await chainNowSec(m)) + 60 });
    await advanceTime(m, 120);
    await expectCode(reassign(late, { newDeadlineSec: (await chainNowSec(m)) + 3_600 }), 'DeadlinePassed');
    await checkLedger();
  });
});
