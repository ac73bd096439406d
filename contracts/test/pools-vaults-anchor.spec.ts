import { keccak256, parseEventLogs, stringToBytes, type Hex } from 'viem';
import {
  agpuBalance,
  artifacts,
  buildAnchorTree,
  drawVault,
  idToBytes32,
  jobTemplateHash,
  mintAgpu,
  openVault,
  postAnchor,
  readComputeContract,
  readStake,
  readVault,
  refundComputeContract,
  requestUnbond,
  slashStake,
  readSlashBoundWei,
  readSlashedWei,
  stakeAgpu,
  openComputeContract,
  releaseComputeContract,
  disputeComputeContract,
  signResult,
  jobIdToBytes32,
  verifyAnchoredEvent,
  withdrawStake,
  withdrawVault,
  NO_PERMIT,
} from '@starminer/chain';
import { AGPU, advanceTime, chainNowSec, expectCode, hash32, startMarket, type Market } from './fixture';

let m: Market;
const UNBOND_DELAY_SEC = 7 * 24 * 3600; // deployMarket's default

beforeAll(async () => {
  m = await startMarket();
  // the provider's node key holds AGPU to stake, and ether to send its own unbond/withdraw
  await mintAgpu(m.minterW, m.publicClient, { token: m.addresses.token, to: m.provider.address, amountWei: 100n * AGPU });
}, 60_000);
afterAll(async () => {
  await m?.stop();
});

const bal = (account: Hex) => agpuBalance(m.publicClient, { token: m.addresses.token, account });

describe('StakingPools', () => {
  it('stakes by permit (relayed), unbonds after the delay, withdraws once', async () => {
    const before = await bal(m.provider.address);
    await stakeAgpu(m.deployerW, m.publicClient, { addresses: m.addresses, poolId: 'h100-eu', staker: m.provider, amountWei: 10n * AGPU });
    expect(await readStake(m.publicClient, { addresses: m.addresses, poolId: 'h100-eu', staker: m.provider.address })).toMatchObject({ activeWei: 10n * AGPU, unbondingWei: 0n, poolTotalWei: 10n * AGPU });
    expect(await bal(m.provider.address)).toBe(before - 10n * AGPU);

    const providerW = m.wallet(m.provider);
    await expectCode(requestUnbond(providerW, m.publicClient, { addresses: m.addresses, poolId: 'h100-eu', amountWei: 11n * AGPU }), 'InsufficientStake');
    await expectCode(requestUnbond(providerW, m.publicClient, { addresses: m.addresses, poolId: 'h100-eu', amountWei: 0n }), 'ZeroAmount');
    await expectCode(withdrawStake(providerW, m.publicClient, { addresses: m.addresses, poolId: 'h100-eu' }), 'NothingToWithdraw');
    await requestUnbond(providerW, m.publicClient, { addresses: m.addresses, poolId: 'h100-eu', amountWei: 4n * AGPU });
    expect(await readStake(m.publicClient, { addresses: m.addresses, poolId: 'h100-eu', staker: m.provider.address })).toMatchObject({ activeWei: 6n * AGPU, unbondingWei: 4n * AGPU });
    await expectCode(withdrawStake(providerW, m.publicClient, { addresses: m.addresses, poolId: 'h100-eu' }), 'UnbondNotReady');
    await advanceTime(m, UNBOND_DELAY_SEC);
    const w = await withdrawStake(providerW, m.publicClient, { addresses: m.addresses, poolId: 'h100-eu' });
    expect(w.amountWei).toBe(4n * AGPU);
    expect(await bal(m.provider.address)).toBe(before - 6n * AGPU);
    await expectCode(withdrawStake(providerW, m.publicClient, { addresses: m.addresses, poolId: 'h100-eu' }), 'NothingToWithdraw');
  });

  it('refuses a zero stake and a bad permit', async () => {
    await expectCode(stakeAgpu(m.deployerW, m.publicClient, { addresses: m.addresses, poolId: 'p', staker: m.provider, amountWei: 0n }), 'ZeroAmount');
    const { request } = await m.publicClient.simulateContract({
      account: m.deployer,
      address: m.addresses.staking!,
      abi: artifacts().StakingPools.abi,
      functionName: 'stakeWithPermit',
      args: [idToBytes32('p'), m.stranger.address, 1n, { ...NO_PERMIT, deadline: 10n ** 12n }],
    }).catch((e: unknown) => ({ request: e }));
    await expectCode(Promise.reject(request), 'PermitFailed');
  });
});

describe('StakingPools.slash: only for a refunded or disputed job of the escrow, of its provider, to its requester, within its bound, once', () => {
  const POOL = 'slash-pool';
  let seq = 0;
  type Terms = { requester: Hex; provider: Hex; costWei: bigint };

  /** Open a job of `provider` for the custodial requester, with a deadline `deadlineIn` seconds away. */
  async function openJob(opts: { costWei?: bigint; provider?: Hex; deadlineIn?: number } = {}): Promise<{ jobId: string; terms: Terms }> {
    const jobId = `slash-job-${++seq}`;
    const costWei = opts.costWei ?? 2n * AGPU;
    const provider = opts.provider ?? m.provider.address;
    await openComputeContract(m.deployerW, m.publicClient, {
      addresses: m.addresses,
      jobId,
      requester: m.requester,
      provider,
      costWei,
      expectedRuntimeSec: 60,
      deadlineSec: (await chainNowSec(m)) + (opts.deadlineIn ?? 3_600),
      termsHash: hash32(jobId),
    });
    return { jobId, terms: { requester: m.requester.address, provider, costWei } };
  }

  async function refundedJob(opts: { costWei?: bigint; provider?: Hex } = {}) {
    const job = await openJob({ ...opts, deadlineIn: 10 });
    await advanceTime(m, 11);
    await refundComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: job.jobId });
    return job;
  }

  /** The contract call itself, with whatever terms the caller claims (the library reads the true ones). */
  async function slashRaw(wallet: Market['adminW'], jobId: string, terms: Terms, amountWei: bigint): Promise<void> {
    const { request } = await m.publicClient.simulateContract({
      account: wallet.account,
      address: m.addresses.staking!,
      abi: artifacts().StakingPools.abi,
      functionName: 'slash',
      args: [idToBytes32(POOL), jobIdToBytes32(jobId), terms, amountWei],
    });
    await m.publicClient.waitForTransactionReceipt({ hash: await wallet.writeContract(request) });
  }

  const stakeOf = () => readStake(m.publicClient, { addresses: m.addresses, poolId: POOL, staker: m.provider.address });

  beforeAll(async () => {
    await stakeAgpu(m.deployerW, m.publicClient, { addresses: m.addresses, poolId: POOL, staker: m.provider, amountWei: 20n * AGPU });
  });

  it('names its bound: at most the job\'s cost', async () => {
    const abi = artifacts().StakingPools.abi;
    expect(await m.publicClient.readContract({ address: m.addresses.staking!, abi, functionName: 'MAX_SLASH_BPS_OF_COST' })).toBe(10_000n);
    expect(await readSlashBoundWei(m.publicClient, { addresses: m.addresses, costWei: 3n * AGPU })).toBe(3n * AGPU);
    expect(await m.publicClient.readContract({ address: m.addresses.staking!, abi, functionName: 'escrow' })).toBe(m.addresses.escrow);
  });

  it('refuses a job the escrow does not know', async () => {
    const ghost = { requester: m.requester.address, provider: m.provider.address, costWei: AGPU };
    await expectCode(slashRaw(m.settlementW, 'no-such-job', ghost, AGPU), 'UnknownJob');
    await expectCode(slashStake(m.settlementW, m.publicClient, { addresses: m.addresses, poolId: POOL, jobId: 'no-such-job', amountWei: AGPU }), 'UnknownJob');
  });

  it('refuses an open job and a released one', async () => {
    const open = await openJob();
    await expectCode(slashStake(m.settlementW, m.publicClient, { addresses: m.addresses, poolId: POOL, jobId: open.jobId, amountWei: AGPU }), 'JobNotSlashable');
    const paid = await openJob();
    const resultHash = hash32('r');
    const proofHash = hash32('p');
    const providerSignature = await signResult(m.provider, { addresses: m.addresses, chainId: m.chainId, jobId: paid.jobId, resultHash, proofHash });
    await releaseComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: paid.jobId, resultHash, proofHash, providerSignature });
    await expectCode(slashRaw(m.settlementW, paid.jobId, paid.terms, AGPU), 'JobNotSlashable');
    expect((await stakeOf()).activeWei).toBe(20n * AGPU);
  });

  it('refuses another recipient, another provider, and other terms of the job', async () => {
    const job = await refundedJob();
    await expectCode(slashRaw(m.settlementW, job.jobId, { ...job.terms, requester: m.requester2.address }, AGPU), 'TermsMismatch');
    await expectCode(slashRaw(m.settlementW, job.jobId, { ...job.terms, requester: m.stranger.address }, AGPU), 'TermsMismatch');
    await expectCode(slashRaw(m.settlementW, job.jobId, { ...job.terms, costWei: 100n * AGPU }, 10n * AGPU), 'TermsMismatch');
    // a job of another provider cannot reach this provider's stake: its terms name the other one
    const theirs = await refundedJob({ provider: m.stranger.address });
    await expectCode(slashRaw(m.settlementW, theirs.jobId, { ...theirs.terms, provider: m.provider.address }, AGPU), 'TermsMismatch');
    await expectCode(slashStake(m.settlementW, m.publicClient, { addresses: m.addresses, poolId: POOL, jobId: theirs.jobId, amountWei: AGPU }), 'InsufficientStake');
    expect((await stakeOf()).activeWei).toBe(20n * AGPU);
  });

  it('refuses a slash above the bound, by another role, of zero, and beyond the stake', async () => {
    const job = await refundedJob({ costWei: 2n * AGPU });
    const slash = { addresses: m.addresses, poolId: POOL, jobId: job.jobId };
    await expectCode(slashStake(m.settlementW, m.publicClient, { ...slash, amountWei: 2n * AGPU + 1n }), 'SlashAboveBound');
    await expectCode(slashStake(m.deployerW, m.publicClient, { ...slash, amountWei: AGPU }), 'AccessControlUnauthorizedAccount');
    await expectCode(slashStake(m.strangerW, m.publicClient, { ...slash, amountWei: AGPU }), 'AccessControlUnauthorizedAccount');
    await expectCode(slashStake(m.settlementW, m.publicClient, { ...slash, amountWei: 0n }), 'ZeroAmount');
    const big = await refundedJob({ costWei: 30n * AGPU });
    await expectCode(slashStake(m.settlementW, m.publicClient, { addresses: m.addresses, poolId: POOL, jobId: big.jobId, amountWei: 21n * AGPU }), 'InsufficientStake');
    expect((await stakeOf()).activeWei).toBe(20n * AGPU);
  });

  it('slashes a refunded job (active then unbonding stake) to its requester, once', async () => {
    const job = await refundedJob({ costWei: 3n * AGPU });
    const providerW = m.wallet(m.provider);
    await requestUnbond(providerW, m.publicClient, { addresses: m.addresses, poolId: POOL, amountWei: 18n * AGPU }); // 2 active, 18 unbonding
    const before = await bal(m.requester.address);
    const r = await slashStake(m.settlementW, m.publicClient, { addresses: m.addresses, poolId: POOL, jobId: job.jobId, amountWei: 3n * AGPU });
    expect(r).toMatchObject({ provider: m.provider.address, requester: m.requester.address, amountWei: 3n * AGPU });
    expect(await bal(m.requester.address)).toBe(before + 3n * AGPU);
    expect(await stakeOf()).toMatchObject({ activeWei: 0n, unbondingWei: 17n * AGPU, poolTotalWei: 17n * AGPU });
    expect(await readSlashedWei(m.publicClient, { addresses: m.addresses, jobId: job.jobId })).toBe(3n * AGPU);
    const receipt = await m.publicClient.getTransactionReceipt({ hash: r.txHash });
    const [slashed] = parseEventLogs({ abi: artifacts().StakingPools.abi, eventName: 'Slashed', logs: receipt.logs });
    expect(slashed?.args).toMatchObject({ poolId: idToBytes32(POOL), staker: m.provider.address, jobId: jobIdToBytes32(job.jobId), amountWei: 3n * AGPU, recipient: m.requester.address });
    // twice: refused, even for what is left under the bound
    await expectCode(slashStake(m.settlementW, m.publicClient, { addresses: m.addresses, poolId: POOL, jobId: job.jobId, amountWei: 1n }), 'AlreadySlashed');
    await expectCode(slashRaw(m.settlementW, job.jobId, job.terms, 3n * AGPU), 'AlreadySlashed');
    expect(await bal(m.requester.address)).toBe(before + 3n * AGPU);
  });

  it('slashes a disputed job to its requester', async () => {
    const job = await openJob({ costWei: 4n * AGPU });
    await disputeComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: job.jobId, reasonHash: hash32('bad result') });
    const before = await bal(m.requester.address);
    await slashStake(m.settlementW, m.publicClient, { addresses: m.addresses, poolId: POOL, jobId: job.jobId, amountWei: 4n * AGPU });
    expect(await bal(m.requester.address)).toBe(before + 4n * AGPU);
    expect(await stakeOf()).toMatchObject({ activeWei: 0n, unbondingWei: 13n * AGPU, poolTotalWei: 13n * AGPU });
    await expectCode(slashStake(m.settlementW, m.publicClient, { addresses: m.addresses, poolId: POOL, jobId: job.jobId, amountWei: AGPU }), 'AlreadySlashed');
  });
});

describe('ComputeVaults', () => {
  const tpl = { specHash: keccak256(stringToBytes('nightly-render-v1')), budgetWei: 10n * AGPU, expectedRuntimeSec: 60 };
  const template = jobTemplateHash(tpl);
  const vaultParams = () => ({ addresses: m.addresses, vaultId: 'vault-1', owner: m.requester, capPerPeriodWei: 10n * AGPU, periodSec: 86_400, templateHash: template, depositWei: 30n * AGPU });

  it('opens on the owner\'s signed terms and permit, once', async () => {
    const before = await bal(m.requester.address);
    const r = await openVault(m.deployerW, m.publicClient, vaultParams());
    expect(r.alreadyOpen).toBe(false);
    expect(await bal(m.requester.address)).toBe(before - 30n * AGPU);
    expect(await readVault(m.publicClient, { addresses: m.addresses, vaultId: 'vault-1' })).toMatchObject({ exists: true, status: 'active', owner: m.requester.address, balanceWei: 30n * AGPU, capPerPeriodWei: 10n * AGPU, templateHash: template, nonce: 0n });
    expect((await openVault(m.deployerW, m.publicClient, vaultParams())).alreadyOpen).toBe(true);
  });

  it('refuses terms the owner did not sign, and invalid terms', async () => {
    const vaults = m.addresses.vaults!;
    const abi = artifacts().ComputeVaults.abi;
    const terms = { vaultId: idToBytes32('vault-x'), capPerPeriodWei: 1n, periodSec: 60n, templateHash: template, depositWei: 0n };
    const sig = await m.stranger.signTypedData!({
      domain: { name: 'StarMiner Compute Vaults', version: '1', chainId: m.chainId, verifyingContract: vaults },
      types: { VaultTerms: [{ name: 'vaultId', type: 'bytes32' }, { name: 'capPerPeriodWei', type: 'uint256' }, { name: 'periodSec', type: 'uint64' }, { name: 'templateHash', type: 'bytes32' }, { name: 'depositWei', type: 'uint256' }] },
      primaryType: 'VaultTerms',
      message: terms,
    });
    await expectCode(m.publicClient.simulateContract({ account: m.deployer, address: vaults, abi, functionName: 'openVault', args: [terms, m.requester.address, sig, NO_PERMIT] }), 'InvalidOwnerSignature');
    await expectCode(m.publicClient.simulateContract({ account: m.deployer, address: vaults, abi, functionName: 'openVault', args: [{ ...terms, periodSec: 0n }, m.requester.address, sig, NO_PERMIT] }), 'InvalidTerms');
    await expectCode(m.publicClient.simulateContract({ account: m.deployer, address: vaults, abi, functionName: 'openVault', args: [{ ...terms, templateHash: `0x${'00'.repeat(32)}` }, m.requester.address, sig, NO_PERMIT] }), 'InvalidTerms');
    await expectCode(m.publicClient.simulateContract({ account: m.deployer, address: vaults, abi, functionName: 'openVault', args: [terms, '0x0000000000000000000000000000000000000000', sig, NO_PERMIT] }), 'ZeroAddress');
    await expectCode(m.publicClient.simulateContract({ account: m.deployer, address: vaults, abi, functionName: 'deposit', args: [idToBytes32('nope'), 1n, NO_PERMIT] }), 'UnknownVault');
  });

  it('draws into a compute contract only for its template, within the cap per period and the balance', async () => {
    const now = await chainNowSec(m);
    const drawAs = (wallet: Market['adminW'], o: { jobId: string; costWei: bigint; vaultId?: string; requester?: Hex; template?: typeof tpl; deadlineSec?: number }) =>
      drawVault(wallet, m.publicClient, { addresses: m.addresses, vaultId: o.vaultId ?? 'vault-1', template: o.template ?? tpl, jobId: o.jobId, requester: o.requester ?? m.requester.address, provider: m.provider.address, costWei: o.costWei, deadlineSec: o.deadlineSec ?? now + 3_600, termsHash: hash32(o.jobId) });
    const draw = (jobId: string, costWei: bigint, template = tpl) => drawAs(m.deployerW, { jobId, costWei, template });
    const r = await draw('vault-job-1', 6n * AGPU);
    expect(r.alreadyOpen).toBe(false);
    expect(await readComputeContract(m.publicClient, { addresses: m.addresses, jobId: 'vault-job-1' })).toMatchObject({ status: 'open', requester: m.requester.address, costWei: 6n * AGPU, expectedRuntimeSec: 60 });
    expect((await draw('vault-job-1', 6n * AGPU)).alreadyOpen).toBe(true);
    await expectCode(draw('vault-job-2', 5n * AGPU), 'CapExceeded');
    await expectCode(draw('vault-job-2', AGPU, { ...tpl, specHash: hash32('other template') }), 'TemplateNotAllowed');
    await expectCode(drawAs(m.strangerW, { jobId: 'vault-job-3', costWei: 1n }), 'AccessControlUnauthorizedAccount');
    await expectCode(drawAs(m.deployerW, { jobId: 'vault-job-3', costWei: 1n, requester: m.stranger.address }), 'NotVaultOwner');
    await expectCode(drawAs(m.deployerW, { jobId: 'vault-job-3', costWei: 1n, vaultId: 'no-vault' }), 'UnknownVault');
    await draw('vault-job-2', 4n * AGPU); // exactly at the cap
    // the next period has a fresh cap
    await advanceTime(m, 86_400);
    const now2 = await chainNowSec(m);
    await drawAs(m.deployerW, { jobId: 'vault-job-4', costWei: 10n * AGPU, deadlineSec: now2 + 100 });
    expect(await readVault(m.publicClient, { addresses: m.addresses, vaultId: 'vault-1' })).toMatchObject({ balanceWei: 10n * AGPU, spentInPeriodWei: 10n * AGPU });
    await advanceTime(m, 86_400);
    const now3 = await chainNowSec(m);
    await expectCode(drawAs(m.deployerW, { jobId: 'vault-job-5', costWei: 10n * AGPU + 1n, deadlineSec: now3 + 100, template: { ...tpl, budgetWei: 20n * AGPU } }), 'TemplateNotAllowed');
    await expectCode(drawAs(m.deployerW, { jobId: 'vault-job-5', costWei: 10n * AGPU + 1n, deadlineSec: now3 + 100 }), 'OverTemplateBudget');
    // a refund of a vault-paid job goes to the requester, not back to the vault
    const before = await bal(m.requester.address);
    await refundComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId: 'vault-job-4' });
    expect(await bal(m.requester.address)).toBe(before + 10n * AGPU);
  });

  it('withdraws to the owner only, by the owner or the platform', async () => {
    await expectCode(withdrawVault(m.strangerW, m.publicClient, { addresses: m.addresses, vaultId: 'vault-1', amountWei: 1n }), 'NotVaultOwner');
    await expectCode(withdrawVault(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'vault-1', amountWei: 11n * AGPU }), 'InsufficientVaultBalance');
    await expectCode(withdrawVault(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'vault-1', amountWei: 0n }), 'ZeroAmount');
    await expectCode(withdrawVault(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'nope', amountWei: 1n }), 'UnknownVault');
    const before = await bal(m.requester.address);
    await withdrawVault(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'vault-1', amountWei: 10n * AGPU });
    expect(await bal(m.requester.address)).toBe(before + 10n * AGPU);
  });
});

describe('AuditAnchor', () => {
  const events = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ({ seq: BigInt(from + i), eventHash: keccak256(stringToBytes(`event-${from + i}`)) }));

  it('posts contiguous roots and verifies inclusion with @openzeppelin/merkle-tree proofs', async () => {
    const t1 = buildAnchorTree(events(1, 10));
    const a = await postAnchor(m.deployerW, m.publicClient, { addresses: m.addresses, fromSeq: 1n, toSeq: 10n, root: t1.root });
    expect(a).toMatchObject({ index: 0, alreadyPosted: false });
    expect(await postAnchor(m.deployerW, m.publicClient, { addresses: m.addresses, fromSeq: 1n, toSeq: 10n, root: t1.root })).toMatchObject({ index: 0, alreadyPosted: true, txHash: null });
    await expectCode(postAnchor(m.deployerW, m.publicClient, { addresses: m.addresses, fromSeq: 1n, toSeq: 10n, root: hash32('other') }), 'AnchorConflict');
    const t2 = buildAnchorTree(events(11, 11));
    expect((await postAnchor(m.deployerW, m.publicClient, { addresses: m.addresses, fromSeq: 11n, toSeq: 11n, root: t2.root })).index).toBe(1);

    const e7 = events(7, 7)[0]!;
    expect(await verifyAnchoredEvent(m.publicClient, { addresses: m.addresses, index: 0, seq: 7n, eventHash: e7.eventHash, proof: t1.proof(7n) })).toBe(true);
    expect(await verifyAnchoredEvent(m.publicClient, { addresses: m.addresses, index: 0, seq: 7n, eventHash: hash32('forged'), proof: t1.proof(7n) })).toBe(false);
    expect(await verifyAnchoredEvent(m.publicClient, { addresses: m.addresses, index: 0, seq: 8n, eventHash: e7.eventHash, proof: t1.proof(7n) })).toBe(false);
    expect(await verifyAnchoredEvent(m.publicClient, { addresses: m.addresses, index: 1, seq: 7n, eventHash: e7.eventHash, proof: t1.proof(7n) })).toBe(false);
    expect(await verifyAnchoredEvent(m.publicClient, { addresses: m.addresses, index: 1, seq: 11n, eventHash: events(11, 11)[0]!.eventHash, proof: t2.proof(11n) })).toBe(true);
    await expectCode(verifyAnchoredEvent(m.publicClient, { addresses: m.addresses, index: 5, seq: 1n, eventHash: e7.eventHash, proof: [] }), 'UnknownAnchor');
  });

  it('refuses gaps, overlaps, empty ranges, zero roots and callers without the role', async () => {
    const abi = artifacts().AuditAnchor.abi;
    const sim = (account: Market['deployer'], args: readonly [bigint, bigint, Hex]) => m.publicClient.simulateContract({ account, address: m.addresses.anchor!, abi, functionName: 'postAnchor', args });
    await expectCode(sim(m.deployer, [14n, 20n, hash32('r')]), 'RangeNotContiguous');
    await expectCode(sim(m.deployer, [12n, 11n, hash32('r')]), 'EmptyRange');
    await expectCode(sim(m.deployer, [12n, 13n, `0x${'00'.repeat(32)}`]), 'ZeroRoot');
    await expectCode(sim(m.stranger, [12n, 13n, hash32('r')]), 'AccessControlUnauthorizedAccount');
    expect(() => buildAnchorTree([])).toThrow(RangeError);
    expect(() => buildAnchorTree([...events(1, 2), ...events(4, 4)])).toThrow(RangeError);
    expect(() => buildAnchorTree(events(1, 2)).proof(3n)).toThrow(RangeError);
  });
});
