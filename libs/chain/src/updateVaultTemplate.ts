import type { Hex, LocalAccount } from 'viem';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';
import { sendVaultOwnerAction } from './vaultOwnerAction';

export interface UpdateVaultTemplateParams {
  addresses: MarketAddresses;
  vaultId: string;
  /** The vault's owner (custodial): signs the TemplateUpdate with the vault's current nonce. */
  owner: LocalAccount;
  /** `jobTemplateHash` of the new template. */
  templateHash: Hex;
}

/**
 * Replace the template a vault pays for, on its owner's signature (any wallet relays). The period's
 * spending carries over. Idempotent: the vault already on that template → `alreadySet`, nothing sent.
 */
export async function updateVaultTemplate(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  p: UpdateVaultTemplateParams,
): Promise<{ txHash: Hex | null; blockNumber: bigint | null; alreadySet: boolean }> {
  const receipt = await sendVaultOwnerAction(walletClient, publicClient, { ...p, label: 'updateVaultTemplate' }, (v) =>
    v.templateHash.toLowerCase() === p.templateHash.toLowerCase() ? undefined : { action: { kind: 'TemplateUpdate', templateHash: p.templateHash }, functionName: 'updateTemplate', args: [p.templateHash] },
  );
  return receipt ? { txHash: receipt.transactionHash, blockNumber: receipt.blockNumber, alreadySet: false } : { txHash: null, blockNumber: null, alreadySet: true };
}
