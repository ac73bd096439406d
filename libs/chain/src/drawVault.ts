import type { Address, Hex } from 'viem';
import { artifacts } from './artifacts';
import { toChainActionError } from './errors';
import { idToBytes32, jobIdToBytes32 } from './jobId';
import { validateOpen } from './openComputeContract';
import { readComputeContract } from './readComputeContract';
import { sendTx, waitForSuccess } from './receipts';
import { requireAddress } from './requireAddress';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

export interface DrawVaultParams {
  addresses: MarketAddresses;
  vaultId: string;
  /** Must be the vault's allowed template ('TemplateNotAllowed' otherwise). */
  templateHash: Hex;
  jobId: string;
  /** The vault's owner (refunds of the job go back to it). */
  requester: Address;
  provider: Address;
  costWei: bigint;
  expectedRuntimeSec: number;
  deadlineSec: number;
  termsHash: Hex;
}

/**
 * Platform-role action when a trigger fires: open the job's compute contract paid from the vault,
 * within the period's cap ('CapExceeded') and balance ('InsufficientVaultBalance'). Idempotent:
 * a job already open → `alreadyOpen`, nothing drawn.
 */
export async function drawVault(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  p: DrawVaultParams,
): Promise<{ txHash: Hex | null; blockNumber: bigint | null; alreadyOpen: boolean; contractAddress: Address }> {
  validateOpen(p);
  try {
    const vaults = requireAddress(p.addresses, 'vaults');
    const existing = await readComputeContract(publicClient, { addresses: p.addresses, jobId: p.jobId });
    if (existing.status !== 'none') return { txHash: null, blockNumber: null, alreadyOpen: true, contractAddress: p.addresses.escrow };
    const open = {
      jobId: jobIdToBytes32(p.jobId),
      requester: p.requester,
      provider: p.provider,
      costWei: p.costWei,
      expectedRuntimeSec: p.expectedRuntimeSec,
      deadline: p.deadlineSec,
      termsHash: p.termsHash,
    };
    const txHash = await sendTx(publicClient, 'drawVault', async () => {
      const { request } = await publicClient.simulateContract({
        account: walletClient.account,
        address: vaults,
        abi: artifacts().ComputeVaults.abi,
        functionName: 'draw',
        args: [idToBytes32(p.vaultId), p.templateHash, open],
      });
      return walletClient.writeContract(request);
    });
    const receipt = await waitForSuccess(publicClient, txHash, 'drawVault');
    return { txHash, blockNumber: receipt.blockNumber, alreadyOpen: false, contractAddress: p.addresses.escrow };
  } catch (err) {
    throw toChainActionError(err, `drawVault ${p.vaultId} for ${p.jobId}`);
  }
}
