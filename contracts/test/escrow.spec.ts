import { keccak256, parseEventLogs, stringToBytes, type Hex, type LocalAccount } from 'viem';
import {
  agpuBalance,
  artifacts,
  disputeComputeContract,
  jobIdToBytes32,
  openComputeContract,
  openComputeContractsBatch,
  readComputeContract,
  recoverResultSigner,
  refundComputeContract,
  releaseComputeContract,
  releaseComputeContractsBatch,
  signPermit,
  signResult,
  permitNonce,
  type OpenComputeContractParams,
  type ReleaseBatchItem,
} from '@starminer/chain';
import { AGPU, DISPUTE_WINDOW_SEC, PUBLIC_REFUND_DELAY_SEC, advanceTime, chainNowSec, expectCode, hash32, startMarket, type Market } from './fixture';

let m: Market;
let seq = 0;
const nextJobId = (): string => `job-${Date.now()}-${++seq}`;

beforeAll(async () => {
  m = await startMarket();
}, 60_000);
afterAll(async () => {
  await m?.stop();
});

async function openParams(over: Partial<OpenComputeContractParams> = {}): Promise<OpenComputeContractParams> {
  return {
    addresses: m.addresses,
    jobId: nextJobId(),
    requester: m.requester,
    provider: m.provider.address,
    costWei: 5n * AGPU,
    expectedRuntimeSec: 600,
    deadlineSec: (await chainNowSec(m)) + 3_600,
    termsHash: keccak256(stringToBytes('terms')),
    ...over,
  };
}

async function openJob(over: Partial<OpenComputeContractParams> = {}) {
  const p = await openParams(over);
  const r = await openComputeContract(m.deployerW, m.publicClient, p);
  return { p, r };
}

const termsOfP = (p: OpenComputeContractParams) => ({ requester: p.requester.address, provider: p.provider, costWei: p.costWei });

async function sign(jobId: string, resultHash: Hex = hash32('result'), proofHash: Hex = hash32('proof')) {
  return signResult(m.provider, { addresses: m.addresses, chainId: m.chainId, jobId, resultHash, proofHash });
}

/** A raw contract call (not through the idempotent lib actions) from one wallet. */
async function call(wallet: Market['adminW'], functionName: string, args: readonly unknown[]) {
  const { request } = await m.publicClient.simulateContract({
    account: wallet.account,
    address: m.addresses.escrow,
    abi: artifacts().ComputeEscrow.abi,
    functionName: functionName as 'refund',
    args: args as [Hex, { requester: Hex; provider: Hex; costWei: bigint }],
  });
  return wallet.writeContract(request);
}

describe('AgpuToken', () => {
  const tokenAbi = () => artifacts().AgpuToken.abi;

  it('has 18 decimals, a cap, and mints only by the minter, under the cap', async () => {
    const decimals = await m.publicClient.readContract({ address: m.addresses.token, abi: tokenAbi(), functionName: 'decimals' });
    expect(decimals).toBe(18);
    const cap = await m.publicClient.readContract({ address: m.addresses.token, abi: tokenAbi(), functionName: 'cap' });
    const supply = await m.publicClient.readContract({ address: m.addresses.token, abi: tokenAbi(), functionName: 'totalSupply' });
    const { mintAgpu } = await import('@starminer/chain');
    await expectCode(mintAgpu(m.strangerW, m.publicClient, { token: m.addresses.token, to: m.stranger.address, amountWei: 1n }), 'AccessControlUnauthorizedAccount');
    await expectCode(mintAgpu(m.minterW, m.publicClient, { token: m.addresses.token, to: m.stranger.address, amountWei: cap - supply + 1n }), 'ERC20ExceededCap');
    await mintAgpu(m.minterW, m.publicClient, { token: m.addresses.token, to: m.stranger.address, amountWei: 7n });
    expect(await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.stranger.address })).toBe(7n);
  });

  it('refuses a zero cap and zero role addresses', async () => {
    const { deployContract } = await import('@starminer/chain');
    await expectCode(deployContract(m.adminW, m.publicClient, artifacts().AgpuToken, [m.admin.address, m.minter.address, 0n], 'AgpuToken'), 'ERC20InvalidCap');
    await expectCode(
      deployContract(m.adminW, m.publicClient, artifacts().AgpuToken, ['0x0000000000000000000000000000000000000000', m.minter.address, 1n], 'AgpuToken'),
      'ZeroAddress',
    );
  });
});

describe('open', () => {
  it('escrows the cost from the requester with one permit transaction and records the job', async () => {
    const before = await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.requester.address });
    const { p, r } = await openJob();
    expect(r.alreadyOpen).toBe(false);
    expect(r.contractAddress).toBe(m.addresses.escrow);
    expect(await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.requester.address })).toBe(before - p.costWei);
    const job = await readComputeContract(m.publicClient, { addresses: m.addresses, jobId: p.jobId });
    expect(job).toMatchObject({ status: 'open', requester: m.requester.address, provider: m.provider.address, costWei: p.costWei, deadlineSec: p.deadlineSec, expectedRuntimeSec: 600, termsHash: p.termsHash, openTxHash: r.txHash, openBlockNumber: r.blockNumber });
    expect((await readComputeContract(m.publicClient, { addresses: m.addresses, jobId: 'never-opened' })).status).toBe('none');
    const receipt = await m.publicClient.getTransactionReceipt({ hash: r.txHash! });
    const [opened] = parseEventLogs({ abi: artifacts().ComputeEscrow.abi, logs: receipt.logs, eventName: 'ComputeContractOpened' });
    expect(opened!.args).toMatchObject({ jobId: jobIdToBytes32(p.jobId), termsHash: p.termsHash, costWei: p.costWei, deadline: p.deadlineSec });
  });

  it('is idempotent: a retried open sends nothing and moves nothing', async () => {
    const { p } = await openJob();
    const before = await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.requester.address });
    const again = await openComputeContract(m.deployerW, m.publicClient, p);
    expect(again).toMatchObject({ alreadyOpen: true, txHash: null, blockNumber: null });
    expect(await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.requester.address })).toBe(before);
  });

  it('reports a job id reused with different terms as JobIdConflict', async () => {
    const { p } = await openJob();
    await expectCode(openComputeContract(m.deployerW, m.publicClient, { ...p, costWei: p.costWei + 1n }), 'JobIdConflict');
  });

  it('reverts JobAlreadyExists when the contract itself is asked twice', async () => {
    const { p } = await openJob();
    const raw = { jobId: jobIdToBytes32(p.jobId), requester: p.requester.address, provider: p.provider, costWei: p.costWei, expectedRuntimeSec: 1, deadline: p.deadlineSec, termsHash: p.termsHash };
    await expectCode(call(m.deployerW, 'open', [raw]), 'JobAlreadyExists');
  });

  it('opens through an existing allowance too', async () => {
    const requester = m.requester2;
    const p = await openParams({ requester, useAllowance: true });
    // A front-run permit (or an approve) leaves an allowance behind: the plain open path uses it.
    const permit = await signPermit(requester, { token: m.addresses.token, chainId: m.chainId, spender: m.addresses.escrow, valueWei: p.costWei, nonce: await permitNonce(m.publicClient, m.addresses.token, requester.address), deadlineSec: BigInt(p.deadlineSec) });
    await m.strangerW.writeContract({ address: m.addresses.token, abi: artifacts().AgpuToken.abi, functionName: 'permit', args: [requester.address, m.addresses.escrow, p.costWei, permit.deadline, permit.v, permit.r, permit.s] });
    const r = await openComputeContract(m.deployerW, m.publicClient, p);
    expect(r.alreadyOpen).toBe(false);
  });

  it('still opens when someone front-ran the permit (the allowance is there)', async () => {
    const p = await openParams();
    const permit = await signPermit(m.requester, { token: m.addresses.token, chainId: m.chainId, spender: m.addresses.escrow, valueWei: p.costWei, nonce: await permitNonce(m.publicClient, m.addresses.token, m.requester.address), deadlineSec: BigInt(p.deadlineSec) });
    await m.strangerW.writeContract({ address: m.addresses.token, abi: artifacts().AgpuToken.abi, functionName: 'permit', args: [m.requester.address, m.addresses.escrow, p.costWei, permit.deadline, permit.v, permit.r, permit.s] });
    const raw = { jobId: jobIdToBytes32(p.jobId), requester: m.requester.address, provider: p.provider, costWei: p.costWei, expectedRuntimeSec: 1, deadline: p.deadlineSec, termsHash: p.termsHash };
    await call(m.deployerW, 'openWithPermit', [raw, permit]); // the same permit again: its nonce is used, the call still succeeds
    expect((await readComputeContract(m.publicClient, { addresses: m.addresses, jobId: p.jobId })).status).toBe('open');
  });

  it('reverts PermitFailed when the permit is not the requester\'s', async () => {
    const p = await openParams();
    const forged = await signPermit(m.stranger, { token: m.addresses.token, chainId: m.chainId, spender: m.addresses.escrow, valueWei: p.costWei, nonce: 0n, deadlineSec: BigInt(p.deadlineSec) });
    const raw = { jobId: jobIdToBytes32(p.jobId), requester: m.requester.address, provider: p.provider, costWei: p.costWei, expectedRuntimeSec: 1, deadline: p.deadlineSec, termsHash: p.termsHash };
    const err = await expectCode(call(m.deployerW, 'openWithPermit', [raw, forged]), 'PermitFailed');
    expect(err.args[3]).toBe(p.costWei);
  });

  it('reverts ERC20InsufficientAllowance without permit or allowance', async () => {
    await expectCode(openJob({ useAllowance: true, costWei: 123n }), 'ERC20InsufficientAllowance');
  });

  it('reverts ERC20InsufficientBalance when the requester cannot pay', async () => {
    await expectCode(openJob({ costWei: 1_000_000n * AGPU }), 'ERC20InsufficientBalance');
  });

  it('refuses a deadline in the past, a zero cost, zero addresses, a zero job id, and a caller without DEPLOYER_ROLE', async () => {
    const now = await chainNowSec(m);
    await expectCode(openJob({ deadlineSec: now - 1 }), 'DeadlineInPast');
    await expectCode(openJob({ provider: '0x0000000000000000000000000000000000000000' }), 'ZeroAddress');
    await expectCode(openJob({ costWei: 0n }), 'CostOutOfRange'); // refused before the chain
    const p = await openParams();
    const raw = { jobId: jobIdToBytes32(p.jobId), requester: m.requester.address, provider: p.provider, costWei: 0n, expectedRuntimeSec: 1, deadline: p.deadlineSec, termsHash: p.termsHash };
    await expectCode(call(m.deployerW, 'open', [raw]), 'ZeroCost');
    await expectCode(call(m.deployerW, 'open', [{ ...raw, costWei: 1n, jobId: `0x${'00'.repeat(32)}` }]), 'ZeroJobId');
    await expectCode(openComputeContract(m.strangerW, m.publicClient, p), 'AccessControlUnauthorizedAccount');
    await expectCode(openComputeContract(m.settlementW, m.publicClient, p), 'AccessControlUnauthorizedAccount');
  });
});

describe('openBatch', () => {
  it('opens many jobs in one transaction, and a retried batch opens nothing twice', async () => {
    const now = await chainNowSec(m);
    const jobs = await Promise.all([1, 2, 3].map(async (i) => ({ ...(await openParams({ costWei: BigInt(i) * AGPU, deadlineSec: now + 3_600 })), requester: i === 2 ? m.requester2 : m.requester })));
    const before = await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.addresses.escrow });
    const r = await openComputeContractsBatch(m.deployerW, m.publicClient, { addresses: m.addresses, jobs });
    expect(r.txHash).not.toBeNull();
    expect(r.jobs.every((j) => !j.alreadyOpen)).toBe(true);
    expect(await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.addresses.escrow })).toBe(before + 6n * AGPU);
    const again = await openComputeContractsBatch(m.deployerW, m.publicClient, { addresses: m.addresses, jobs });
    expect(again.txHash).toBeNull();
    expect(again.jobs.every((j) => j.alreadyOpen)).toBe(true);
    expect(await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.addresses.escrow })).toBe(before + 6n * AGPU);
  });

  it('skips, on chain, a job opened in between', async () => {
    const { p } = await openJob();
    const raw = { jobId: jobIdToBytes32(p.jobId), requester: m.requester.address, provider: p.provider, costWei: p.costWei, expectedRuntimeSec: 1, deadline: p.deadlineSec, termsHash: p.termsHash };
    const before = await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.requester.address });
    await call(m.deployerW, 'openBatch', [[raw], []]);
    expect(await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.requester.address })).toBe(before);
  });

  it('refuses oversized and mismatched batches', async () => {
    const p = await openParams();
    const raw = { jobId: jobIdToBytes32(p.jobId), requester: m.requester.address, provider: p.provider, costWei: 1n, expectedRuntimeSec: 1, deadline: p.deadlineSec, termsHash: p.termsHash };
    await expectCode(call(m.deployerW, 'openBatch', [Array.from({ length: 65 }, () => raw), []]), 'BatchTooLarge');
    const permit = { deadline: 0n, v: 0, r: `0x${'00'.repeat(32)}`, s: `0x${'00'.repeat(32)}` };
    await expectCode(call(m.deployerW, 'openBatch', [[raw], [permit, permit]]), 'BatchLengthMismatch');
    await expectCode(openComputeContractsBatch(m.deployerW, m.publicClient, { addresses: m.addresses, jobs: [p, p] }), 'DuplicateJobInBatch');
  });
});

describe('release', () => {
  it('pays the provider for its signed result, once', async () => {
    const { p } = await openJob();
    const before = await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.provider.address });
    const signature = await sign(p.jobId);
    expect(await recoverResultSigner({ addresses: m.addresses, chainId: m.chainId, jobId: p.jobId, resultHash: hash32('result'), proofHash: hash32('proof'), signature })).toBe(m.provider.address);
    const r = await releaseComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId, resultHash: hash32('result'), proofHash: hash32('proof'), providerSignature: signature });
    expect(r).toMatchObject({ alreadySettled: false, amountWei: p.costWei, status: 'released' });
    expect(await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.provider.address })).toBe(before + p.costWei);
    const receipt = await m.publicClient.getTransactionReceipt({ hash: r.txHash! });
    const [ev] = parseEventLogs({ abi: artifacts().ComputeEscrow.abi, logs: receipt.logs, eventName: 'ComputeContractReleased' });
    expect(ev!.args).toMatchObject({ resultHash: hash32('result'), proofHash: hash32('proof'), costWei: p.costWei, settledBy: m.settlement.address });

    // idempotent through the library, a revert on the contract
    const again = await releaseComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId, resultHash: hash32('result'), proofHash: hash32('proof'), providerSignature: signature });
    expect(again).toMatchObject({ txHash: null, alreadySettled: true, amountWei: p.costWei });
    await expectCode(call(m.settlementW, 'release', [jobIdToBytes32(p.jobId), termsOfP(p), hash32('result'), hash32('proof'), signature]), 'AlreadySettled');
    await expectCode(call(m.settlementW, 'refund', [jobIdToBytes32(p.jobId), termsOfP(p)]), 'AlreadySettled');
    await expectCode(refundComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId }), 'AlreadySettled');
    expect(await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.provider.address })).toBe(before + p.costWei);
  });

  it('refuses a signature made for another job, another result, another key, another escrow or another chain', async () => {
    const { p: a } = await openJob();
    const { p: b } = await openJob();
    const args = (jobId: string, sig: Hex) => ({ addresses: m.addresses, jobId, resultHash: hash32('result'), proofHash: hash32('proof'), providerSignature: sig });
    await expectCode(releaseComputeContract(m.settlementW, m.publicClient, args(b.jobId, await sign(a.jobId))), 'InvalidProviderSignature');
    await expectCode(
      releaseComputeContract(m.settlementW, m.publicClient, { ...args(a.jobId, await sign(a.jobId)), proofHash: hash32('other proof') }),
      'InvalidProviderSignature',
    );
    const byStranger = await signResult(m.stranger, { addresses: m.addresses, chainId: m.chainId, jobId: a.jobId, resultHash: hash32('result'), proofHash: hash32('proof') });
    await expectCode(releaseComputeContract(m.settlementW, m.publicClient, args(a.jobId, byStranger)), 'InvalidProviderSignature');
    const otherEscrow = await signResult(m.provider, { addresses: { escrow: m.addresses.token }, chainId: m.chainId, jobId: a.jobId, resultHash: hash32('result'), proofHash: hash32('proof') });
    await expectCode(releaseComputeContract(m.settlementW, m.publicClient, args(a.jobId, otherEscrow)), 'InvalidProviderSignature');
    const otherChain = await signResult(m.provider, { addresses: m.addresses, chainId: 1, jobId: a.jobId, resultHash: hash32('result'), proofHash: hash32('proof') });
    await expectCode(releaseComputeContract(m.settlementW, m.publicClient, args(a.jobId, otherChain)), 'InvalidProviderSignature');
    await expectCode(releaseComputeContract(m.settlementW, m.publicClient, args(a.jobId, `0x${'11'.repeat(65)}`)), 'InvalidProviderSignature');
    await expectCode(releaseComputeContract(m.settlementW, m.publicClient, args(a.jobId, '0x1234')), 'InvalidProviderSignature');
    expect((await readComputeContract(m.publicClient, { addresses: m.addresses, jobId: a.jobId })).status).toBe('open');
    expect((await readComputeContract(m.publicClient, { addresses: m.addresses, jobId: b.jobId })).status).toBe('open');
  });

  it('refuses a caller without SETTLEMENT_ROLE, an unknown job and a zero result hash', async () => {
    const { p } = await openJob();
    const sig = await sign(p.jobId);
    const params = { addresses: m.addresses, jobId: p.jobId, resultHash: hash32('result'), proofHash: hash32('proof'), providerSignature: sig };
    await expectCode(releaseComputeContract(m.deployerW, m.publicClient, params), 'AccessControlUnauthorizedAccount');
    await expectCode(releaseComputeContract(m.strangerW, m.publicClient, params), 'AccessControlUnauthorizedAccount');
    await expectCode(releaseComputeContract(m.settlementW, m.publicClient, { ...params, jobId: 'never-opened' }), 'UnknownJob');
    await expectCode(call(m.settlementW, 'release', [jobIdToBytes32('never-opened'), termsOfP(p), hash32('r'), hash32('p'), sig]), 'UnknownJob');
    const zero = `0x${'00'.repeat(32)}` as Hex;
    await expectCode(call(m.settlementW, 'release', [jobIdToBytes32(p.jobId), termsOfP(p), zero, hash32('proof'), await sign(p.jobId, zero)]), 'ZeroResultHash');
  });

  it('refuses terms other than those committed at open (no redirected or resized payout)', async () => {
    const { p } = await openJob();
    const sig = await sign(p.jobId);
    const key = jobIdToBytes32(p.jobId);
    await expectCode(call(m.settlementW, 'release', [key, { ...termsOfP(p), costWei: p.costWei * 2n }, hash32('result'), hash32('proof'), sig]), 'TermsMismatch');
    const bySranger = await signResult(m.stranger, { addresses: m.addresses, chainId: m.chainId, jobId: p.jobId, resultHash: hash32('result'), proofHash: hash32('proof') });
    await expectCode(call(m.settlementW, 'release', [key, { ...termsOfP(p), provider: m.stranger.address }, hash32('result'), hash32('proof'), bySranger]), 'TermsMismatch');
    await expectCode(call(m.settlementW, 'refund', [key, { ...termsOfP(p), requester: m.stranger.address }]), 'TermsMismatch');
    const matches = (t: ReturnType<typeof termsOfP>) => m.publicClient.readContract({ address: m.addresses.escrow, abi: artifacts().ComputeEscrow.abi, functionName: 'matchesTerms', args: [key, t] });
    expect(await matches(termsOfP(p))).toBe(true);
    expect(await matches({ ...termsOfP(p), costWei: 1n })).toBe(false);
  });
});

describe('releaseBatch', () => {
  const balance = (account: Hex) => agpuBalance(m.publicClient, { token: m.addresses.token, account });
  const statusOf = async (jobId: string) => (await readComputeContract(m.publicClient, { addresses: m.addresses, jobId })).status;
  /** A release item as settlement builds it: the committed terms and the provider's signature (by `signer`, the provider unless told). */
  async function itemOf(p: OpenComputeContractParams, o: { signer?: LocalAccount; resultHash?: Hex } = {}): Promise<ReleaseBatchItem> {
    const resultHash = o.resultHash ?? hash32(`result of ${p.jobId}`);
    const proofHash = hash32(`proof of ${p.jobId}`);
    const signer = o.signer ?? ([m.provider, m.stranger].find((a) => a.address === p.provider) as LocalAccount);
    const providerSignature = await signResult(signer, { addresses: m.addresses, chainId: m.chainId, jobId: p.jobId, resultHash, proofHash });
    return { jobId: p.jobId, terms: termsOfP(p), resultHash, proofHash, providerSignature };
  }
  const rawOf = (i: ReleaseBatchItem) => ({ jobId: jobIdToBytes32(i.jobId), terms: i.terms, resultHash: i.resultHash, proofHash: i.proofHash, providerSignature: i.providerSignature });
  /** Opened one after the other (one deployer nonce, one requester permit nonce). */
  async function openJobs(overs: Partial<OpenComputeContractParams>[]): Promise<OpenComputeContractParams[]> {
    const out: OpenComputeContractParams[] = [];
    for (const over of overs) out.push((await openJob(over)).p);
    return out;
  }
  const eventsOf = async (txHash: Hex) => {
    const receipt = await m.publicClient.getTransactionReceipt({ hash: txHash });
    const abi = artifacts().ComputeEscrow.abi;
    return {
      released: parseEventLogs({ abi, logs: receipt.logs, eventName: 'ComputeContractReleased' }),
      skipped: parseEventLogs({ abi, logs: receipt.logs, eventName: 'ComputeContractReleaseSkipped' }),
      transfers: parseEventLogs({ abi: artifacts().AgpuToken.abi, logs: receipt.logs, eventName: 'Transfer' }),
    };
  };

  it('releases several jobs in one transaction: the escrow falls by exactly the released costs, each provider gets its own', async () => {
    const jobs = await openJobs([1n, 2n, 3n, 4n].map((n) => ({ costWei: n * AGPU, provider: n % 2n === 0n ? m.stranger.address : m.provider.address })));
    // a disputed job is released too, as release does
    await disputeComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: jobs[3]!.jobId, reasonHash: hash32('check') });
    const before = { escrow: await balance(m.addresses.escrow), provider: await balance(m.provider.address), stranger: await balance(m.stranger.address) };

    const r = await releaseComputeContractsBatch(m.settlementW, m.publicClient, { addresses: m.addresses, items: await Promise.all(jobs.map((p) => itemOf(p))) });

    expect(r.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(r.jobs).toEqual(jobs.map((p) => ({ jobId: p.jobId, jobKey: jobIdToBytes32(p.jobId), outcome: 'released', amountWei: p.costWei, txHash: r.txHash, blockNumber: r.blockNumber })));
    expect(await balance(m.addresses.escrow)).toBe(before.escrow - 10n * AGPU);
    expect(await balance(m.provider.address)).toBe(before.provider + 4n * AGPU);
    expect(await balance(m.stranger.address)).toBe(before.stranger + 6n * AGPU);
    for (const p of jobs) expect(await statusOf(p.jobId)).toBe('released');
    const ev = await eventsOf(r.txHash!);
    expect(ev.skipped).toEqual([]);
    expect(ev.released.map((e) => e.args)).toEqual(
      expect.arrayContaining(jobs.map((p) => expect.objectContaining({ jobId: jobIdToBytes32(p.jobId), provider: p.provider, costWei: p.costWei, resultHash: hash32(`result of ${p.jobId}`), settledBy: m.settlement.address }))),
    );
    // a transfer per released item, from the escrow to its provider (as the audit's books expect)
    expect(ev.transfers.map((t) => t.args)).toEqual(jobs.map((p) => ({ from: m.addresses.escrow, to: p.provider, value: p.costWei })));
  });

  it('skips, with its reason and without reverting, an item it cannot release, and releases the others', async () => {
    const [good, badSig, otherTerms, released, refunded, zeroResult] = await openJobs([{}, {}, {}, {}, {}, {}]);
    const releasedItem = await itemOf(released!);
    await releaseComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: released!.jobId, resultHash: releasedItem.resultHash, proofHash: releasedItem.proofHash, providerSignature: releasedItem.providerSignature });
    await disputeComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: refunded!.jobId, reasonHash: hash32('rejected') });
    await refundComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: refunded!.jobId });
    const zero = `0x${'00'.repeat(32)}` as Hex;
    const items = [
      await itemOf(good!),
      await itemOf(badSig!, { signer: m.stranger }),
      { ...(await itemOf(otherTerms!)), terms: { ...termsOfP(otherTerms!), costWei: otherTerms!.costWei + 1n } },
      releasedItem,
      await itemOf(refunded!),
      await itemOf(zeroResult!, { resultHash: zero }),
      { ...(await itemOf(good!)), jobId: 'never-opened-in-a-batch' },
    ];
    const before = { escrow: await balance(m.addresses.escrow), provider: await balance(m.provider.address) };

    const r = await releaseComputeContractsBatch(m.settlementW, m.publicClient, { addresses: m.addresses, items });

    expect(r.jobs.map((j) => (j.outcome === 'released' ? 'released' : j.reason))).toEqual(['released', 'InvalidProviderSignature', 'TermsMismatch', 'AlreadyReleased', 'AlreadyRefunded', 'ZeroResultHash', 'UnknownJob']);
    expect(await balance(m.addresses.escrow)).toBe(before.escrow - good!.costWei);
    expect(await balance(m.provider.address)).toBe(before.provider + good!.costWei);
    for (const p of [badSig, otherTerms, zeroResult]) expect(await statusOf(p!.jobId)).toBe('open');
    const ev = await eventsOf(r.txHash!);
    expect(ev.released.map((e) => e.args.jobId)).toEqual([jobIdToBytes32(good!.jobId)]);
    // reasons by their index in ComputeEscrow.ReleaseSkip
    expect(new Map(ev.skipped.map((e) => [e.args.jobId, e.args.reason]))).toEqual(
      new Map([
        [jobIdToBytes32(badSig!.jobId), 6],
        [jobIdToBytes32(otherTerms!.jobId), 4],
        [jobIdToBytes32(released!.jobId), 2],
        [jobIdToBytes32(refunded!.jobId), 3],
        [jobIdToBytes32(zeroResult!.jobId), 5],
        [jobIdToBytes32('never-opened-in-a-batch'), 1],
      ]),
    );
  });

  it('releases nothing twice: a retried batch, or a job id repeated in one batch, pays once', async () => {
    const jobs = await openJobs([{}, {}]);
    const items = await Promise.all(jobs.map((p) => itemOf(p)));
    const first = await releaseComputeContractsBatch(m.settlementW, m.publicClient, { addresses: m.addresses, items });
    expect(first.jobs.every((j) => j.outcome === 'released')).toBe(true);
    const before = { escrow: await balance(m.addresses.escrow), provider: await balance(m.provider.address) };

    const again = await releaseComputeContractsBatch(m.settlementW, m.publicClient, { addresses: m.addresses, items });
    expect(again.jobs.map((j) => j.outcome === 'skipped' && j.reason)).toEqual(['AlreadyReleased', 'AlreadyReleased']);
    expect((await eventsOf(again.txHash!)).transfers).toEqual([]);
    expect(await balance(m.addresses.escrow)).toBe(before.escrow);
    expect(await balance(m.provider.address)).toBe(before.provider);

    // the contract itself, asked with one job twice in a batch (the library refuses that before sending)
    const { p } = await openJob();
    const item = await itemOf(p);
    await expectCode(releaseComputeContractsBatch(m.settlementW, m.publicClient, { addresses: m.addresses, items: [item, item] }), 'DuplicateJobInBatch');
    const escrowBefore = await balance(m.addresses.escrow);
    const tx = await call(m.settlementW, 'releaseBatch', [[rawOf(item), rawOf(item)]]);
    await m.publicClient.waitForTransactionReceipt({ hash: tx });
    const ev = await eventsOf(tx);
    expect(ev.released).toHaveLength(1);
    expect(ev.skipped.map((e) => e.args.reason)).toEqual([2]);
    expect(await balance(m.addresses.escrow)).toBe(escrowBefore - p.costWei);
  });

  it('refuses a batch over MAX_BATCH (64) items, and a caller without SETTLEMENT_ROLE', async () => {
    const { p } = await openJob();
    const item = await itemOf(p);
    const maxBatch = await m.publicClient.readContract({ address: m.addresses.escrow, abi: artifacts().ComputeEscrow.abi, functionName: 'MAX_BATCH' });
    expect(maxBatch).toBe(64n);
    const err = await expectCode(call(m.settlementW, 'releaseBatch', [Array.from({ length: 65 }, () => rawOf(item))]), 'BatchTooLarge');
    expect(err.args).toEqual([65n, 64n]);
    await expectCode(releaseComputeContractsBatch(m.settlementW, m.publicClient, { addresses: m.addresses, items: Array.from({ length: 65 }, (_, i) => ({ ...item, jobId: `${p.jobId}-${i}` })) }), 'BatchTooLarge');
    await expectCode(releaseComputeContractsBatch(m.deployerW, m.publicClient, { addresses: m.addresses, items: [item] }), 'AccessControlUnauthorizedAccount');
    await expectCode(releaseComputeContractsBatch(m.strangerW, m.publicClient, { addresses: m.addresses, items: [item] }), 'AccessControlUnauthorizedAccount');
    await expectCode(call(m.strangerW, 'releaseBatch', [[rawOf(item)]]), 'AccessControlUnauthorizedAccount');
    expect(await statusOf(p.jobId)).toBe('open');
    // exactly MAX_BATCH is taken (the one real item released, the rest skipped as repeats)
    const tx = await call(m.settlementW, 'releaseBatch', [Array.from({ length: 64 }, () => rawOf(item))]);
    await m.publicClient.waitForTransactionReceipt({ hash: tx });
    expect(await statusOf(p.jobId)).toBe('released');
    // an empty batch sends nothing
    expect(await releaseComputeContractsBatch(m.settlementW, m.publicClient, { addresses: m.addresses, items: [] })).toEqual({ txHash: null, blockNumber: null, jobs: [] });
  });
});

describe('refund', () => {
  it('returns the escrow to the requester after the deadline (settlement), once', async () => {
    const { p } = await openJob({ deadlineSec: (await chainNowSec(m)) + 100 });
    await expectCode(refundComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId }), 'DeadlineNotReached');
    await advanceTime(m, 101);
    const before = await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.requester.address });
    const r = await refundComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId });
    expect(r).toMatchObject({ alreadySettled: false, amountWei: p.costWei, status: 'refunded' });
    expect(await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.requester.address })).toBe(before + p.costWei);
    const again = await refundComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId });
    expect(again).toMatchObject({ txHash: null, alreadySettled: true });
    await expectCode(call(m.settlementW, 'refund', [jobIdToBytes32(p.jobId), termsOfP(p)]), 'AlreadySettled');
    await expectCode(releaseComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId, resultHash: hash32('result'), proofHash: hash32('proof'), providerSignature: await sign(p.jobId) }), 'AlreadySettled');
    await expectCode(call(m.settlementW, 'release', [jobIdToBytes32(p.jobId), termsOfP(p), hash32('result'), hash32('proof'), await sign(p.jobId)]), 'AlreadySettled');
  });

  it('lets anyone refund, to the requester only, after deadline + the public delay', async () => {
    const { p } = await openJob({ deadlineSec: (await chainNowSec(m)) + 100 });
    await advanceTime(m, 101);
    await expectCode(refundComputeContract(m.strangerW, m.publicClient, { addresses: m.addresses, jobId: p.jobId }), 'DeadlineNotReached');
    await advanceTime(m, PUBLIC_REFUND_DELAY_SEC);
    const strangerBefore = await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.stranger.address });
    const before = await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.requester.address });
    await refundComputeContract(m.strangerW, m.publicClient, { addresses: m.addresses, jobId: p.jobId });
    expect(await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.requester.address })).toBe(before + p.costWei);
    expect(await agpuBalance(m.publicClient, { token: m.addresses.token, account: m.stranger.address })).toBe(strangerBefore);
  });

  it('refuses an unknown job', async () => {
    await expectCode(refundComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: 'nope' }), 'UnknownJob');
    await expectCode(call(m.settlementW, 'refund', [jobIdToBytes32('nope'), { requester: m.requester.address, provider: m.provider.address, costWei: 1n }]), 'UnknownJob');
  });
});

describe('dispute', () => {
  it('holds the job; settlement may refund at once; anyone after the window', async () => {
    const { p } = await openJob();
    await expectCode(disputeComputeContract(m.strangerW, m.publicClient, { addresses: m.addresses, jobId: p.jobId, reasonHash: hash32('late') }), 'AccessControlUnauthorizedAccount');
    await disputeComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId, reasonHash: hash32('late') });
    const held = await readComputeContract(m.publicClient, { addresses: m.addresses, jobId: p.jobId });
    expect(held.status).toBe('disputed');
    expect(held.deadlineSec).toBeGreaterThanOrEqual((await chainNowSec(m)) + DISPUTE_WINDOW_SEC - 5);
    await expectCode(disputeComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId, reasonHash: hash32('again') }), 'NotOpen');
    await expectCode(refundComputeContract(m.strangerW, m.publicClient, { addresses: m.addresses, jobId: p.jobId }), 'DeadlineNotReached');
    await advanceTime(m, DISPUTE_WINDOW_SEC + 1);
    await refundComputeContract(m.strangerW, m.publicClient, { addresses: m.addresses, jobId: p.jobId });
    expect((await readComputeContract(m.publicClient, { addresses: m.addresses, jobId: p.jobId })).status).toBe('refunded');

    const { p: q } = await openJob();
    await disputeComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: q.jobId, reasonHash: hash32('bad proof') });
    const r = await refundComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: q.jobId });
    expect(r.status).toBe('refunded');
  });

  it('can end in a release with the provider\'s signature', async () => {
    const { p } = await openJob();
    await disputeComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId, reasonHash: hash32('check') });
    const r = await releaseComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId, resultHash: hash32('result'), proofHash: hash32('proof'), providerSignature: await sign(p.jobId) });
    expect(r.status).toBe('released');
    await expectCode(disputeComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: p.jobId, reasonHash: hash32('late') }), 'NotOpen');
    await expectCode(disputeComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: 'unknown', reasonHash: hash32('x') }), 'UnknownJob');
  });
});
