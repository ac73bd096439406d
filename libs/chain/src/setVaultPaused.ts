import type { Hex, LocalAccount } from 'viem';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';
import { sendVaultOwnerAction } from './vaultOwnerAction';

/**
 * Pause a vault (no draws until resumed) or resume it, on its owner's signature (any wallet relays).
 * Idempotent: the vault already in that state → `alreadySet`, nothing sent.
 */
export async function setVaultPaused(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  p: { addresses: MarketAddresses; vaultId: string; owner: LocalAccount; paused: boolean },
): Promise<{ txHash: Hex | null; blockNumber: bigint | null; alreadySet: boolean }> {
  const receipt = await sendVaultOwnerAction(walletClient, publicClient, { ...p, label: 'setVaultPaused' }, (v) =>
    v.status === (p.paused ? 'paused' : 'active') ? undefined : { action: { kind: 'VaultPause', paused: p.paused }, functionName: 'setPaused', args: [p.paused] },
  );
  return receipt ? { txHash: receipt.transactionHash, blockNumber: receipt.blockNumber, alreadySet: false } : { txHash: null, blockNumber: null, alreadySet: true };
}
