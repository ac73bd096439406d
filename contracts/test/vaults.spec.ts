/**
 * ComputeVaults as a ledger: one chain, one sequence of vault actions, and after each step every
 * token accounted for (total supply never moves; the owners, the provider, the escrow and the vault
 * contract each hold what the model says; the vault contract holds exactly the sum of the vaults'
 * balances and the escrow exactly the sum of its open jobs).
 * What it shows: a vault pays only for jobs of its signed template (the contract hashes the terms
 * itself), never beyond its cap in a period (at the cap exactly, one second before and at the
 * period's boundary, after idle periods, over many small draws), the owner alone edits the template
 * (a signature works once, for one vault), pauses, resumes and closes (the remainder back to it).
 */
import { hashStruct, keccak256, parseEventLogs, stringToBytes, type Hex, type LocalAccount } from 'viem';
import {
  JOB_TEMPLATE_TYPEHASH,
  JOB_TEMPLATE_TYPES,
  NO_PERMIT,
  agpuBalance,
  artifacts,
  closeVault,
  drawVault,
  idToBytes32,
  jobIdToBytes32,
  jobTemplateHash,
  openVault,
  readComputeContract,
  readVault,
  refundComputeContract,
  releaseComputeContract,
  setVaultPaused,
  signResult,
  signVaultOwnerAction,
  updateVaultTemplate,
  withdrawVault,
  type JobTemplate,
  type VaultOwnerAction,
} from '@starminer/chain';
import { AGPU, advanceTime, chainNowSec, expectCode, hash32, startMarket, type Market } from './fixture';

const PERIOD_SEC = 3_600;
const CAP_WEI = 10n * AGPU;
const JOB_DEADLINE_IN_SEC = 30 * 86_400; // outlives every period jump below
const TX_GAS = 800_000n;

let m: Market;
let supply0: bigint;
/** The model: what each holder must hold. */
const model = { requester: 0n, requester2: 0n, provider: 0n, escrow: 0n, vaults: 0n };
/** Vault-paid jobs still in escrow, by id. */
const openJobs = new Map<string, bigint>();

const tokenAbi = () => artifacts().AgpuToken.abi;
const vaultsAbi = () => artifacts().ComputeVaults.abi;
const bal = (account: Hex) => agpuBalance(m.publicClient, { token: m.addresses.token, account });

beforeAll(async () => {
  m = await startMarket();
  supply0 = await m.publicClient.readContract({ address: m.addresses.token, abi: tokenAbi(), functionName: 'totalSupply' });
  model.requester = await bal(m.requester.address);
  model.requester2 = await bal(m.requester2.address);
}, 60_000);
afterAll(async () => {
  await m?.stop();
});

/** Every token where the model says; no token created or lost; vault and escrow balances backed one for one. */
async function expectLedger(vaultIds: readonly string[] = ['v1', 'v2']): Promise<void> {
  const holders = [m.requester, m.requester2, m.provider, m.stranger, m.admin, m.deployer, m.settlement, m.minter].map((a) => a.address);
  const contracts = [m.addresses.escrow, m.addresses.vaults!, m.addresses.staking!, m.addresses.anchor!, m.addresses.token];
  const [supply, ...balances] = await Promise.all([
    m.publicClient.readContract({ address: m.addresses.token, abi: tokenAbi(), functionName: 'totalSupply' }),
    ...[...holders, ...contracts].map(bal),
  ]);
  expect(supply).toBe(supply0);
  expect(balances.reduce((x, y) => x + y, 0n)).toBe(supply);
  const [requester, requester2, provider, stranger, , , , , escrow, vaults] = balances;
  expect({ requester, requester2, provider, stranger, escrow, vaults }).toEqual({ ...model, stranger: 0n });
  const vaultBalances = await Promise.all(vaultIds.map(async (id) => (await readVault(m.publicClient, { addresses: m.addresses, vaultId: id })).balanceWei));
  expect(vaultBalances.reduce((x, y) => x + y, 0n)).toBe(vaults);
  expect([...openJobs.values()].reduce((x, y) => x + y, 0n)).toBe(escrow);
}

const tplA: JobTemplate = { specHash: keccak256(stringToBytes('{"category":"render","gpuCount":1,"workload":"nightly-v1"}')), budgetWei: 5n * AGPU, expectedRuntimeSec: 600 };
const tplB: JobTemplate = { specHash: keccak256(stringToBytes('{"category":"render","gpuCount":2,"workload":"nightly-v2"}')), budgetWei: 8n * AGPU, expectedRuntimeSec: 1_200 };

let jobSeq = 0;
const nextJobId = () => `vault-ledger-job-${++jobSeq}`;

/** The contract's own draw arguments: a job of `t`'s terms unless overridden. */
async function drawArgs(vaultId: string, t: JobTemplate, o: { costWei: bigint; jobId?: string; expectedRuntimeSec?: number; requester?: Hex }) {
  const jobId = o.jobId ?? nextJobId();
  const p = {
    jobId: jobIdToBytes32(jobId),
    requester: o.requester ?? m.requester.address,
    provider: m.provider.address,
    costWei: o.costWei,
    expectedRuntimeSec: o.expectedRuntimeSec ?? t.expectedRuntimeSec,
    deadline: (await chainNowSec(m)) + JOB_DEADLINE_IN_SEC,
    termsHash: hash32(jobId),
  };
  return { jobId, args: [idToBytes32(vaultId), t, p] as const };
}

/** Simulate a draw against a block: 'latest' runs at the latest block's time, 'pending' at the next one's. */
async function simulateDraw(vaultId: string, t: JobTemplate, o: { costWei: bigint; expectedRuntimeSec?: number; requester?: Hex }, blockTag: 'latest' | 'pending' = 'latest') {
  const { args } = await drawArgs(vaultId, t, o);
  return m.publicClient.simulateContract({ account: m.deployer, address: m.addresses.vaults!, abi: vaultsAbi(), functionName: 'draw', args, blockTag });
}

/** A draw through the library (simulate, then send), booked in the model. */
async function draw(vaultId: string, t: JobTemplate, costWei: bigint, owner: LocalAccount = m.requester): Promise<{ jobId: string; txHash: Hex }> {
  const jobId = nextJobId();
  const r = await drawVault(m.deployerW, m.publicClient, {
    addresses: m.addresses,
    vaultId,
    template: t,
    jobId,
    requester: owner.address,
    provider: m.provider.address,
    costWei,
    deadlineSec: (await chainNowSec(m)) + JOB_DEADLINE_IN_SEC,
    termsHash: hash32(jobId),
  });
  expect(r.alreadyOpen).toBe(false);
  openJobs.set(jobId, costWei);
  model.vaults -= costWei;
  model.escrow += costWei;
  return { jobId, txHash: r.txHash! };
}

/** A draw mined in a block of exactly `timestampSec` (checked there first by a pending-block simulation). */
async function drawAt(timestampSec: number, vaultId: string, t: JobTemplate, costWei: bigint): Promise<void> {
  await m.testClient.setNextBlockTimestamp({ timestamp: BigInt(timestampSec) });
  const { jobId, args } = await drawArgs(vaultId, t, { costWei });
  const { request } = await m.publicClient.simulateContract({ account: m.deployer, address: m.addresses.vaults!, abi: vaultsAbi(), functionName: 'draw', args, blockTag: 'pending' });
  const hash = await m.deployerW.writeContract({ ...request, gas: TX_GAS });
  const receipt = await m.publicClient.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe('success');
  expect(Number((await m.publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp)).toBe(timestampSec);
  openJobs.set(jobId, costWei);
  model.vaults -= costWei;
  model.escrow += costWei;
}

const vault = (id: string) => readVault(m.publicClient, { addresses: m.addresses, vaultId: id });

/** The owner's signature of an action on a vault, at a nonce (the current one unless told). */
async function ownerSig(signer: LocalAccount, vaultId: string, action: VaultOwnerAction, nonce?: bigint): Promise<Hex> {
  return signVaultOwnerAction(signer, { vaults: m.addresses.vaults!, chainId: m.chainId, vaultId, nonce: nonce ?? (await vault(vaultId)).nonce, action });
}

/** Send a vault call from `wallet` (simulated first, so a refusal surfaces by name). */
async function send(wallet: Market['adminW'], functionName: 'updateTemplate' | 'setPaused' | 'close', args: readonly unknown[]): Promise<Hex> {
  const { request } = await m.publicClient.simulateContract({ account: wallet.account, address: m.addresses.vaults!, abi: vaultsAbi(), functionName, args } as never);
  const hash = await wallet.writeContract(request as never);
  const receipt = await m.publicClient.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe('success');
  return hash;
}

/** Pinned also in libs/chain/src/jobTemplate.spec.ts, which runs without a chain. */
const PINNED = {
  template: { specHash: `0x${'11'.repeat(32)}`, budgetWei: 5n * AGPU, expectedRuntimeSec: 600 } as JobTemplate,
  hash: '0x92cf2f3a121b1feee716ed1d6708d664d69b9abc924e18844a271b353c4d559f',
};

describe('the template hash', () => {
  const inputs: JobTemplate[] = [
    tplA,
    tplB,
    { specHash: `0x${'00'.repeat(32)}`, budgetWei: 0n, expectedRuntimeSec: 0 },
    { specHash: `0x${'ff'.repeat(32)}`, budgetWei: 2n ** 256n - 1n, expectedRuntimeSec: 2 ** 32 - 1 },
    { specHash: hash32('odd'), budgetWei: 1n, expectedRuntimeSec: 1 },
    { specHash: keccak256(stringToBytes('x')), budgetWei: 123_456_789n * AGPU + 7n, expectedRuntimeSec: 86_400 },
    PINNED.template,
  ];

  it('is computed alike by the contract, by jobTemplateHash (encodeAbiParameters) and by EIP-712 hashStruct', async () => {
    const onChainTypehash = await m.publicClient.readContract({ address: m.addresses.vaults!, abi: vaultsAbi(), functionName: 'TEMPLATE_TYPEHASH' });
    expect(onChainTypehash).toBe(JOB_TEMPLATE_TYPEHASH);
    for (const t of inputs) {
      const onChain = await m.publicClient.readContract({ address: m.addresses.vaults!, abi: vaultsAbi(), functionName: 'templateHashOf', args: [t] });
      expect(jobTemplateHash(t)).toBe(onChain);
      expect(hashStruct({ types: JOB_TEMPLATE_TYPES, primaryType: 'JobTemplate', data: t })).toBe(onChain);
    }
    expect(await m.publicClient.readContract({ address: m.addresses.vaults!, abi: vaultsAbi(), functionName: 'templateHashOf', args: [PINNED.template] })).toBe(PINNED.hash);
    // each field counts
    const hashes = new Set([tplA, { ...tplA, specHash: tplB.specHash }, { ...tplA, budgetWei: tplA.budgetWei + 1n }, { ...tplA, expectedRuntimeSec: 601 }].map(jobTemplateHash));
    expect(hashes.size).toBe(4);
  });
});

describe('ComputeVaults, a ledger', () => {
  let v1OpenedAt = 0;

  it('opens two vaults: the deposits move from the owners into the vault contract', async () => {
    await openVault(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'v1', owner: m.requester, capPerPeriodWei: CAP_WEI, periodSec: PERIOD_SEC, templateHash: jobTemplateHash(tplA), depositWei: 60n * AGPU });
    await openVault(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'v2', owner: m.requester2, capPerPeriodWei: CAP_WEI, periodSec: PERIOD_SEC, templateHash: jobTemplateHash(tplB), depositWei: 20n * AGPU });
    model.requester -= 60n * AGPU;
    model.requester2 -= 20n * AGPU;
    model.vaults += 80n * AGPU;
    const v1 = await vault('v1');
    v1OpenedAt = v1.periodStartSec;
    expect(v1).toMatchObject({ status: 'active', balanceWei: 60n * AGPU, templateHash: jobTemplateHash(tplA), nonce: 0n, current: { periodStartSec: v1OpenedAt, spentWei: 0n, remainingCapWei: CAP_WEI } });
    await expectLedger();
  });

  it('refuses a draw of another template, naming the hash it computed; a runtime not the template\'s; a cost over its budget; nothing moves', async () => {
    const e = await expectCode(simulateDraw('v1', tplB, { costWei: AGPU }), 'TemplateNotAllowed');
    expect(e.args).toEqual([idToBytes32('v1'), jobTemplateHash(tplB)]);
    // the template's hash is not enough: its terms are hashed, so one changed field is another template
    await expectCode(simulateDraw('v1', { ...tplA, budgetWei: 100n * AGPU }, { costWei: 6n * AGPU }), 'TemplateNotAllowed');
    await expectCode(simulateDraw('v1', { ...tplA, expectedRuntimeSec: 1 }, { costWei: AGPU, expectedRuntimeSec: 1 }), 'TemplateNotAllowed');
    await expectCode(simulateDraw('v1', tplA, { costWei: AGPU, expectedRuntimeSec: 601 }), 'TemplateRuntimeMismatch');
    const over = await expectCode(simulateDraw('v1', tplA, { costWei: 5n * AGPU + 1n }), 'OverTemplateBudget');
    expect(over.args).toEqual([idToBytes32('v1'), 5n * AGPU + 1n, 5n * AGPU]);
    await expectCode(simulateDraw('v1', tplA, { costWei: AGPU, requester: m.requester2.address }), 'NotVaultOwner');
    // v2's template on v1, and the library refuses the same way
    await expectCode(drawVault(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'v1', template: tplB, jobId: 'x', requester: m.requester.address, provider: m.provider.address, costWei: AGPU, deadlineSec: (await chainNowSec(m)) + 100, termsHash: hash32('x') }), 'TemplateNotAllowed');
    // only the platform draws
    const { args } = await drawArgs('v1', tplA, { costWei: AGPU });
    await expectCode(m.publicClient.simulateContract({ account: m.requester, address: m.addresses.vaults!, abi: vaultsAbi(), functionName: 'draw', args }), 'AccessControlUnauthorizedAccount');
    await expectLedger();
  });

  it('a draw of the template\'s terms escrows exactly its cost, from the vault, for the owner', async () => {
    const { jobId, txHash } = await draw('v1', tplA, 3n * AGPU);
    const receipt = await m.publicClient.getTransactionReceipt({ hash: txHash });
    const [drawn] = parseEventLogs({ abi: vaultsAbi(), eventName: 'VaultDrawn', logs: receipt.logs });
    expect(drawn?.args).toMatchObject({ vaultId: idToBytes32('v1'), jobId: jobIdToBytes32(jobId), templateHash: jobTemplateHash(tplA), amountWei: 3n * AGPU, spentInPeriodWei: 3n * AGPU, balanceWei: 57n * AGPU });
    expect(await readComputeContract(m.publicClient, { addresses: m.addresses, jobId })).toMatchObject({ status: 'open', requester: m.requester.address, provider: m.provider.address, costWei: 3n * AGPU, expectedRuntimeSec: 600 });
    expect(await vault('v1')).toMatchObject({ balanceWei: 57n * AGPU, spentInPeriodWei: 3n * AGPU, current: { spentWei: 3n * AGPU, remainingCapWei: 7n * AGPU } });
    await expectLedger();
  });

  it('many small draws reach the cap exactly; one wei more is refused', async () => {
    for (let i = 0; i < 14; i++) await draw('v1', tplA, AGPU / 2n); // 3 + 14 x 0.5 = 10 = the cap
    const v1 = await vault('v1');
    expect(v1).toMatchObject({ spentInPeriodWei: CAP_WEI, current: { periodStartSec: v1OpenedAt, spentWei: CAP_WEI, remainingCapWei: 0n }, balanceWei: 50n * AGPU });
    const e = await expectCode(simulateDraw('v1', tplA, { costWei: 1n }), 'CapExceeded');
    expect(e.args).toEqual([idToBytes32('v1'), CAP_WEI, 1n, CAP_WEI, BigInt(v1OpenedAt + PERIOD_SEC)]);
    await expectLedger();
  });

  it('at the period\'s boundary: refused one second before, the whole cap again at the boundary second, and no more', async () => {
    const periodEnd = v1OpenedAt + PERIOD_SEC;
    await m.testClient.setNextBlockTimestamp({ timestamp: BigInt(periodEnd - 1) });
    await m.testClient.mine({ blocks: 1 });
    expect(await chainNowSec(m)).toBe(periodEnd - 1);
    await expectCode(simulateDraw('v1', tplA, { costWei: 1n }, 'latest'), 'CapExceeded');
    // at exactly periodEnd the new period begins: two draws of the budget in it, the cap exactly
    await drawAt(periodEnd, 'v1', tplA, 5n * AGPU);
    await draw('v1', tplA, 5n * AGPU);
    expect(await vault('v1')).toMatchObject({ periodStartSec: periodEnd, spentInPeriodWei: CAP_WEI, balanceWei: 40n * AGPU, current: { periodStartSec: periodEnd, remainingCapWei: 0n } });
    await expectCode(simulateDraw('v1', tplA, { costWei: 1n }), 'CapExceeded');
    await expectLedger();
  });

  it('after idle periods the period is the one that contains now, on the grid from the vault\'s opening', async () => {
    await advanceTime(m, Math.floor(2.5 * PERIOD_SEC));
    const now = await chainNowSec(m);
    const expectedStart = v1OpenedAt + Math.floor((now - v1OpenedAt) / PERIOD_SEC) * PERIOD_SEC;
    expect(expectedStart).toBe(v1OpenedAt + 3 * PERIOD_SEC);
    // stale until a draw writes it; the view already shows the current period
    expect(await vault('v1')).toMatchObject({ periodStartSec: v1OpenedAt + PERIOD_SEC, spentInPeriodWei: CAP_WEI, current: { periodStartSec: expectedStart, spentWei: 0n, remainingCapWei: CAP_WEI } });
    await draw('v1', tplA, 4n * AGPU);
    expect(await vault('v1')).toMatchObject({ periodStartSec: expectedStart, spentInPeriodWei: 4n * AGPU, balanceWei: 36n * AGPU });
    await expectLedger();
  });

  it('updateTemplate: the owner\'s signature changes what the vault pays for; a foreign, another vault\'s, a replayed or a stale signature is refused', async () => {
    const newHash = jobTemplateHash(tplB);
    const v1Id = idToBytes32('v1');
    const update = { kind: 'TemplateUpdate' as const, templateHash: newHash };
    // someone else's signature, the owner of another vault's, and the owner's for another vault
    const byStranger = await ownerSig(m.stranger, 'v1', update);
    const e = await expectCode(send(m.deployerW, 'updateTemplate', [v1Id, newHash, byStranger]), 'InvalidOwnerSignature');
    expect(e.args).toEqual([v1Id, m.stranger.address, m.requester.address]);
    await expectCode(send(m.deployerW, 'updateTemplate', [v1Id, newHash, await ownerSig(m.requester2, 'v1', update)]), 'InvalidOwnerSignature');
    await expectCode(send(m.deployerW, 'updateTemplate', [v1Id, newHash, await ownerSig(m.requester, 'v2', update, 0n)]), 'InvalidOwnerSignature');
    // a signature of another template hash, and one for a nonce not yet reached
    await expectCode(send(m.deployerW, 'updateTemplate', [v1Id, newHash, await ownerSig(m.requester, 'v1', { kind: 'TemplateUpdate', templateHash: hash32('other') })]), 'InvalidOwnerSignature');
    await expectCode(send(m.deployerW, 'updateTemplate', [v1Id, newHash, await ownerSig(m.requester, 'v1', update, 5n)]), 'InvalidOwnerSignature');
    // without a signature only the owner itself may call: not the platform
    await expectCode(send(m.deployerW, 'updateTemplate', [v1Id, newHash, '0x']), 'NotVaultOwner');
    await expectCode(send(m.deployerW, 'updateTemplate', [v1Id, `0x${'00'.repeat(32)}`, '0x']), 'InvalidTerms');
    expect(await vault('v1')).toMatchObject({ templateHash: jobTemplateHash(tplA), nonce: 0n });

    const good = await ownerSig(m.requester, 'v1', update);
    const txHash = await send(m.strangerW, 'updateTemplate', [v1Id, newHash, good]); // anyone relays
    const [updated] = parseEventLogs({ abi: vaultsAbi(), eventName: 'VaultTemplateUpdated', logs: (await m.publicClient.getTransactionReceipt({ hash: txHash })).logs });
    expect(updated?.args).toMatchObject({ vaultId: v1Id, previousTemplateHash: jobTemplateHash(tplA), templateHash: newHash, nonce: 0n });
    // the period's spending carries over the edit
    expect(await vault('v1')).toMatchObject({ templateHash: newHash, nonce: 1n, current: { spentWei: 4n * AGPU, remainingCapWei: 6n * AGPU } });
    await expectCode(send(m.deployerW, 'updateTemplate', [v1Id, newHash, good]), 'InvalidOwnerSignature'); // replayed
    // draws follow the new template: the old one is refused, the new one's terms are paid
    await expectCode(simulateDraw('v1', tplA, { costWei: AGPU }), 'TemplateNotAllowed');
    await draw('v1', tplB, 6n * AGPU);
    await expectCode(simulateDraw('v1', tplB, { costWei: 1n }), 'CapExceeded');
    // the library: signs with the current nonce, and a second call is a no-op
    expect((await updateVaultTemplate(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'v1', owner: m.requester, templateHash: newHash })).alreadySet).toBe(true);
    await expectCode(updateVaultTemplate(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'v1', owner: m.requester2, templateHash: hash32('t') }), 'NotVaultOwner');
    await updateVaultTemplate(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'v1', owner: m.requester, templateHash: jobTemplateHash(tplA) });
    expect(await vault('v1')).toMatchObject({ templateHash: jobTemplateHash(tplA), nonce: 2n });
    await expectLedger();
  });

  it('pause blocks draws until resumed, by the owner only; a pause signature works once', async () => {
    await advanceTime(m, PERIOD_SEC); // a fresh cap, so only the pause can refuse
    const v1Id = idToBytes32('v1');
    await expectCode(send(m.deployerW, 'setPaused', [v1Id, true, '0x']), 'NotVaultOwner');
    await expectCode(send(m.deployerW, 'setPaused', [v1Id, true, await ownerSig(m.stranger, 'v1', { kind: 'VaultPause', paused: true })]), 'InvalidOwnerSignature');
    const pauseSig = await ownerSig(m.requester, 'v1', { kind: 'VaultPause', paused: true });
    await send(m.deployerW, 'setPaused', [v1Id, true, pauseSig]);
    expect(await vault('v1')).toMatchObject({ status: 'paused', nonce: 3n });
    await expectCode(simulateDraw('v1', tplA, { costWei: AGPU }), 'VaultIsPaused');
    await expectCode(drawVault(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'v1', template: tplA, jobId: nextJobId(), requester: m.requester.address, provider: m.provider.address, costWei: AGPU, deadlineSec: (await chainNowSec(m)) + 100, termsHash: hash32('p') }), 'VaultIsPaused');
    // a paused vault still returns money to its owner
    await withdrawVault(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'v1', amountWei: 2n * AGPU });
    model.vaults -= 2n * AGPU;
    model.requester += 2n * AGPU;
    expect((await setVaultPaused(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'v1', owner: m.requester, paused: true })).alreadySet).toBe(true);
    await setVaultPaused(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'v1', owner: m.requester, paused: false });
    expect(await vault('v1')).toMatchObject({ status: 'active', nonce: 4n });
    // the old pause signature, replayed after the resume, is refused
    await expectCode(send(m.deployerW, 'setPaused', [v1Id, true, pauseSig]), 'InvalidOwnerSignature');
    await draw('v1', tplA, 2n * AGPU);
    await expectLedger();
  });

  it('close returns exactly the remainder to the owner; a closed vault takes no draw, deposit or edit, and its id is not reopened', async () => {
    const v1Id = idToBytes32('v1');
    const remainderWei = (await vault('v1')).balanceWei;
    expect(remainderWei).toBe(60n * AGPU - 3n * AGPU - 7n * AGPU - 10n * AGPU - 4n * AGPU - 6n * AGPU - 2n * AGPU - 2n * AGPU);
    await expectCode(send(m.deployerW, 'close', [v1Id, '0x']), 'NotVaultOwner');
    await expectCode(send(m.deployerW, 'close', [v1Id, await ownerSig(m.requester2, 'v1', { kind: 'VaultClose' })]), 'InvalidOwnerSignature');
    const r = await closeVault(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'v1', owner: m.requester });
    expect(r).toMatchObject({ alreadyClosed: false, remainderWei });
    model.vaults -= remainderWei;
    model.requester += remainderWei;
    expect(await vault('v1')).toMatchObject({ status: 'closed', balanceWei: 0n, owner: m.requester.address });
    await expectLedger();

    await expectCode(simulateDraw('v1', tplA, { costWei: AGPU }), 'VaultIsClosed');
    await expectCode(m.publicClient.simulateContract({ account: m.deployer, address: m.addresses.vaults!, abi: vaultsAbi(), functionName: 'deposit', args: [v1Id, AGPU, NO_PERMIT] }), 'VaultIsClosed');
    await expectCode(send(m.deployerW, 'updateTemplate', [v1Id, jobTemplateHash(tplB), await ownerSig(m.requester, 'v1', { kind: 'TemplateUpdate', templateHash: jobTemplateHash(tplB) })]), 'VaultIsClosed');
    await expectCode(send(m.deployerW, 'setPaused', [v1Id, true, await ownerSig(m.requester, 'v1', { kind: 'VaultPause', paused: true })]), 'VaultIsClosed');
    await expectCode(send(m.deployerW, 'close', [v1Id, await ownerSig(m.requester, 'v1', { kind: 'VaultClose' })]), 'VaultIsClosed');
    await expectCode(withdrawVault(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'v1', amountWei: 1n }), 'InsufficientVaultBalance');
    expect(await closeVault(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'v1', owner: m.requester })).toMatchObject({ alreadyClosed: true, txHash: null });
    expect((await openVault(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'v1', owner: m.requester, capPerPeriodWei: CAP_WEI, periodSec: PERIOD_SEC, templateHash: jobTemplateHash(tplA), depositWei: 0n })).alreadyOpen).toBe(true);
    await expectLedger();
  });

  it('the owner closes by itself (no signature): only its own vault, all of it to itself', async () => {
    await m.testClient.setBalance({ address: m.requester2.address, value: 10n ** 18n }); // gas for the owner's own call
    const ownerW = m.wallet(m.requester2);
    await draw('v2', tplB, 8n * AGPU, m.requester2);
    await expectCode(draw('v2', tplB, 8n * AGPU, m.requester2), 'CapExceeded');
    await withdrawVault(m.deployerW, m.publicClient, { addresses: m.addresses, vaultId: 'v2', amountWei: 10n * AGPU }); // by the platform, to the owner
    model.vaults -= 10n * AGPU;
    model.requester2 += 10n * AGPU;
    await advanceTime(m, PERIOD_SEC);
    const short = await expectCode(simulateDraw('v2', tplB, { costWei: 3n * AGPU, requester: m.requester2.address }), 'InsufficientVaultBalance');
    expect(short.args).toEqual([idToBytes32('v2'), 2n * AGPU, 3n * AGPU]);
    await expectCode(send(ownerW, 'close', [idToBytes32('v1'), '0x']), 'VaultIsClosed');
    await send(ownerW, 'close', [idToBytes32('v2'), '0x']);
    model.vaults -= 2n * AGPU;
    model.requester2 += 2n * AGPU;
    expect(await vault('v2')).toMatchObject({ status: 'closed', balanceWei: 0n, nonce: 1n });
    await expectLedger();
  });

  it('the escrowed draws settle to the provider or back to the owner, never to the vault', async () => {
    expect(model.vaults).toBe(0n);
    const ids = [...openJobs.keys()];
    // release every other job on the provider's signature; refund the rest after their deadline
    for (const jobId of ids.filter((_, i) => i % 2 === 0)) {
      const resultHash = hash32(`${jobId}/r`);
      const proofHash = hash32(`${jobId}/p`);
      const providerSignature = await signResult(m.provider, { addresses: m.addresses, chainId: m.chainId, jobId, resultHash, proofHash });
      await releaseComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId, resultHash, proofHash, providerSignature });
      model.provider += openJobs.get(jobId)!;
      model.escrow -= openJobs.get(jobId)!;
      openJobs.delete(jobId);
    }
    await expectLedger();
    await advanceTime(m, JOB_DEADLINE_IN_SEC + 1);
    for (const jobId of [...openJobs.keys()]) {
      const state = await readComputeContract(m.publicClient, { addresses: m.addresses, jobId });
      await refundComputeContract(m.settlementW, m.publicClient, { addresses: m.addresses, jobId });
      if (state.requester === m.requester.address) model.requester += openJobs.get(jobId)!;
      else model.requester2 += openJobs.get(jobId)!;
      model.escrow -= openJobs.get(jobId)!;
      openJobs.delete(jobId);
    }
    expect(model.escrow).toBe(0n);
    await expectLedger();
  });
});
