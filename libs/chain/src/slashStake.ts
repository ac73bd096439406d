import type { Address, Hex } from 'viem';
import { idToBytes32, jobIdToBytes32 } from './jobId';
import { sendStakingTx } from './sendStakingTx';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

/** Settlement-role action: take a provider's stake (active first, then unbonding) to compensate the job's requester. */
export async function slashStake(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  params: { addresses: MarketAddresses; poolId: string; provider: Address; amountWei: bigint; recipient: Address; jobId: string },
): Promise<{ txHash: Hex; blockNumber: bigint }> {
  return sendStakingTx(
    walletClient,
    publicClient,
    params.addresses,
    'slash',
    [idToBytes32(params.poolId), params.provider, params.amountWei, params.recipient, jobIdToBytes32(params.jobId)],
    `slashStake ${params.poolId} ${params.provider}`,
  );
}
