import type { Hex } from 'viem';
import { idToBytes32 } from './jobId';
import { readStake } from './readStake';
import { sendStakingTx } from './sendStakingTx';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

/** The staker (its own wallet) withdraws all unbonded stake once the delay has passed ('UnbondNotReady' before). */
export async function withdrawStake(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  params: { addresses: MarketAddresses; poolId: string },
): Promise<{ txHash: Hex; blockNumber: bigint; amountWei: bigint }> {
  const before = await readStake(publicClient, { addresses: params.addresses, poolId: params.poolId, staker: walletClient.account.address });
  const sent = await sendStakingTx(walletClient, publicClient, params.addresses, 'withdraw', [idToBytes32(params.poolId)], `withdrawStake ${params.poolId}`);
  return { ...sent, amountWei: before.unbondingWei };
}
