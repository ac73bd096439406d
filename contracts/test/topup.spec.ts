/**
 * Escrow top-ups (issue 16), tested like a ledger: after every step the total supply is the sum of
 * every holder's balance and never moves, every holder holds what the ledger says, and the escrow
 * holds exactly the open jobs' costs (each job's open cost plus its top-ups).
 */
import { keccak256, parseEventLogs, stringToBytes, zeroHash, type Address, type Hex } from 'viem';
import {
  artifacts,
  disputeComputeContract,
  idToBytes32,
  jobIdToBytes32,
  MAX_TOP_UP_EXTENSION_SEC,
  MAX_TOP_UPS_PER_JOB,
  MAX_TOTAL_EXTENSION_SEC,
  openComputeContract,
  permitNonce,
  readComputeContract,
  readContractRunway,
  refundComputeContract,
  releaseComputeContract,
  signPermit,
  signResult,
  slashStake,
  stakeAgpu,
  topUpComputeContract,
  TOP_UP_REJECTION_CODES,
  type OpenComputeContractParams,
  type PermitSig,
  type TopUpComputeContractParams,
} from '@starminer/chain';
import { CONTRACT_TOP_UPS_MAX, TOP_UP_EXTENSION_SEC_MAX, TOP_UPS_EXTENSION_SEC_MAX } from '@starminer/domain';
import { AGPU, PUBLIC_REFUND_DELAY_SEC, advanceTime, chainNowSec, expectCode, hash32, startMarket, type Market } from './fixture';

let m: Market;
let seq = 0;
const nextId = (label: string): string => `${label}-${Date.now()}-${++seq}`;
const escrowAbi = () => artifacts().ComputeEscrow.abi;
const tokenAbi = () => artifacts().AgpuToken.abi;

/** What every holder must hold, and what each open job holds in the escrow. */
const expected = new Map<string, bigint>();
const openCosts = new Map<string, bigint>();
let supply0: bigint;
const holders = (): Address[] => [
  m.requester.address,
  m.requester2.address,
  m.provider.address,
  m.stranger.address,
  m.addresses.escrow,
  m.addresses.staking!,
  m.addresses.vaults!,
  m.admin.address,
  m.deployer.address,
  m.settlement.address,
  m.minter.address,
];
const balanceOf = (a: Address) => m.publicClient.readContract({ address: m.addresses.token, abi: tokenAbi(), functionName: 'balanceOf', args: [a] });
const move = (from: Address, to: Address, wei: bigint): void => {
  expected.set(from.toLowerCase(), expected.get(from.toLowerCase())! - wei);
  expected.set(to.toLowerCase(), expected.get(to.toLowerCase())! + wei);
};

/** The ledger holds: conservation of the supply, every balance as booked, the escrow == the open jobs' costs. */
async function checkLedger(): Promise<void> {
  const supply = await m.publicClient.readContract({ address: m.addresses.token, abi: tokenAbi(), functionName: 'totalSupply' });
  const balances = await Promise.all(holders().map(balanceOf));
  expect(supply).toBe(supply0);
  expect(balances.reduce((a, b) => a + b, 0n)).toBe(supply);
  expect(Object.fromEntries(holders().map((h, i) => [h, balances[i]]))).toEqual(Object.fromEntries(holders().map((h) => [h, expected.get(h.toLowerCase())])));
  expect(balances[4]).toBe([...openCosts.values()].reduce((a, b) => a + b, 0n));
}

beforeAll(async () => {
  m = await startMarket();
  // the provider stakes for the slash case below; minted before the ledger starts
  const { mintAgpu } = await import('@starminer/chain');
  await mintAgpu(m.minterW, m.publicClient, { token: m.addresses.token, to: m.provider.address, amountWei: 10n * AGPU });
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

function topUpParams(p: OpenComputeContractParams, over: Partial<TopUpComputeContractParams> = {}): TopUpComputeContractParams {
  return { addresses: m.addresses, jobId: p.jobId, topUpId: nextId('topup'), requester: p.requester, extraCostWei: 2n * AGPU, extraRuntimeSec: 1_800, ...over };
}

/** A top-up through the library, booked in the ledger, checked. */
async function topUp(p: OpenComputeContractParams, over: Partial<TopUpComputeContractParams> = {}) {
  const params = topUpParams(p, over);
  const r = await topUpComputeContract(m.deployerW, m.publicClient, params);
  if (!r.alreadyApplied) {
    move(p.requester.address, m.addresses.escrow, params.extraCostWei);
    openCosts.set(p.jobId, openCosts.get(p.jobId)! + params.extraCostWei);
  }
  await checkLedger();
  return { params, r };
}

async function release(p: OpenComputeContractParams) {
  const resultHash = hash32('result');
  const proofHash = hash32('proof');
  const providerSignature = await signResult(m.provider, { addresses: m.addresses, chainId: m.chainId, jobId: p.jobId, resultHash, proofHash });
  const r = await releaseComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId, resultHash, proofHash, providerSignature });
  move(m.addresses.escrow, m.provider.address, openCosts.get(p.jobId)!);
  openCosts.delete(p.jobId);
  await checkLedger();
  return r;
}

async function refund(p: OpenComputeContractParams) {
  const r = await refundComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId });
  move(m.addresses.escrow, p.requester.address, openCosts.get(p.jobId)!);
  openCosts.delete(p.jobId);
  await checkLedger();
  return r;
}

const NO_PERMIT: PermitSig = { deadline: 0n, v: 0, r: zeroHash, s: zeroHash };

/** A raw topUp call by one wallet (not through the idempotent action). */
async function rawTopUp(
  wallet: Market['adminW'],
  a: { jobId: string; topUpId: string; terms: { requester: Address; provider: Address; costWei: bigint }; extraCostWei: bigint; extraRuntimeSec: number; permit?: PermitSig },
): Promise<Hex> {
  const { request } = await m.publicClient.simulateContract({
    account: wallet.account,
    address: m.addresses.escrow,
    abi: escrowAbi(),
    functionName: 'topUp',
    args: [jobIdToBytes32(a.jobId), a.topUpId === '' ? zeroHash : idToBytes32(a.topUpId), a.terms, a.extraCostWei, a.extraRuntimeSec, a.permit ?? NO_PERMIT],
  });
  return wallet.writeContract(request);
}

const termsNow = async (p: OpenComputeContractParams) => {
  const job = await readComputeContract(m.publicClient, { addresses: m.addresses, jobId: p.jobId });
  return { requester: job.requester, provider: job.provider, costWei: job.costWei };
};

/** An allowance of the requester to the escrow, set by its own (relayed) permit, for the raw calls. */
async function allow(owner: Market['requester'], wei: bigint): Promise<void> {
  const permit = await signPermit(owner, { token: m.addresses.token, chainId: m.chainId, spender: m.addresses.escrow, valueWei: wei, nonce: await permitNonce(m.publicClient, m.addresses.token, owner.address), deadlineSec: BigInt((await chainNowSec(m)) + 3_600) });
  const hash = await m.strangerW.writeContract({ address: m.addresses.token, abi: tokenAbi(), functionName: 'permit', args: [owner.address, m.addresses.escrow, wei, permit.deadline, permit.v, permit.r, permit.s] });
  await m.publicClient.waitForTransactionReceipt({ hash });
}

describe('topUp', () => {
  it('has the bounds the library and the domain mirror', async () => {
    const read = (functionName: 'MAX_TOP_UP_EXTENSION_SEC' | 'MAX_TOTAL_EXTENSION_SEC' | 'MAX_TOP_UPS_PER_JOB') => m.publicClient.readContract({ address: m.addresses.escrow, abi: escrowAbi(), functionName });
    expect(await read('MAX_TOP_UP_EXTENSION_SEC')).toBe(BigInt(MAX_TOP_UP_EXTENSION_SEC));
    expect(await read('MAX_TOTAL_EXTENSION_SEC')).toBe(BigInt(MAX_TOTAL_EXTENSION_SEC));
    expect(await read('MAX_TOP_UPS_PER_JOB')).toBe(BigInt(MAX_TOP_UPS_PER_JOB));
    expect([TOP_UP_EXTENSION_SEC_MAX, TOP_UPS_EXTENSION_SEC_MAX, CONTRACT_TOP_UPS_MAX]).toEqual([MAX_TOP_UP_EXTENSION_SEC, MAX_TOTAL_EXTENSION_SEC, MAX_TOP_UPS_PER_JOB]);
  });

  it('moves exactly the extra cost from the requester into the escrow, moves the deadline, and release pays the provider the total', async () => {
    const p = await openJob();
    const { params, r } = await topUp(p);
    expect(r).toMatchObject({ alreadyApplied: false, extraCostWei: 2n * AGPU, extraRuntimeSec: 1_800, newCostWei: 7n * AGPU, newDeadlineSec: p.deadlineSec + 1_800, jobKey: jobIdToBytes32(p.jobId), topUpKey: idToBytes32(params.topUpId) });
    const receipt = await m.publicClient.getTransactionReceipt({ hash: r.txHash });
    const [ev] = parseEventLogs({ abi: escrowAbi(), logs: receipt.logs, eventName: 'ComputeContractToppedUp' });
    expect(ev!.args).toMatchObject({ jobId: jobIdToBytes32(p.jobId), topUpId: idToBytes32(params.topUpId), extraCostWei: 2n * AGPU, newCostWei: 7n * AGPU, extraRuntimeSec: 1_800, newDeadline: p.deadlineSec + 1_800 });
    expect(Number(ev!.args.toppedUpAt)).toBe(r.toppedUpAtSec);
    const job = await readComputeContract(m.publicClient, { addresses: m.addresses, jobId: p.jobId });
    expect(job).toMatchObject({ status: 'open', costWei: 7n * AGPU, openCostWei: 5n * AGPU, deadlineSec: p.deadlineSec + 1_800, openDeadlineSec: p.deadlineSec, topUpCount: 1 });

    // a second top-up adds to the first
    const second = await topUp(p, { extraCostWei: 1n, extraRuntimeSec: 60 });
    expect(second.r).toMatchObject({ newCostWei: 7n * AGPU + 1n, newDeadlineSec: p.deadlineSec + 1_860 });
    const runway = await readContractRunway(m.publicClient, { addresses: m.addresses, jobId: p.jobId });
    expect(runway).toMatchObject({ status: 'open', deadlineSec: p.deadlineSec + 1_860, runwaySec: p.deadlineSec + 1_860 - runway.blockTimeSec, extendedSec: 1_860, extensionLeftSec: MAX_TOTAL_EXTENSION_SEC - 1_860, topUps: 2, topUpsLeft: MAX_TOP_UPS_PER_JOB - 2 });

    // the old terms no longer settle: release restates the total
    await expectCode(
      m.publicClient.simulateContract({ account: m.settlementW.account, address: m.addresses.escrow, abi: escrowAbi(), functionName: 'refund', args: [jobIdToBytes32(p.jobId), { requester: p.requester.address, provider: p.provider, costWei: p.costWei }] }),
      'TermsMismatch',
    );
    const rel = await release(p);
    expect(rel).toMatchObject({ status: 'released', amountWei: 7n * AGPU + 1n });
    expect((await readContractRunway(m.publicClient, { addresses: m.addresses, jobId: p.jobId })).runwaySec).toBe(0);
    // a retried open of the same job is still the same deal (its open cost), not a conflict
    expect((await openComputeContract(m.deployerW, m.publicClient, p)).alreadyOpen).toBe(true);
  });

  it('refund returns the total, only after the moved deadline', async () => {
    const p = await openJob({ deadlineSec: (await chainNowSec(m)) + 100 });
    await topUp(p, { extraCostWei: 3n * AGPU, extraRuntimeSec: 500 });
    await advanceTime(m, 101); // past the open's deadline, before the new one
    await expectCode(refundComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId }), 'DeadlineNotReached');
    await checkLedger();
    await advanceTime(m, 500);
    const r = await refund(p);
    expect(r).toMatchObject({ status: 'refunded', amountWei: 8n * AGPU });
  });

  it('pays a top-up id once: a retry pays nothing, the id cannot pay for another job or other amounts', async () => {
    const p = await openJob();
    const first = await topUp(p);
    const again = await topUp(p, { topUpId: first.params.topUpId });
    expect(again.r).toMatchObject({ alreadyApplied: true, txHash: first.r.txHash, blockNumber: first.r.blockNumber, newCostWei: first.r.newCostWei, newDeadlineSec: first.r.newDeadlineSec });
    // the raw call: the chain itself refuses the id again (the allowance is there, so only the id stops it)
    await allow(p.requester, 2n * AGPU);
    await expectCode(rawTopUp(m.deployerW, { jobId: p.jobId, topUpId: first.params.topUpId, terms: await termsNow(p), extraCostWei: 2n * AGPU, extraRuntimeSec: 1_800 }), 'TopUpIdUsed');
    await expectCode(topUpComputeContract(m.deployerW, m.publicClient, topUpParams(p, { topUpId: first.params.topUpId, extraCostWei: 3n * AGPU })), 'TopUpIdConflict');
    const q = await openJob();
    await expectCode(topUpComputeContract(m.deployerW, m.publicClient, topUpParams(q, { topUpId: first.params.topUpId })), 'TopUpIdConflict');
    await expectCode(rawTopUp(m.deployerW, { jobId: q.jobId, topUpId: first.params.topUpId, terms: await termsNow(q), extraCostWei: 2n * AGPU, extraRuntimeSec: 1_800 }), 'TopUpIdUsed');
    const paidInto = await m.publicClient.readContract({ address: m.addresses.escrow, abi: escrowAbi(), functionName: 'topUpJobOf', args: [idToBytes32(first.params.topUpId)] });
    expect(paidInto).toBe(jobIdToBytes32(p.jobId));
    await checkLedger();
    await release(p);
    await release(q);
  });

  it('two relayers racing with the same top-up id: one pays, the other answers the same top-up', async () => {
    // a second relayer: the admin, given the deployer role (two wallets, so the race is on chain, not in a nonce)
    const role = await m.publicClient.readContract({ address: m.addresses.escrow, abi: escrowAbi(), functionName: 'DEPLOYER_ROLE' });
    await m.publicClient.waitForTransactionReceipt({ hash: await m.adminW.writeContract({ address: m.addresses.escrow, abi: escrowAbi(), functionName: 'grantRole', args: [role, m.admin.address] }) });
    const p = await openJob();
    const params = topUpParams(p);
    const [a, b] = await Promise.all([topUpComputeContract(m.deployerW, m.publicClient, params), topUpComputeContract(m.adminW, m.publicClient, params)]);
    expect([a.alreadyApplied, b.alreadyApplied].sort()).toEqual([false, true]);
    expect(a.txHash).toBe(b.txHash);
    move(p.requester.address, m.addresses.escrow, params.extraCostWei);
    openCosts.set(p.jobId, p.costWei + params.extraCostWei);
    await checkLedger();
    await release(p);
  });

  it('reverts after release, after refund, while disputed, after the deadline; takes one at the deadline second itself', async () => {
    const released = await openJob();
    await release(released);
    await expectCode(topUpComputeContract(m.deployerW, m.publicClient, topUpParams(released)), 'NotOpen');
    await expectCode(rawTopUp(m.deployerW, { jobId: released.jobId, topUpId: nextId('t'), terms: await termsNow(released), extraCostWei: 1n, extraRuntimeSec: 1 }), 'NotOpen');

    const refunded = await openJob({ deadlineSec: (await chainNowSec(m)) + 50 });
    await advanceTime(m, 51);
    await expectCode(rawTopUp(m.deployerW, { jobId: refunded.jobId, topUpId: nextId('t'), terms: await termsNow(refunded), extraCostWei: 1n, extraRuntimeSec: 1 }), 'DeadlinePassed');
    await expectCode(topUpComputeContract(m.deployerW, m.publicClient, topUpParams(refunded)), 'DeadlinePassed');
    await refund(refunded);
    await expectCode(rawTopUp(m.deployerW, { jobId: refunded.jobId, topUpId: nextId('t'), terms: await termsNow(refunded), extraCostWei: 1n, extraRuntimeSec: 1 }), 'NotOpen');

    const disputed = await openJob();
    await disputeComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: disputed.jobId, reasonHash: hash32('why') });
    await expectCode(topUpComputeContract(m.deployerW, m.publicClient, topUpParams(disputed)), 'NotOpen');
    await expectCode(rawTopUp(m.deployerW, { jobId: disputed.jobId, topUpId: nextId('t'), terms: await termsNow(disputed), extraCostWei: 1n, extraRuntimeSec: 1 }), 'NotOpen');
    expect((await readContractRunway(m.publicClient, { addresses: m.addresses, jobId: disputed.jobId })).runwaySec).toBe(0);
    await refund(disputed);

    await expectCode(topUpComputeContract(m.deployerW, m.publicClient, topUpParams({ ...disputed, jobId: 'never-opened' })), 'UnknownJob');
    await expectCode(rawTopUp(m.deployerW, { jobId: 'never-opened', topUpId: nextId('t'), terms: await termsNow(disputed), extraCostWei: 1n, extraRuntimeSec: 1 }), 'UnknownJob');

    // the deadline second itself: still in time (the settlement refund starts one second later)
    const edge = await openJob();
    await allow(edge.requester, AGPU);
    await m.testClient.setNextBlockTimestamp({ timestamp: BigInt(edge.deadlineSec) });
    const hash = await m.deployerW.writeContract({
      address: m.addresses.escrow,
      abi: escrowAbi(),
      functionName: 'topUp',
      args: [jobIdToBytes32(edge.jobId), idToBytes32(nextId('edge')), { requester: edge.requester.address, provider: edge.provider, costWei: edge.costWei }, AGPU, 60, NO_PERMIT],
      gas: 300_000n,
    });
    expect((await m.publicClient.waitForTransactionReceipt({ hash })).status).toBe('success');
    move(edge.requester.address, m.addresses.escrow, AGPU);
    openCosts.set(edge.jobId, edge.costWei + AGPU);
    await checkLedger();
    await release(edge);
  });

  it('holds its bounds: per top-up, in total, in number; zero amounts and a zero id refused', async () => {
    const p = await openJob();
    const raw = async (extraCostWei: bigint, extraRuntimeSec: number, topUpId = nextId('t')) =>
      rawTopUp(m.deployerW, { jobId: p.jobId, topUpId, terms: await termsNow(p), extraCostWei, extraRuntimeSec });
    await allow(p.requester, 10n ** 30n); // enough that only the bounds stop the calls below
    await expectCode(raw(1n, MAX_TOP_UP_EXTENSION_SEC + 1), 'ExtensionAboveBound');
    await expectCode(topUpComputeContract(m.deployerW, m.publicClient, topUpParams(p, { extraRuntimeSec: MAX_TOP_UP_EXTENSION_SEC + 1 })), 'ExtensionAboveBound');
    await expectCode(raw(1n, 0), 'ZeroExtension');
    await expectCode(raw(0n, 60), 'ZeroCost');
    await expectCode(raw(1n, 60, ''), 'ZeroTopUpId');
    // four full weeks, then what is left of the total and not a second more
    for (let i = 0; i < 4; i++) await topUp(p, { extraCostWei: 1n, extraRuntimeSec: MAX_TOP_UP_EXTENSION_SEC, useAllowance: true });
    const left = MAX_TOTAL_EXTENSION_SEC - 4 * MAX_TOP_UP_EXTENSION_SEC;
    await expectCode(raw(1n, left + 1), 'TotalExtensionAboveBound');
    await topUp(p, { extraCostWei: 1n, extraRuntimeSec: left, useAllowance: true });
    await expectCode(raw(1n, 1), 'TotalExtensionAboveBound');
    const ext = await m.publicClient.readContract({ address: m.addresses.escrow, abi: escrowAbi(), functionName: 'extensionOf', args: [jobIdToBytes32(p.jobId)] });
    expect(ext).toEqual({ extendedSec: MAX_TOTAL_EXTENSION_SEC, topUps: 5 });
    expect((await readComputeContract(m.publicClient, { addresses: m.addresses, jobId: p.jobId })).deadlineSec).toBe(p.deadlineSec + MAX_TOTAL_EXTENSION_SEC);
    await release(p);

    // at most MAX_TOP_UPS_PER_JOB top-ups of one job
    const q = await openJob();
    await allow(q.requester, 10n ** 30n);
    for (let i = 0; i < MAX_TOP_UPS_PER_JOB; i++) await topUp(q, { extraCostWei: 1n, extraRuntimeSec: 1, useAllowance: true });
    await expectCode(rawTopUp(m.deployerW, { jobId: q.jobId, topUpId: nextId('t'), terms: await termsNow(q), extraCostWei: 1n, extraRuntimeSec: 1 }), 'TooManyTopUps');
    expect((await readComputeContract(m.publicClient, { addresses: m.addresses, jobId: q.jobId })).topUpCount).toBe(MAX_TOP_UPS_PER_JOB);
    await release(q);
    // leave no allowance behind for the specs below
    await allow(p.requester, 0n);
  }, 120_000);

  it('refuses stale or foreign terms, a forged permit, a requester who cannot pay, and callers without DEPLOYER_ROLE', async () => {
    const p = await openJob();
    await topUp(p);
    const stale = { requester: p.requester.address, provider: p.provider, costWei: p.costWei };
    await allow(p.requester, AGPU);
    await expectCode(rawTopUp(m.deployerW, { jobId: p.jobId, topUpId: nextId('t'), terms: stale, extraCostWei: AGPU, extraRuntimeSec: 60 }), 'TermsMismatch');
    await expectCode(rawTopUp(m.deployerW, { jobId: p.jobId, topUpId: nextId('t'), terms: { ...(await termsNow(p)), requester: m.requester2.address }, extraCostWei: AGPU, extraRuntimeSec: 60 }), 'TermsMismatch');
    await allow(p.requester, 0n);
    await expectCode(topUpComputeContract(m.deployerW, m.publicClient, topUpParams(p, { requester: m.requester2 })), 'RequesterMismatch');
    const forged = await signPermit(m.stranger, { token: m.addresses.token, chainId: m.chainId, spender: m.addresses.escrow, valueWei: AGPU, nonce: 0n, deadlineSec: BigInt(p.deadlineSec) });
    const err = await expectCode(rawTopUp(m.deployerW, { jobId: p.jobId, topUpId: nextId('t'), terms: await termsNow(p), extraCostWei: AGPU, extraRuntimeSec: 60, permit: forged }), 'PermitFailed');
    expect(err.args[3]).toBe(AGPU);
    await expectCode(topUpComputeContract(m.deployerW, m.publicClient, topUpParams(p, { useAllowance: true })), 'ERC20InsufficientAllowance');
    await expectCode(topUpComputeContract(m.deployerW, m.publicClient, topUpParams(p, { extraCostWei: 1_000_000n * AGPU })), 'ERC20InsufficientBalance');
    await expectCode(topUpComputeContract(m.strangerW, m.publicClient, topUpParams(p)), 'AccessControlUnauthorizedAccount');
    await expectCode(topUpComputeContract(m.settlementW, m.publicClient, topUpParams(p)), 'AccessControlUnauthorizedAccount');
    for (const code of ['TopUpIdConflict', 'NotOpen', 'DeadlinePassed', 'TotalExtensionAboveBound', 'TooManyTopUps', 'PermitFailed']) expect(TOP_UP_REJECTION_CODES.has(code)).toBe(true);
    await checkLedger();
    await release(p);
  });

  it('a slash of a topped-up job restates the total and is bounded by it (slashing rules unchanged)', async () => {
    await stakeAgpu(m.deployerW, m.publicClient, { addresses: m.addresses, poolId: 'pool-topup', staker: m.provider, amountWei: 10n * AGPU });
    move(m.provider.address, m.addresses.staking!, 10n * AGPU);
    await checkLedger();
    const p = await openJob({ costWei: 2n * AGPU, deadlineSec: (await chainNowSec(m)) + 50 });
    await topUp(p, { extraCostWei: 3n * AGPU, extraRuntimeSec: 10 });
    await advanceTime(m, 61);
    await refund(p);
    await expectCode(slashStake(m.settlementW, m.publicClient, { addresses: m.addresses, poolId: 'pool-topup', jobId: p.jobId, amountWei: 5n * AGPU + 1n }), 'SlashAboveBound');
    await slashStake(m.settlementW, m.publicClient, { addresses: m.addresses, poolId: 'pool-topup', jobId: p.jobId, amountWei: 5n * AGPU });
    move(m.addresses.staking!, p.requester.address, 5n * AGPU);
    await checkLedger();
  });

  it('lets anyone refund the total after the moved deadline + the public delay, to the requester only', async () => {
    const p = await openJob({ requester: m.requester2, deadlineSec: (await chainNowSec(m)) + 50 });
    await topUp(p, { extraCostWei: AGPU, extraRuntimeSec: 100 });
    await advanceTime(m, 151 + PUBLIC_REFUND_DELAY_SEC - 100);
    await expectCode(refundComputeContract(m.strangerW, m.publicClient, { addresses: m.addresses, jobId: p.jobId }), 'DeadlineNotReached');
    await advanceTime(m, 100);
    await refundComputeContract(m.strangerW, m.publicClient, { addresses: m.addresses, jobId: p.jobId });
    move(m.addresses.escrow, p.requester.address, 6n * AGPU);
    openCosts.delete(p.jobId);
    await checkLedger();
  });
});
