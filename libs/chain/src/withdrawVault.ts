import type { Hex } from 'viem';
import { artifacts } from './artifacts';
import { toChainActionError } from './errors';
import { idToBytes32 } from './jobId';
import { sendTx, waitForSuccess } from './receipts';
import { requireAddress } from './requireAddress';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

/** Return vault money to its owner (sent by the owner or the platform role; it can only go to the owner). */
export async function withdrawVault(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  p: { addresses: MarketAddresses; vaultId: string; amountWei: bigint },
): Promise<{ txHash: Hex; blockNumber: bigint }> {
  try {
    const txHash = await sendTx(publicClient, 'withdrawVault', async () => {
      const { request } = await publicClient.simulateContract({
        account: walletClient.account,
        address: requireAddress(p.addresses, 'vaults'),
        abi: artifacts().ComputeVaults.abi,
        functionName: 'withdraw',
        args: [idToBytes32(p.vaultId), p.amountWei],
      });
      return walletClient.writeContract(request);
    });
    const receipt = await waitForSuccess(publicClient, txHash, 'withdrawVault');
    return { txHash, blockNumber: receipt.blockNumber };
  } catch (err) {
    throw toChainActionError(err, `withdrawVault ${p.vaultId}`);
  }
}
