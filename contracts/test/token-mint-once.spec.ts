import { encodeFunctionData, type Hex } from 'viem';
import { agpuBalance, checkMintOnce, faucetMintRef, mintAgpu, mintAgpuOnce, readMintRef, tokenAbi } from '@starminer/chain';
import { AGPU, expectCode, startMarket, type Market } from './fixture';

let m: Market;

beforeAll(async () => {
  // requesters unfunded: the supply is exactly what these tests mint
  m = await startMarket({ fundRequestersWei: 0n, capWei: 1_000n * AGPU });
}, 60_000);
afterAll(async () => {
  await m?.stop();
});

const abi = () => tokenAbi();
const bal = (account: Hex) => agpuBalance(m.publicClient, { token: m.addresses.token, account });
const supply = () => m.publicClient.readContract({ address: m.addresses.token, abi: abi(), functionName: 'totalSupply' });
const minted = (ref: Hex) => m.publicClient.readContract({ address: m.addresses.token, abi: abi(), functionName: 'mintedRefs', args: [ref] });
const once = (ref: Hex, amountWei: bigint, to: Hex = m.requester.address, wallet = m.minterW) => mintAgpuOnce(wallet, m.publicClient, { token: m.addresses.token, to, amountWei, mintRef: ref });

describe('AgpuToken.mintOnce', () => {
  it('mints a reference once: a second call reverts MintRefUsed, and the library answers it with the first mint', async () => {
    const ref = faucetMintRef('org-a', 'req-1');
    const [before, supplyBefore] = [await bal(m.requester.address), await supply()];
    expect(await minted(ref)).toBe(false);
    expect(await readMintRef(m.publicClient, { token: m.addresses.token, mintRef: ref })).toEqual({ minted: false });

    const first = await once(ref, 7n * AGPU);
    expect(first.alreadyMinted).toBe(false);
    expect(await bal(m.requester.address)).toBe(before + 7n * AGPU);
    expect(await minted(ref)).toBe(true);
    expect(await readMintRef(m.publicClient, { token: m.addresses.token, mintRef: ref })).toEqual({
      minted: true,
      txHash: first.txHash,
      blockNumber: first.blockNumber,
      blockHash: first.blockHash,
      to: m.requester.address,
      amountWei: 7n * AGPU,
    });
    const logs = await m.publicClient.getContractEvents({ address: m.addresses.token, abi: abi(), eventName: 'MintedOnce', args: { ref }, fromBlock: 0n });
    expect(logs.map((l) => [l.args.to, l.args.amountWei, l.transactionHash])).toEqual([[m.requester.address, 7n * AGPU, first.txHash]]);

    // the contract itself refuses the reference a second time, even to another recipient: the call
    // reverts MintRefUsed, and a transaction sent past the estimate is mined reverted
    await expectCode(m.publicClient.simulateContract({ account: m.minter, address: m.addresses.token, abi: abi(), functionName: 'mintOnce', args: [m.requester2.address, 1n, ref] }), 'MintRefUsed');
    const raw = await m.minterW.sendTransaction({ to: m.addresses.token, gas: 200_000n, data: encodeFunctionData({ abi: abi(), functionName: 'mintOnce', args: [m.requester2.address, 1n, ref] }) });
    expect((await m.publicClient.waitForTransactionReceipt({ hash: raw })).status).toBe('reverted');

    const again = await once(ref, 7n * AGPU);
    expect(again).toEqual({ ...first, alreadyMinted: true });
    expect(await bal(m.requester.address)).toBe(before + 7n * AGPU);
    expect(await bal(m.requester2.address)).toBe(0n);
    expect(await supply()).toBe(supplyBefore + 7n * AGPU);
  });

  it('refuses a used reference for another recipient or amount (MintRefConflict), the zero reference, and a check passes a used one', async () => {
    const ref = faucetMintRef('org-a', 'req-conflict');
    await once(ref, 2n * AGPU);
    const supplyBefore = await supply();
    await expectCode(once(ref, 3n * AGPU), 'MintRefConflict');
    await expectCode(once(ref, 2n * AGPU, m.requester2.address), 'MintRefConflict');
    await expectCode(once(`0x${'00'.repeat(32)}`, AGPU), 'ZeroRef');
    await checkMintOnce(m.publicClient, { account: m.minter, token: m.addresses.token, to: m.requester.address, amountWei: 2n * AGPU, mintRef: ref });
    expect(await supply()).toBe(supplyBefore);
  });

  it('only the minter role mints: a stranger is refused and the reference stays unused', async () => {
    const ref = faucetMintRef('org-a', 'req-stranger');
    await expectCode(once(ref, AGPU, m.requester.address, m.strangerW), 'AccessControlUnauthorizedAccount');
    await expectCode(checkMintOnce(m.publicClient, { account: m.stranger, token: m.addresses.token, to: m.requester.address, amountWei: AGPU, mintRef: ref }), 'AccessControlUnauthorizedAccount');
    expect(await minted(ref)).toBe(false);
    // the admin grants the role: the stranger may then mint it, once
    const role = await m.publicClient.readContract({ address: m.addresses.token, abi: abi(), functionName: 'MINTER_ROLE' });
    await m.adminW.sendTransaction({ to: m.addresses.token, data: encodeFunctionData({ abi: abi(), functionName: 'grantRole', args: [role, m.stranger.address] }) }).then((hash) => m.publicClient.waitForTransactionReceipt({ hash }));
    expect((await once(ref, AGPU, m.requester.address, m.strangerW)).alreadyMinted).toBe(false);
    expect((await once(ref, AGPU, m.requester.address, m.minterW)).alreadyMinted).toBe(true);
  });

  it('two minters racing on one reference: exactly one mints, both answer the same transaction', async () => {
    const ref = faucetMintRef('org-b', 'req-race');
    const role = await m.publicClient.readContract({ address: m.addresses.token, abi: abi(), functionName: 'MINTER_ROLE' });
    const second = m.wallet(m.provider);
    await m.adminW.sendTransaction({ to: m.addresses.token, data: encodeFunctionData({ abi: abi(), functionName: 'grantRole', args: [role, m.provider.address] }) }).then((hash) => m.publicClient.waitForTransactionReceipt({ hash }));
    const [supplyBefore, before] = [await supply(), await bal(m.requester2.address)];
    const [a, b] = await Promise.all([once(ref, 5n * AGPU, m.requester2.address, m.minterW), once(ref, 5n * AGPU, m.requester2.address, second)]);
    expect(a.txHash).toBe(b.txHash);
    expect([a.alreadyMinted, b.alreadyMinted].sort()).toEqual([false, true]);
    expect(await bal(m.requester2.address)).toBe(before + 5n * AGPU);
    expect(await supply()).toBe(supplyBefore + 5n * AGPU);
  });

  it('the cap binds mintOnce: beyond it ERC20ExceededCap, the reference stays unused, and the supply is the sum of every mint', async () => {
    const cap = await m.publicClient.readContract({ address: m.addresses.token, abi: abi(), functionName: 'cap' });
    const ref = faucetMintRef('org-c', 'req-cap');
    const room = cap - (await supply());
    await expectCode(checkMintOnce(m.publicClient, { account: m.minter, token: m.addresses.token, to: m.requester.address, amountWei: room + 1n, mintRef: ref }), 'ERC20ExceededCap');
    await expectCode(once(ref, room + 1n), 'ERC20ExceededCap');
    expect(await minted(ref)).toBe(false);
    await once(ref, room);
    expect(await supply()).toBe(cap);
    // conservation: every token in existence came from a Minted event (mint and mintOnce both emit it)
    const mints = await m.publicClient.getContractEvents({ address: m.addresses.token, abi: abi(), eventName: 'Minted', fromBlock: 0n });
    expect(mints.reduce((sum, l) => sum + (l.args.amountWei ?? 0n), 0n)).toBe(cap);
    await expectCode(mintAgpu(m.minterW, m.publicClient, { token: m.addresses.token, to: m.requester.address, amountWei: 1n }), 'ERC20ExceededCap');
  });
});
