import type { Address } from 'viem';
import { artifacts } from './artifacts';
import { toChainActionError } from './errors';
import { idToBytes32 } from './jobId';
import { requireAddress } from './requireAddress';
import type { ChainPublicClient, MarketAddresses } from './types';

export interface StakeState {
  activeWei: bigint;
  unbondingWei: bigint;
  unbondReadyAtSec: number;
  poolTotalWei: bigint;
}

export async function readStake(publicClient: ChainPublicClient, params: { addresses: MarketAddresses; poolId: string; staker: Address }): Promise<StakeState> {
  try {
    const staking = requireAddress(params.addresses, 'staking');
    const abi = artifacts().StakingPools.abi;
    const poolId = idToBytes32(params.poolId);
    const [s, total] = await Promise.all([
      publicClient.readContract({ address: staking, abi, functionName: 'stakeOf', args: [poolId, params.staker] }),
      publicClient.readContract({ address: staking, abi, functionName: 'poolTotalWei', args: [poolId] }),
    ]);
    return { activeWei: s.activeWei, unbondingWei: s.unbondingWei, unbondReadyAtSec: Number(s.unbondReadyAt), poolTotalWei: total };
  } catch (err) {
    throw toChainActionError(err, 'readStake');
  }
}
