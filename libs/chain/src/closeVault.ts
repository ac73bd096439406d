import { parseEventLogs, type Hex, type LocalAccount } from 'viem';
import { artifacts } from './artifacts';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';
import { sendVaultOwnerAction } from './vaultOwnerAction';

/**
 * Close a vault for good, on its owner's signature (any wallet relays): no more draws or deposits,
 * the whole remainder back to the owner, in the same transaction. Idempotent: a closed vault →
 * `alreadyClosed`, nothing sent (`remainderWei` 0).
 */
export async function closeVault(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  p: { addresses: MarketAddresses; vaultId: string; owner: LocalAccount },
): Promise<{ txHash: Hex | null; blockNumber: bigint | null; alreadyClosed: boolean; remainderWei: bigint }> {
  const receipt = await sendVaultOwnerAction(walletClient, publicClient, { ...p, label: 'closeVault' }, (v) =>
    v.status === 'closed' ? undefined : { action: { kind: 'VaultClose' }, functionName: 'close', args: [] },
  );
  if (!receipt) return { txHash: null, blockNumber: null, alreadyClosed: true, remainderWei: 0n };
  const [closed] = parseEventLogs({ abi: artifacts().ComputeVaults.abi, eventName: 'VaultClosed', logs: receipt.logs });
  return { txHash: receipt.transactionHash, blockNumber: receipt.blockNumber, alreadyClosed: false, remainderWei: closed?.args.remainderWei ?? 0n };
}
