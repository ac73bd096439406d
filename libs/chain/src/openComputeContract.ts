import type { Address, Hex, LocalAccount } from 'viem';
import { escrowAbi } from './artifacts';
import { ChainActionError, toChainActionError } from './errors';
import { jobIdToBytes32 } from './jobId';
import { chainIdOf, permitNonce, signPermit } from './permit';
import { readComputeContract, type ComputeContractState } from './readComputeContract';
import { sendTx, waitForSuccess } from './receipts';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

/** Costs are uint256 on chain; the token's cap bounds them in practice. */
export const MAX_COST_WEI = 2n ** 256n - 1n;
export const MAX_EXPECTED_RUNTIME_SEC = 2 ** 32 - 1;

export interface OpenComputeContractParams {
  addresses: MarketAddresses;
  jobId: string;
  /** The requester's custodial account: it signs the permit for exactly `costWei`. */
  requester: LocalAccount;
  /** The node key that must sign the result. */
  provider: Address;
  costWei: bigint;
  expectedRuntimeSec: number;
  /** Unix seconds; after it the escrow is refundable. */
  deadlineSec: number;
  termsHash: Hex;
  /** Use the requester's existing allowance instead of a permit. */
  useAllowance?: boolean;
}

export interface OpenComputeContractResult {
  contractAddress: Address;
  jobKey: Hex;
  txHash: Hex | null;
  blockNumber: bigint | null;
  alreadyOpen: boolean;
}

export function validateOpen(p: Pick<OpenComputeContractParams, 'jobId' | 'costWei' | 'expectedRuntimeSec' | 'deadlineSec'>): void {
  if (p.costWei <= 0n || p.costWei > MAX_COST_WEI) throw new ChainActionError('CostOutOfRange', `job ${p.jobId}: costWei ${p.costWei} must be in 1..${MAX_COST_WEI}`);
  if (!Number.isInteger(p.expectedRuntimeSec) || p.expectedRuntimeSec < 0 || p.expectedRuntimeSec > MAX_EXPECTED_RUNTIME_SEC) {
    throw new ChainActionError('RuntimeOutOfRange', `job ${p.jobId}: expectedRuntimeSec ${p.expectedRuntimeSec} out of range`);
  }
  if (!Number.isInteger(p.deadlineSec) || p.deadlineSec <= 0 || p.deadlineSec >= 2 ** 40) throw new ChainActionError('DeadlineOutOfRange', `job ${p.jobId}: deadlineSec ${p.deadlineSec} out of range`);
}

/**
 * The same job id already on chain: the same deal (a retry) is fine, a different one is a conflict.
 * The cost compared is the open's (a top-up since then does not make a retried open a conflict).
 */
export function assertSameDeal(existing: ComputeContractState, p: Pick<OpenComputeContractParams, 'jobId' | 'provider' | 'costWei'> & { requester: Address }): void {
  const same =
    existing.requester.toLowerCase() === p.requester.toLowerCase() && existing.provider.toLowerCase() === p.provider.toLowerCase() && existing.openCostWei === p.costWei;
  if (!same) {
    throw new ChainActionError('JobIdConflict', `job ${p.jobId} is already on chain with different terms (requester ${existing.requester}, provider ${existing.provider}, cost ${existing.openCostWei} at open)`, {
      args: [existing.jobKey],
    });
  }
}

/**
 * Open the job's compute contract: escrow `costWei` pulled from the requester through its permit,
 * one transaction. Idempotent: when the job id already has a record, nothing is sent and
 * `alreadyOpen` is true (whatever its status now is; read it with readComputeContract).
 */
export async function openComputeContract(walletClient: ChainWalletClient, publicClient: ChainPublicClient, params: OpenComputeContractParams): Promise<OpenComputeContractResult> {
  validateOpen(params);
  const jobKey = jobIdToBytes32(params.jobId);
  const escrow = params.addresses.escrow;
  const already = (existing: ComputeContractState): OpenComputeContractResult => {
    assertSameDeal(existing, { ...params, requester: params.requester.address });
    return { contractAddress: escrow, jobKey, txHash: null, blockNumber: null, alreadyOpen: true };
  };
  try {
    const existing = await readComputeContract(publicClient, params);
    if (existing.status !== 'none') return already(existing);

    const openParams = {
      jobId: jobKey,
      requester: params.requester.address,
      provider: params.provider,
      costWei: params.costWei,
      expectedRuntimeSec: params.expectedRuntimeSec,
      deadline: params.deadlineSec,
      termsHash: params.termsHash,
    };
    let txHash: Hex;
    if (params.useAllowance) {
      txHash = await sendTx(publicClient, 'openComputeContract', async () => {
        const { request } = await publicClient.simulateContract({ account: walletClient.account, address: escrow, abi: escrowAbi(), functionName: 'open', args: [openParams] });
        return walletClient.writeContract(request);
      });
    } else {
      const permit = await signPermit(params.requester, {
        token: params.addresses.token,
        chainId: await chainIdOf(publicClient),
        spender: escrow,
        valueWei: params.costWei,
        nonce: await permitNonce(publicClient, params.addresses.token, params.requester.address),
        deadlineSec: BigInt(params.deadlineSec),
      });
      txHash = await sendTx(publicClient, 'openComputeContract', async () => {
        const { request } = await publicClient.simulateContract({
          account: walletClient.account,
          address: escrow,
          abi: escrowAbi(),
          functionName: 'openWithPermit',
          args: [openParams, permit],
        });
        return walletClient.writeContract(request);
      });
    }
    const receipt = await waitForSuccess(publicClient, txHash, 'openComputeContract');
    return { contractAddress: escrow, jobKey, txHash, blockNumber: receipt.blockNumber, alreadyOpen: false };
  } catch (err) {
    const mapped = toChainActionError(err, `openComputeContract ${params.jobId}`);
    // Lost a race with another opener of the same job: that is the retry case, not a failure.
    // (A mined-but-reverted transaction is re-read for the same reason.)
    if (mapped.code === 'JobAlreadyExists' || mapped.code === 'TransactionReverted') {
      const existing = await readComputeContract(publicClient, params);
      if (existing.status !== 'none') return already(existing);
    }
    throw mapped;
  }
}

/**
 * Codes of an open that no retry will fix (the job's terms or the requester's funds are wrong):
 * the deployer records the job as failed instead of retrying. Anything else (ChainUnavailable,
 * TransactionReverted, ...) is worth a retry, which is safe because open is idempotent.
 */
export const OPEN_REJECTION_CODES: ReadonlySet<string> = new Set([
  'ZeroJobId',
  'ZeroAddress',
  'ZeroCost',
  'DeadlineInPast',
  'PermitFailed',
  'ERC20InsufficientBalance',
  'ERC20InsufficientAllowance',
  'JobIdConflict',
  'CostOutOfRange',
  'RuntimeOutOfRange',
  'DeadlineOutOfRange',
]);
