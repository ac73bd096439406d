import type { Address, Hex } from 'viem';
import { tokenAbi } from './artifacts';
import { toChainActionError } from './errors';
import { sendTx, waitForSuccess } from './receipts';
import type { ChainPublicClient, ChainWalletClient } from './types';

export interface MintAgpuParams {
  token: Address;
  to: Address;
  amountWei: bigint;
}

/** Mint AGPU (the wallet must hold MINTER_ROLE; beyond the cap it reverts ERC20ExceededCap). */
export async function mintAgpu(walletClient: ChainWalletClient, publicClient: ChainPublicClient, params: MintAgpuParams): Promise<{ txHash: Hex; blockNumber: bigint }> {
  try {
    const txHash = await sendTx(publicClient, 'mintAgpu', async () => {
      const { request } = await publicClient.simulateContract({
        account: walletClient.account,
        address: params.token,
        abi: tokenAbi(),
        functionName: 'mint',
        args: [params.to, params.amountWei],
      });
      return walletClient.writeContract(request);
    });
    const receipt = await waitForSuccess(publicClient, txHash, 'mintAgpu');
    return { txHash, blockNumber: receipt.blockNumber };
  } catch (err) {
    throw toChainActionError(err, 'mintAgpu');
  }
}
