import type { Address, Hex } from 'viem';
import { artifacts } from './artifacts';
import { toChainActionError } from './errors';
import { idToBytes32 } from './jobId';
import { requireAddress } from './requireAddress';
import type { ChainPublicClient, MarketAddresses } from './types';

export interface VaultState {
  exists: boolean;
  owner: Address;
  balanceWei: bigint;
  capPerPeriodWei: bigint;
  periodSec: number;
  periodStartSec: number;
  spentInPeriodWei: bigint;
  templateHash: Hex;
}

export async function readVault(publicClient: ChainPublicClient, p: { addresses: MarketAddresses; vaultId: string }): Promise<VaultState> {
  try {
    const v = await publicClient.readContract({ address: requireAddress(p.addresses, 'vaults'), abi: artifacts().ComputeVaults.abi, functionName: 'getVault', args: [idToBytes32(p.vaultId)] });
    return {
      exists: v.owner !== '0x0000000000000000000000000000000000000000',
      owner: v.owner,
      balanceWei: v.balanceWei,
      capPerPeriodWei: v.capPerPeriodWei,
      periodSec: Number(v.periodSec),
      periodStartSec: Number(v.periodStart),
      spentInPeriodWei: v.spentInPeriodWei,
      templateHash: v.templateHash,
    };
  } catch (err) {
    throw toChainActionError(err, 'readVault');
  }
}
