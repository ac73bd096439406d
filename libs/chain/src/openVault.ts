import type { Hex, LocalAccount } from 'viem';
import { artifacts } from './artifacts';
import { toChainActionError } from './errors';
import { idToBytes32 } from './jobId';
import { chainIdOf, permitNonce, signPermit, type PermitSig } from './permit';
import { sendTx, waitForSuccess } from './receipts';
import { requireAddress } from './requireAddress';
import { PERMIT_TTL_SEC } from './stakeAgpu';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';
import { VAULT_DOMAIN_NAME, VAULT_DOMAIN_VERSION } from './vaultOwnerSignatures';

export const VAULT_TERMS_TYPES = {
  VaultTerms: [
    { name: 'vaultId', type: 'bytes32' },
    { name: 'capPerPeriodWei', type: 'uint256' },
    { name: 'periodSec', type: 'uint64' },
    { name: 'templateHash', type: 'bytes32' },
    { name: 'depositWei', type: 'uint256' },
  ],
} as const;

export const NO_PERMIT: PermitSig = { deadline: 0n, v: 0, r: `0x${'00'.repeat(32)}`, s: `0x${'00'.repeat(32)}` };

export interface OpenVaultParams {
  addresses: MarketAddresses;
  vaultId: string;
  /** The requester's custodial account: signs the terms and the deposit's permit. */
  owner: LocalAccount;
  capPerPeriodWei: bigint;
  periodSec: number;
  /** `jobTemplateHash` of the one job template the platform may draw for. */
  templateHash: Hex;
  depositWei: bigint;
}

/** Open a requester's vault on terms it signed, funded by its permit (any wallet relays). Idempotent: an existing vault → `alreadyOpen`. */
export async function openVault(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  p: OpenVaultParams,
): Promise<{ txHash: Hex | null; blockNumber: bigint | null; alreadyOpen: boolean }> {
  try {
    const vaults = requireAddress(p.addresses, 'vaults');
    const abi = artifacts().ComputeVaults.abi;
    const vaultId = idToBytes32(p.vaultId);
    const existing = await publicClient.readContract({ address: vaults, abi, functionName: 'getVault', args: [vaultId] });
    if (existing.owner !== '0x0000000000000000000000000000000000000000') return { txHash: null, blockNumber: null, alreadyOpen: true };
    const chainId = await chainIdOf(publicClient);
    const terms = { vaultId, capPerPeriodWei: p.capPerPeriodWei, periodSec: BigInt(p.periodSec), templateHash: p.templateHash, depositWei: p.depositWei };
    if (!p.owner.signTypedData) throw new TypeError(`account ${p.owner.address} cannot sign typed data`);
    const ownerSignature = await p.owner.signTypedData({
      domain: { name: VAULT_DOMAIN_NAME, version: VAULT_DOMAIN_VERSION, chainId, verifyingContract: vaults },
      types: VAULT_TERMS_TYPES,
      primaryType: 'VaultTerms',
      message: terms,
    });
    const now = (await publicClient.getBlock({ blockTag: 'latest' })).timestamp;
    const permit =
      p.depositWei > 0n
        ? await signPermit(p.owner, {
            token: p.addresses.token,
            chainId,
            spender: vaults,
            valueWei: p.depositWei,
            nonce: await permitNonce(publicClient, p.addresses.token, p.owner.address),
            deadlineSec: now + BigInt(PERMIT_TTL_SEC),
          })
        : NO_PERMIT;
    const txHash = await sendTx(publicClient, 'openVault', async () => {
      const { request } = await publicClient.simulateContract({ account: walletClient.account, address: vaults, abi, functionName: 'openVault', args: [terms, p.owner.address, ownerSignature, permit] });
      return walletClient.writeContract(request);
    });
    const receipt = await waitForSuccess(publicClient, txHash, 'openVault');
    return { txHash, blockNumber: receipt.blockNumber, alreadyOpen: false };
  } catch (err) {
    throw toChainActionError(err, `openVault ${p.vaultId}`);
  }
}
