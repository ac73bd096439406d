import type { Address, Hex } from 'viem';
import { artifacts } from './artifacts';
import { toChainActionError } from './errors';
import { idToBytes32, jobIdToBytes32 } from './jobId';
import { validateOpen } from './openComputeContract';
import { readComputeContract } from './readComputeContract';
import { sendTx, waitForSuccess } from './receipts';
import { requireAddress } from './requireAddress';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';
import type { JobTemplate } from './jobTemplate';

export interface DrawVaultParams {
  addresses: MarketAddresses;
  vaultId: string;
  /**
   * The terms of the vault's template: the contract hashes them and refuses another template
   * ('TemplateNotAllowed'), a cost over its budget ('OverTemplateBudget'). The job's expected
   * runtime is the template's.
   */
  template: JobTemplate;
  jobId: string;
  /** The vault's owner (refunds of the job go back to it). */
  requester: Address;
  provider: Address;
  costWei: bigint;
  deadlineSec: number;
  termsHash: Hex;
}

/**
 * Platform-role action when a trigger fires: open the job's compute contract paid from the vault,
 * for a job of its template only, while it is active ('VaultIsPaused', 'VaultIsClosed'), within the
 * period's cap ('CapExceeded') and balance ('InsufficientVaultBalance'). Idempotent: a job already
 * open → `alreadyOpen`, nothing drawn.
 */
export async function drawVault(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  p: DrawVaultParams,
): Promise<{ txHash: Hex | null; blockNumber: bigint | null; alreadyOpen: boolean; contractAddress: Address }> {
  const expectedRuntimeSec = p.template.expectedRuntimeSec;
  validateOpen({ ...p, expectedRuntimeSec });
  try {
    const vaults = requireAddress(p.addresses, 'vaults');
    const existing = await readComputeContract(publicClient, { addresses: p.addresses, jobId: p.jobId });
    if (existing.status !== 'none') return { txHash: null, blockNumber: null, alreadyOpen: true, contractAddress: p.addresses.escrow };
    const open = {
      jobId: jobIdToBytes32(p.jobId),
      requester: p.requester,
      provider: p.provider,
      costWei: p.costWei,
      expectedRuntimeSec,
      deadline: p.deadlineSec,
      termsHash: p.termsHash,
    };
    const txHash = await sendTx(publicClient, 'drawVault', async () => {
      const { request } = await publicClient.simulateContract({
        account: walletClient.account,
        address: vaults,
        abi: artifacts().ComputeVaults.abi,
        functionName: 'draw',
        args: [idToBytes32(p.vaultId), p.template, open],
      });
      return walletClient.writeContract(request);
    });
    const receipt = await waitForSuccess(publicClient, txHash, 'drawVault');
    return { txHash, blockNumber: receipt.blockNumber, alreadyOpen: false, contractAddress: p.addresses.escrow };
  } catch (err) {
    throw toChainActionError(err, `drawVault ${p.vaultId} for ${p.jobId}`);
  }
}
