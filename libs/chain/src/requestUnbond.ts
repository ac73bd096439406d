import type { Hex } from 'viem';
import { idToBytes32 } from './jobId';
import { sendStakingTx } from './sendStakingTx';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

/** The staker (its own wallet) moves active stake to unbonding; withdrawable after the pool's delay. */
export async function requestUnbond(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  params: { addresses: MarketAddresses; poolId: string; amountWei: bigint },
): Promise<{ txHash: Hex; blockNumber: bigint }> {
  return sendStakingTx(walletClient, publicClient, params.addresses, 'requestUnbond', [idToBytes32(params.poolId), params.amountWei], `requestUnbond ${params.poolId}`);
}
