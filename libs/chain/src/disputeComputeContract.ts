import type { Hex } from 'viem';
import { escrowAbi } from './artifacts';
import { toChainActionError } from './errors';
import { jobIdToBytes32 } from './jobId';
import { sendTx, waitForSuccess } from './receipts';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

/**
 * Settlement-role action: hold an open job. It then ends by a release (with the provider's
 * signature), a settlement refund, or anyone's refund once the dispute window has passed.
 */
export async function disputeComputeContract(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  params: { addresses: MarketAddresses; jobId: string; reasonHash: Hex },
): Promise<{ txHash: Hex; blockNumber: bigint }> {
  try {
    const txHash = await sendTx(publicClient, 'disputeComputeContract', async () => {
      const { request } = await publicClient.simulateContract({
        account: walletClient.account,
        address: params.addresses.escrow,
        abi: escrowAbi(),
        functionName: 'dispute',
        args: [jobIdToBytes32(params.jobId), params.reasonHash],
      });
      return walletClient.writeContract(request);
    });
    const receipt = await waitForSuccess(publicClient, txHash, 'disputeComputeContract');
    return { txHash, blockNumber: receipt.blockNumber };
  } catch (err) {
    throw toChainActionError(err, `disputeComputeContract ${params.jobId}`);
  }
}
