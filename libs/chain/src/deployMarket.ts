import { getAddress, type Abi, type Address, type Hex } from 'viem';
import { artifacts } from './artifacts';
import { toChainActionError, ChainActionError } from './errors';
import { sendTx, waitForSuccess } from './receipts';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

/** 1 billion AGPU. */
export const DEFAULT_AGPU_CAP_WEI = 1_000_000_000n * 10n ** 18n;
export const DEFAULT_PUBLIC_REFUND_DELAY_SEC = 24 * 3600;
export const DEFAULT_DISPUTE_WINDOW_SEC = 3 * 24 * 3600;
export const DEFAULT_UNBOND_DELAY_SEC = 7 * 24 * 3600;

export interface DeployMarketParams {
  admin: Address;
  /** Opens compute contracts, posts anchors, draws vaults. */
  deployer: Address;
  /** Releases, refunds, disputes, slashes. */
  settlement: Address;
  minter: Address;
  capWei?: bigint;
  publicRefundDelaySec?: number;
  disputeWindowSec?: number;
  unbondDelaySec?: number;
}

export async function deployContract(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  contract: { abi: Abi; bytecode: Hex },
  args: readonly unknown[],
  label: string,
): Promise<Address> {
  try {
    const hash = await sendTx(publicClient, `deploy ${label}`, () => walletClient.deployContract({ abi: contract.abi, bytecode: contract.bytecode, args }));
    const receipt = await waitForSuccess(publicClient, hash, `deploy ${label}`);
    if (!receipt.contractAddress) throw new ChainActionError('DeployFailed', `deploy ${label}: no contract address in receipt ${hash}`);
    return getAddress(receipt.contractAddress);
  } catch (err) {
    throw toChainActionError(err, `deploy ${label}`);
  }
}

/**
 * Deploy the whole market once (token, escrow, staking pools, compute vaults, audit anchor); the
 * caller records the addresses (the stack keeps them under .data/). The wallet must be `admin`:
 * it grants the vaults the escrow's FUNDER_ROLE. The staking pools are bound to the escrow at
 * construction: a slash must name one of its refunded or disputed jobs.
 */
export async function deployMarket(walletClient: ChainWalletClient, publicClient: ChainPublicClient, params: DeployMarketParams): Promise<Required<MarketAddresses>> {
  if (walletClient.account.address.toLowerCase() !== params.admin.toLowerCase()) {
    throw new ChainActionError('AdminWalletRequired', `deployMarket: the wallet ${walletClient.account.address} must be the admin ${params.admin}`);
  }
  const a = artifacts();
  const deployBlock = Number(await publicClient.getBlockNumber());
  const token = await deployContract(walletClient, publicClient, a.AgpuToken, [params.admin, params.minter, params.capWei ?? DEFAULT_AGPU_CAP_WEI], 'AgpuToken');
  const escrow = await deployContract(
    walletClient,
    publicClient,
    a.ComputeEscrow,
    [token, params.admin, params.deployer, params.settlement, BigInt(params.publicRefundDelaySec ?? DEFAULT_PUBLIC_REFUND_DELAY_SEC), BigInt(params.disputeWindowSec ?? DEFAULT_DISPUTE_WINDOW_SEC)],
    'ComputeEscrow',
  );
  const staking = await deployContract(walletClient, publicClient, a.StakingPools, [token, escrow, params.admin, params.settlement, BigInt(params.unbondDelaySec ?? DEFAULT_UNBOND_DELAY_SEC)], 'StakingPools');
  const vaults = await deployContract(walletClient, publicClient, a.ComputeVaults, [token, escrow, params.admin, params.deployer], 'ComputeVaults');
  const anchor = await deployContract(walletClient, publicClient, a.AuditAnchor, [params.admin, params.deployer], 'AuditAnchor');
  try {
    const funderRole = await publicClient.readContract({ address: escrow, abi: a.ComputeEscrow.abi, functionName: 'FUNDER_ROLE' });
    const { request } = await publicClient.simulateContract({ account: walletClient.account, address: escrow, abi: a.ComputeEscrow.abi, functionName: 'grantRole', args: [funderRole, vaults] });
    await waitForSuccess(publicClient, await sendTx(publicClient, 'grant FUNDER_ROLE', () => walletClient.writeContract(request)), 'grant FUNDER_ROLE');
  } catch (err) {
    throw toChainActionError(err, 'deployMarket: grant FUNDER_ROLE to the vaults');
  }
  return { token, escrow, staking, vaults, anchor, deployBlock };
}
