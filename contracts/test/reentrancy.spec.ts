import { decodeErrorResult, keccak256, stringToBytes, type Address, type Hex } from 'viem';
import { agpuBalance, artifacts, deployContract, jobIdToBytes32, marketErrorsAbi } from '@starminer/chain';
import { advanceTime, chainNowSec, expectCode, startMarket, type Market } from './fixture';

/**
 * A hostile token that hands control to receivers (ERC-777 style) and a requester contract that
 * uses it to re-enter the escrow while being refunded: the guard and checks-effects-interactions
 * must pay each job exactly once.
 */
let m: Market;
let token: Address;
let escrow: Address;
let receiver: Address;
const COST = 1_000n;

beforeAll(async () => {
  m = await startMarket({ fundRequestersWei: 0n });
  const a = artifacts();
  token = await deployContract(m.adminW, m.publicClient, a.HookToken, [], 'HookToken');
  escrow = await deployContract(m.adminW, m.publicClient, a.ComputeEscrow, [token, m.admin.address, m.deployer.address, m.settlement.address, 3600n, 3600n], 'ComputeEscrow');
  receiver = await deployContract(m.adminW, m.publicClient, a.ReentrantReceiver, [escrow], 'ReentrantReceiver');
  await m.adminW.writeContract({ address: token, abi: a.HookToken.abi, functionName: 'mint', args: [receiver, 10n * COST] });
  await m.adminW.writeContract({ address: receiver, abi: a.ReentrantReceiver.abi, functionName: 'approve', args: [token, 10n * COST] });
}, 60_000);
afterAll(async () => {
  await m?.stop();
});

async function open(jobId: string, deadlineSec: number): Promise<void> {
  const { request } = await m.publicClient.simulateContract({
    account: m.deployer,
    address: escrow,
    abi: artifacts().ComputeEscrow.abi,
    functionName: 'open',
    args: [{ jobId: jobIdToBytes32(jobId), requester: receiver, provider: m.provider.address, costWei: COST, expectedRuntimeSec: 1, deadline: deadlineSec, termsHash: keccak256(stringToBytes(jobId)) }],
  });
  await m.publicClient.waitForTransactionReceipt({ hash: await m.deployerW.writeContract(request), pollingInterval: 50 });
}

it('a reentrant requester cannot be refunded twice, nor pull another job\'s escrow during its refund', async () => {
  const now = await chainNowSec(m);
  await open('victim-a', now + 100);
  await open('victim-b', now + 100);
  const terms = { requester: receiver, provider: m.provider.address, costWei: COST };
  await m.adminW.writeContract({ address: receiver, abi: artifacts().ReentrantReceiver.abi, functionName: 'arm', args: [[jobIdToBytes32('victim-a'), jobIdToBytes32('victim-b')], [terms, terms]] });
  await advanceTime(m, 101);
  expect(await agpuBalance(m.publicClient, { token, account: escrow })).toBe(2n * COST);

  const { request } = await m.publicClient.simulateContract({ account: m.settlement, address: escrow, abi: artifacts().ComputeEscrow.abi, functionName: 'refund', args: [jobIdToBytes32('victim-a'), terms] });
  // Explicit gas: an estimate would find the least gas at which the outer call succeeds, i.e. one
  // where the hook itself runs out of gas, and the attack would never be tried.
  await m.publicClient.waitForTransactionReceipt({ hash: await m.settlementW.writeContract({ ...request, gas: 1_000_000n }), pollingInterval: 50 });

  const read = <T>(functionName: 'attempts' | 'succeeded' | 'errorCount', args: readonly unknown[] = []) =>
    m.publicClient.readContract({ address: receiver, abi: artifacts().ReentrantReceiver.abi, functionName, args: args as [] }) as Promise<T>;
  expect(await read<bigint>('attempts')).toBe(1n);
  expect(await read<bigint>('succeeded')).toBe(0n);
  expect(await read<bigint>('errorCount')).toBe(2n);
  for (const i of [0n, 1n]) {
    const err = (await m.publicClient.readContract({ address: receiver, abi: artifacts().ReentrantReceiver.abi, functionName: 'errors', args: [i] })) as Hex;
    expect(decodeErrorResult({ abi: marketErrorsAbi(), data: err }).errorName).toBe('ReentrancyGuardReentrantCall');
  }
  // refunded once; the other job's escrow untouched
  expect(await agpuBalance(m.publicClient, { token, account: receiver })).toBe(9n * COST);
  expect(await agpuBalance(m.publicClient, { token, account: escrow })).toBe(COST);
  const status = await m.publicClient.readContract({ address: escrow, abi: artifacts().ComputeEscrow.abi, functionName: 'statusOf', args: [jobIdToBytes32('victim-b')] });
  expect(status).toBe(1); // Open

  // and the same refund again, from outside, is refused
  await expectCode(
    m.publicClient.simulateContract({ account: m.settlement, address: escrow, abi: artifacts().ComputeEscrow.abi, functionName: 'refund', args: [jobIdToBytes32('victim-a'), terms] }),
    'AlreadySettled',
  );
});

it('the escrow\'s token is fixed at construction: no call can make it move another token', async () => {
  const tokenOf = await m.publicClient.readContract({ address: m.addresses.escrow, abi: artifacts().ComputeEscrow.abi, functionName: 'token' });
  expect(tokenOf).toBe(m.addresses.token);
  const writable = artifacts().ComputeEscrow.abi.filter((x) => x.type === 'function' && x.stateMutability === 'nonpayable');
  for (const fn of writable) {
    if (fn.type !== 'function') continue;
    expect(fn.inputs.some((i) => i.type === 'address' && /token/i.test(i.name))).toBe(false);
  }
});
