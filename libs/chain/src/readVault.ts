import type { Address, Hex } from 'viem';
import { artifacts } from './artifacts';
import { toChainActionError } from './errors';
import { idToBytes32 } from './jobId';
import { requireAddress } from './requireAddress';
import type { ChainPublicClient, MarketAddresses } from './types';

/** ComputeVaults.VaultStatus, by index. */
export const VAULT_STATUSES = ['none', 'active', 'paused', 'closed'] as const;
export type VaultStatus = (typeof VAULT_STATUSES)[number];

export interface VaultState {
  exists: boolean;
  status: VaultStatus;
  owner: Address;
  balanceWei: bigint;
  capPerPeriodWei: bigint;
  periodSec: number;
  /** As last written by a draw; the current period may have begun since (see `current`). */
  periodStartSec: number;
  spentInPeriodWei: bigint;
  templateHash: Hex;
  /** The nonce the owner's next signed action (template update, pause, close) must carry. */
  nonce: bigint;
  /** The period a draw now would fall in (null when the vault does not exist). */
  current: { periodStartSec: number; spentWei: bigint; remainingCapWei: bigint } | null;
}

export async function readVault(publicClient: ChainPublicClient, p: { addresses: MarketAddresses; vaultId: string }): Promise<VaultState> {
  try {
    const address = requireAddress(p.addresses, 'vaults');
    const abi = artifacts().ComputeVaults.abi;
    const vaultId = idToBytes32(p.vaultId);
    const v = await publicClient.readContract({ address, abi, functionName: 'getVault', args: [vaultId] });
    const exists = v.owner !== '0x0000000000000000000000000000000000000000';
    const current = exists ? await publicClient.readContract({ address, abi, functionName: 'currentPeriod', args: [vaultId] }) : null;
    return {
      exists,
      status: VAULT_STATUSES[v.status] ?? 'none',
      owner: v.owner,
      balanceWei: v.balanceWei,
      capPerPeriodWei: v.capPerPeriodWei,
      periodSec: Number(v.periodSec),
      periodStartSec: Number(v.periodStart),
      spentInPeriodWei: v.spentInPeriodWei,
      templateHash: v.templateHash,
      nonce: v.nonce,
      current: current ? { periodStartSec: Number(current[0]), spentWei: current[1], remainingCapWei: current[2] } : null,
    };
  } catch (err) {
    throw toChainActionError(err, 'readVault');
  }
}
