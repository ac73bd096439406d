import type { Address, Hex } from 'viem';
import { artifacts } from './artifacts';
import { toChainActionError } from './errors';
import { idToBytes32, jobIdToBytes32 } from './jobId';
import { readComputeContract, termsOf } from './readComputeContract';
import { requireAddress } from './requireAddress';
import { sendStakingTx } from './sendStakingTx';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

export interface SlashResult {
  txHash: Hex;
  blockNumber: bigint;
  /** The job's provider (whose stake was taken) and requester (who was paid), as the escrow committed them. */
  provider: Address;
  requester: Address;
  amountWei: bigint;
}

/**
 * Settlement-role action: take up to the job's cost from its provider's stake in `poolId` (active
 * first, then unbonding) and pay it to the job's requester. The contract enforces the rest: the
 * job must be refunded or disputed in the escrow, the terms (requester, provider, cost) are read
 * here from the job's ComputeContractOpened event and checked against the escrow's commitment,
 * `amountWei` <= `slashBoundWei(costWei)` (MAX_SLASH_BPS_OF_COST of the cost), and a job is
 * slashed at most once. Reverts map to ChainActionError codes: 'UnknownJob', 'JobNotSlashable',
 * 'TermsMismatch', 'SlashAboveBound', 'AlreadySlashed', 'InsufficientStake', 'ZeroAmount'.
 */
export async function slashStake(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  params: { addresses: MarketAddresses; poolId: string; jobId: string; amountWei: bigint },
): Promise<SlashResult> {
  const job = await readComputeContract(publicClient, { addresses: params.addresses, jobId: params.jobId });
  const terms = termsOf(job);
  const sent = await sendStakingTx(
    walletClient,
    publicClient,
    params.addresses,
    'slash',
    [idToBytes32(params.poolId), jobIdToBytes32(params.jobId), terms, params.amountWei],
    `slashStake ${params.poolId} job ${params.jobId}`,
  );
  return { ...sent, provider: terms.provider, requester: terms.requester, amountWei: params.amountWei };
}

/** What was slashed on chain for a job (0n = never slashed; a job is slashed at most once). */
export async function readSlashedWei(publicClient: ChainPublicClient, params: { addresses: MarketAddresses; jobId: string }): Promise<bigint> {
  try {
    return await publicClient.readContract({
      address: requireAddress(params.addresses, 'staking'),
      abi: artifacts().StakingPools.abi,
      functionName: 'slashedWei',
      args: [jobIdToBytes32(params.jobId)],
    });
  } catch (err) {
    throw toChainActionError(err, 'readSlashedWei');
  }
}

/** The most the staking contract lets one job of this cost be slashed (MAX_SLASH_BPS_OF_COST of it). */
export async function readSlashBoundWei(publicClient: ChainPublicClient, params: { addresses: MarketAddresses; costWei: bigint }): Promise<bigint> {
  try {
    return await publicClient.readContract({
      address: requireAddress(params.addresses, 'staking'),
      abi: artifacts().StakingPools.abi,
      functionName: 'slashBoundWei',
      args: [params.costWei],
    });
  } catch (err) {
    throw toChainActionError(err, 'readSlashBoundWei');
  }
}
