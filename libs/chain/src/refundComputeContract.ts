import { escrowAbi } from './artifacts';
import { jobIdToBytes32 } from './jobId';
import { termsOf } from './readComputeContract';
import { settle, type SettleResult } from './releaseComputeContract';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

/**
 * Return the escrow to the requester. The settlement role may do it once the deadline has passed
 * (or at any time while disputed); any other wallet only after deadline + the public refund delay
 * (reverts 'DeadlineNotReached' before). Idempotent like releaseComputeContract.
 */
export async function refundComputeContract(walletClient: ChainWalletClient, publicClient: ChainPublicClient, params: { addresses: MarketAddresses; jobId: string }): Promise<SettleResult> {
  return settle(walletClient, publicClient, params, 'refunded', async (job) => {
    const { request } = await publicClient.simulateContract({
      account: walletClient.account,
      address: params.addresses.escrow,
      abi: escrowAbi(),
      functionName: 'refund',
      args: [jobIdToBytes32(params.jobId), termsOf(job)],
    });
    return walletClient.writeContract(request);
  });
}
