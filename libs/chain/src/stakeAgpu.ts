import type { Hex, LocalAccount } from 'viem';
import { artifacts } from './artifacts';
import { toChainActionError } from './errors';
import { idToBytes32 } from './jobId';
import { chainIdOf, permitNonce, signPermit } from './permit';
import { sendTx, waitForSuccess } from './receipts';
import { requireAddress } from './requireAddress';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

/** Permits for stake and vault deposits stay valid this long. */
export const PERMIT_TTL_SEC = 3_600;

/**
 * Stake a provider's AGPU into a pool with its permit; any wallet may send the transaction (the
 * tokens can only become the staker's own stake), so node keys need no ether.
 */
export async function stakeAgpu(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  params: { addresses: MarketAddresses; poolId: string; staker: LocalAccount; amountWei: bigint },
): Promise<{ txHash: Hex; blockNumber: bigint }> {
  try {
    const staking = requireAddress(params.addresses, 'staking');
    const now = (await publicClient.getBlock({ blockTag: 'latest' })).timestamp;
    const permit = await signPermit(params.staker, {
      token: params.addresses.token,
      chainId: await chainIdOf(publicClient),
      spender: staking,
      valueWei: params.amountWei,
      nonce: await permitNonce(publicClient, params.addresses.token, params.staker.address),
      deadlineSec: now + BigInt(PERMIT_TTL_SEC),
    });
    const txHash = await sendTx(publicClient, 'stakeAgpu', async () => {
      const { request } = await publicClient.simulateContract({
        account: walletClient.account,
        address: staking,
        abi: artifacts().StakingPools.abi,
        functionName: 'stakeWithPermit',
        args: [idToBytes32(params.poolId), params.staker.address, params.amountWei, permit],
      });
      return walletClient.writeContract(request);
    });
    const receipt = await waitForSuccess(publicClient, txHash, 'stakeAgpu');
    return { txHash, blockNumber: receipt.blockNumber };
  } catch (err) {
    throw toChainActionError(err, `stakeAgpu ${params.poolId}`);
  }
}
