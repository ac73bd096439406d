import type { Hex } from 'viem';
import { escrowAbi } from './artifacts';
import { ChainActionError, toChainActionError } from './errors';
import { jobIdToBytes32 } from './jobId';
import { readComputeContract, termsOf, type ComputeContractState, type ComputeContractStatus } from './readComputeContract';
import { sendTx, waitForSuccess } from './receipts';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

export interface SettleResult {
  txHash: Hex | null;
  blockNumber: bigint | null;
  /** The job had already ended this same way: no transaction was sent. */
  alreadySettled: boolean;
  amountWei: bigint;
  status: ComputeContractStatus;
}

export interface ReleaseComputeContractParams {
  addresses: MarketAddresses;
  jobId: string;
  resultHash: Hex;
  proofHash: Hex;
  providerSignature: Hex;
}

/**
 * Settlement-role action: pay the provider for a result its node key signed.
 * Idempotent: already released → no transaction, `alreadySettled: true`. Already refunded (the
 * money went the other way) → ChainActionError 'AlreadySettled', never a silent "ok".
 */
export async function releaseComputeContract(walletClient: ChainWalletClient, publicClient: ChainPublicClient, params: ReleaseComputeContractParams): Promise<SettleResult> {
  return settle(walletClient, publicClient, params, 'released', async (job) => {
    const terms = termsOf(job);
    const { request } = await publicClient.simulateContract({
      account: walletClient.account,
      address: params.addresses.escrow,
      abi: escrowAbi(),
      functionName: 'release',
      args: [jobIdToBytes32(params.jobId), terms, params.resultHash, params.proofHash, params.providerSignature],
    });
    return walletClient.writeContract(request);
  });
}

/** Shared by release and refund: check the record, send, and turn "someone else settled it first" into the idempotent answer. */
export async function settle(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  params: { addresses: MarketAddresses; jobId: string },
  target: 'released' | 'refunded',
  send: (job: ComputeContractState) => Promise<Hex>,
): Promise<SettleResult> {
  const action = `${target === 'released' ? 'release' : 'refund'}ComputeContract ${params.jobId}`;
  /** The job's record, or the idempotent answer when it already ended. */
  const check = async (): Promise<SettleResult | ComputeContractState> => {
    const job = await readComputeContract(publicClient, params);
    if (job.status === target) return { txHash: null, blockNumber: null, alreadySettled: true, amountWei: job.costWei, status: job.status };
    if (job.status === 'released' || job.status === 'refunded') {
      throw new ChainActionError('AlreadySettled', `${action}: the job was already ${job.status}`, { args: [job.jobKey, job.status] });
    }
    if (job.status === 'none') throw new ChainActionError('UnknownJob', `${action}: no compute contract for this job`, { args: [job.jobKey] });
    return job;
  };
  try {
    const state = await check();
    if ('alreadySettled' in state) return state;
    const txHash = await sendTx(publicClient, action, () => send(state));
    const receipt = await waitForSuccess(publicClient, txHash, action);
    return { txHash, blockNumber: receipt.blockNumber, alreadySettled: false, amountWei: state.costWei, status: target };
  } catch (err) {
    const mapped = toChainActionError(err, action);
    // Someone settled it between our read and our transaction: answer as if we had found it so.
    if (mapped.code === 'AlreadySettled' || mapped.code === 'TransactionReverted') {
      const state = await check();
      if ('alreadySettled' in state) return state;
    }
    throw mapped;
  }
}
