import { zeroAddress, type Hex, type LocalAccount, type TransactionReceipt } from 'viem';
import { artifacts } from './artifacts';
import { ChainActionError, toChainActionError } from './errors';
import { idToBytes32 } from './jobId';
import { chainIdOf } from './permit';
import { sendTx, waitForSuccess } from './receipts';
import { VAULT_STATUSES, type VaultStatus } from './readVault';
import { requireAddress } from './requireAddress';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';
import { signVaultOwnerAction, type VaultOwnerAction } from './vaultOwnerSignatures';

/** What an owner action needs of the vault as the chain has it now. */
export interface OwnedVault {
  status: VaultStatus;
  templateHash: Hex;
}

/** The owner action to send, given the vault now; `undefined` when the vault already is as asked (nothing is sent). */
export interface OwnerActionPlan {
  action: VaultOwnerAction;
  functionName: 'updateTemplate' | 'setPaused' | 'close';
  /** The call's arguments after the vault id, before the signature. */
  args: readonly unknown[];
}

/**
 * One action of a vault's owner, relayed by any wallet: checks that the vault exists and that
 * `owner` owns it, asks `plan` what to send given its state (nothing when it is already so),
 * signs it with the vault's current nonce, sends it and waits for its receipt. Returns the receipt,
 * or null when nothing was sent.
 */
export async function sendVaultOwnerAction(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  p: { addresses: MarketAddresses; vaultId: string; owner: LocalAccount; label: string },
  plan: (vault: OwnedVault) => OwnerActionPlan | undefined,
): Promise<TransactionReceipt | null> {
  try {
    const vaults = requireAddress(p.addresses, 'vaults');
    const abi = artifacts().ComputeVaults.abi;
    const vaultId = idToBytes32(p.vaultId);
    const v = await publicClient.readContract({ address: vaults, abi, functionName: 'getVault', args: [vaultId] });
    if (v.owner === zeroAddress) throw new ChainActionError('UnknownVault', `vault ${p.vaultId} does not exist`, { args: [vaultId] });
    if (v.owner.toLowerCase() !== p.owner.address.toLowerCase()) {
      throw new ChainActionError('NotVaultOwner', `vault ${p.vaultId} is owned by ${v.owner}, not ${p.owner.address}`, { args: [vaultId, p.owner.address] });
    }
    const next = plan({ status: VAULT_STATUSES[v.status], templateHash: v.templateHash });
    if (!next) return null;
    const signature = await signVaultOwnerAction(p.owner, { vaults, chainId: await chainIdOf(publicClient), vaultId: p.vaultId, nonce: v.nonce, action: next.action });
    const txHash = await sendTx(publicClient, p.label, async () => {
      const { request } = await publicClient.simulateContract({ account: walletClient.account, address: vaults, abi, functionName: next.functionName, args: [vaultId, ...next.args, signature] } as never);
      return walletClient.writeContract(request as never);
    });
    return await waitForSuccess(publicClient, txHash, p.label);
  } catch (err) {
    throw toChainActionError(err, `${p.label} ${p.vaultId}`);
  }
}
