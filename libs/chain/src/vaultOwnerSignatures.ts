import type { Address, Hex, LocalAccount } from 'viem';
import { idToBytes32 } from './jobId';

/** ComputeVaults' EIP-712 domain: EIP712("StarMiner Compute Vaults", "1"). */
export const VAULT_DOMAIN_NAME = 'StarMiner Compute Vaults';
export const VAULT_DOMAIN_VERSION = '1';

/**
 * What a vault's owner signs for the actions it may have relayed. Each carries the vault's current
 * nonce (`readVault(...).nonce`); every owner action moves it, so a signature works once, for one
 * vault, on one contract and chain.
 */
export const VAULT_OWNER_TYPES = {
  TemplateUpdate: [
    { name: 'vaultId', type: 'bytes32' },
    { name: 'templateHash', type: 'bytes32' },
    { name: 'nonce', type: 'uint64' },
  ],
  VaultPause: [
    { name: 'vaultId', type: 'bytes32' },
    { name: 'paused', type: 'bool' },
    { name: 'nonce', type: 'uint64' },
  ],
  VaultClose: [
    { name: 'vaultId', type: 'bytes32' },
    { name: 'nonce', type: 'uint64' },
  ],
} as const;

export type VaultOwnerAction =
  | { kind: 'TemplateUpdate'; templateHash: Hex }
  | { kind: 'VaultPause'; paused: boolean }
  | { kind: 'VaultClose' };

export interface VaultOwnerSignatureParams {
  vaults: Address;
  chainId: number;
  vaultId: string;
  nonce: bigint;
  action: VaultOwnerAction;
}

/** The owner's EIP-712 signature of one action on its vault (no transaction; anyone may relay it). */
export async function signVaultOwnerAction(owner: LocalAccount, p: VaultOwnerSignatureParams): Promise<Hex> {
  if (!owner.signTypedData) throw new TypeError(`account ${owner.address} cannot sign typed data`);
  const domain = { name: VAULT_DOMAIN_NAME, version: VAULT_DOMAIN_VERSION, chainId: p.chainId, verifyingContract: p.vaults };
  const vaultId = idToBytes32(p.vaultId);
  const a = p.action;
  switch (a.kind) {
    case 'TemplateUpdate':
      return owner.signTypedData({ domain, types: VAULT_OWNER_TYPES, primaryType: 'TemplateUpdate', message: { vaultId, templateHash: a.templateHash, nonce: p.nonce } });
    case 'VaultPause':
      return owner.signTypedData({ domain, types: VAULT_OWNER_TYPES, primaryType: 'VaultPause', message: { vaultId, paused: a.paused, nonce: p.nonce } });
    case 'VaultClose':
      return owner.signTypedData({ domain, types: VAULT_OWNER_TYPES, primaryType: 'VaultClose', message: { vaultId, nonce: p.nonce } });
    default: {
      const never: never = a;
      throw new TypeError(`unknown vault action ${JSON.stringify(never)}`);
    }
  }
}
