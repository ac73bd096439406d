import type { Hex } from 'viem';
import { artifacts } from './artifacts';
import { toChainActionError } from './errors';
import { sendTx, waitForSuccess } from './receipts';
import { requireAddress } from './requireAddress';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

type StakingWrite = 'requestUnbond' | 'withdraw' | 'slash';

/** Simulate, send and await one StakingPools write (shared by the staking actions). */
export async function sendStakingTx(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  addresses: MarketAddresses,
  functionName: StakingWrite,
  args: readonly unknown[],
  action: string,
): Promise<{ txHash: Hex; blockNumber: bigint }> {
  try {
    const txHash = await sendTx(publicClient, action, async () => {
      const { request } = await publicClient.simulateContract({
        account: walletClient.account,
        address: requireAddress(addresses, 'staking'),
        abi: artifacts().StakingPools.abi,
        functionName,
        args: args as never,
      });
      return walletClient.writeContract(request);
    });
    const receipt = await waitForSuccess(publicClient, txHash, action);
    return { txHash, blockNumber: receipt.blockNumber };
  } catch (err) {
    throw toChainActionError(err, action);
  }
}
