/** Test fixture: a real anvil per test file, the market deployed, named role accounts. */
import { createTestClient, http, type Address, type Hex, type LocalAccount } from 'viem';
import {
  ChainActionError,
  createChainClients,
  custodialAccount,
  deployMarket,
  devAccount,
  mintAgpu,
  startAnvil,
  toChainActionError,
  type AnvilHandle,
  type MarketAddresses,
} from '@starminer/chain';

/** A mnemonic for custodial test requesters (they hold no ether: permits only). */
export const TEST_CUSTODY_MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
export const AGPU = 10n ** 18n;
export const PUBLIC_REFUND_DELAY_SEC = 3_600;
export const DISPUTE_WINDOW_SEC = 7_200;

export interface Market {
  anvil: AnvilHandle;
  addresses: MarketAddresses;
  chainId: number;
  publicClient: ReturnType<typeof createChainClients>['publicClient'];
  wallet: ReturnType<typeof createChainClients>['wallet'];
  testClient: ReturnType<typeof createTestClient>;
  admin: LocalAccount;
  deployer: LocalAccount;
  settlement: LocalAccount;
  minter: LocalAccount;
  provider: LocalAccount;
  stranger: LocalAccount;
  requester: LocalAccount;
  requester2: LocalAccount;
  adminW: ReturnType<ReturnType<typeof createChainClients>['wallet']>;
  deployerW: Market['adminW'];
  settlementW: Market['adminW'];
  minterW: Market['adminW'];
  strangerW: Market['adminW'];
  stop(): Promise<void>;
}

export async function startMarket(opts: { fundRequestersWei?: bigint; capWei?: bigint } = {}): Promise<Market> {
  const anvil = await startAnvil();
  const { publicClient, wallet, chain } = createChainClients(anvil.rpcUrl, anvil.chainId);
  const testClient = createTestClient({ mode: 'anvil', chain, transport: http(anvil.rpcUrl) });
  const [admin, deployer, settlement, minter, provider, stranger] = [0, 1, 2, 3, 4, 5].map(devAccount) as LocalAccount[];
  const adminW = wallet(admin!);
  const addresses = await deployMarket(adminW, publicClient, {
    admin: admin!.address,
    deployer: deployer!.address,
    settlement: settlement!.address,
    minter: minter!.address,
    capWei: opts.capWei,
    publicRefundDelaySec: PUBLIC_REFUND_DELAY_SEC,
    disputeWindowSec: DISPUTE_WINDOW_SEC,
  });
  const requester = custodialAccount(TEST_CUSTODY_MNEMONIC, 0);
  const requester2 = custodialAccount(TEST_CUSTODY_MNEMONIC, 1);
  const minterW = wallet(minter!);
  const fund = opts.fundRequestersWei ?? 1_000n * AGPU;
  if (fund > 0n) {
    await mintAgpu(minterW, publicClient, { token: addresses.token, to: requester.address, amountWei: fund });
    await mintAgpu(minterW, publicClient, { token: addresses.token, to: requester2.address, amountWei: fund });
  }
  return {
    anvil,
    addresses,
    chainId: anvil.chainId,
    publicClient,
    wallet,
    testClient,
    admin: admin!,
    deployer: deployer!,
    settlement: settlement!,
    minter: minter!,
    provider: provider!,
    stranger: stranger!,
    requester,
    requester2,
    adminW,
    deployerW: wallet(deployer!),
    settlementW: wallet(settlement!),
    minterW,
    strangerW: wallet(stranger!),
    stop: () => anvil.stop(),
  };
}

export async function chainNowSec(m: Pick<Market, 'publicClient'>): Promise<number> {
  const block = await m.publicClient.getBlock({ blockTag: 'latest' });
  return Number(block.timestamp);
}

/** Move the chain's clock forward and mine a block with the new time. */
export async function advanceTime(m: Pick<Market, 'testClient'>, seconds: number): Promise<void> {
  await m.testClient.increaseTime({ seconds });
  await m.testClient.mine({ blocks: 1 });
}

/** Await a promise that must fail with a ChainActionError of this code. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<ChainActionError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  if (caught === undefined) throw new Error(`expected ${code}, but it succeeded`);
  const mapped = toChainActionError(caught, 'test');
  if (mapped.code !== code) throw new Error(`expected ${code}, got ${mapped.code}: ${mapped.message}`);
  return mapped;
}

export function hash32(label: string): Hex {
  return `0x${Buffer.from(label.padEnd(32, '.').slice(0, 32)).toString('hex')}` as Hex;
}

export type { Address };
