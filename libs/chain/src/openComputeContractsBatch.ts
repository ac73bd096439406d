import type { Address, Hex, LocalAccount } from 'viem';
import { escrowAbi } from './artifacts';
import { ChainActionError, toChainActionError } from './errors';
import { jobIdToBytes32 } from './jobId';
import { assertSameDeal, validateOpen, type OpenComputeContractParams } from './openComputeContract';
import { chainIdOf, permitNonce, signPermit, type PermitSig } from './permit';
import { readComputeContract } from './readComputeContract';
import { sendTx, waitForSuccess } from './receipts';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

/** ComputeEscrow.MAX_BATCH. */
export const MAX_OPEN_BATCH = 64;

export type BatchJob = Omit<OpenComputeContractParams, 'addresses' | 'useAllowance'>;

export interface OpenBatchResult {
  contractAddress: Address;
  txHash: Hex | null;
  blockNumber: bigint | null;
  jobs: { jobId: string; jobKey: Hex; alreadyOpen: boolean }[];
}

/**
 * Open up to MAX_OPEN_BATCH jobs in one transaction (each with its requester's permit). Jobs
 * already on chain are left out (and reported `alreadyOpen`); when all are, nothing is sent. The
 * contract itself skips a job id that got opened in between, so a retried batch never opens twice.
 */
export async function openComputeContractsBatch(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  params: { addresses: MarketAddresses; jobs: BatchJob[] },
): Promise<OpenBatchResult> {
  const { addresses, jobs } = params;
  if (jobs.length > MAX_OPEN_BATCH) throw new ChainActionError('BatchTooLarge', `batch of ${jobs.length} jobs exceeds ${MAX_OPEN_BATCH}`);
  if (new Set(jobs.map((j) => j.jobId)).size !== jobs.length) throw new ChainActionError('DuplicateJobInBatch', 'a batch must not repeat a job id');
  jobs.forEach(validateOpen);
  try {
    const existing = await Promise.all(jobs.map((j) => readComputeContract(publicClient, { addresses, jobId: j.jobId })));
    const toOpen: BatchJob[] = [];
    jobs.forEach((job, i) => {
      const state = existing[i]!;
      if (state.status === 'none') toOpen.push(job);
      else assertSameDeal(state, { ...job, requester: job.requester.address });
    });
    const report = jobs.map((j, i) => ({ jobId: j.jobId, jobKey: existing[i]!.jobKey, alreadyOpen: existing[i]!.status !== 'none' }));
    if (toOpen.length === 0) return { contractAddress: addresses.escrow, txHash: null, blockNumber: null, jobs: report };

    const chainId = await chainIdOf(publicClient);
    const nextNonce = new Map<Address, bigint>();
    const permits: PermitSig[] = [];
    for (const job of toOpen) {
      const owner: LocalAccount = job.requester;
      const nonce = nextNonce.get(owner.address) ?? (await permitNonce(publicClient, addresses.token, owner.address));
      nextNonce.set(owner.address, nonce + 1n);
      permits.push(await signPermit(owner, { token: addresses.token, chainId, spender: addresses.escrow, valueWei: job.costWei, nonce, deadlineSec: BigInt(job.deadlineSec) }));
    }
    const ps = toOpen.map((j) => ({
      jobId: jobIdToBytes32(j.jobId),
      requester: j.requester.address,
      provider: j.provider,
      costWei: j.costWei,
      expectedRuntimeSec: j.expectedRuntimeSec,
      deadline: j.deadlineSec,
      termsHash: j.termsHash,
    }));
    const txHash = await sendTx(publicClient, 'openComputeContractsBatch', async () => {
      const { request } = await publicClient.simulateContract({ account: walletClient.account, address: addresses.escrow, abi: escrowAbi(), functionName: 'openBatch', args: [ps, permits] });
      return walletClient.writeContract(request);
    });
    const receipt = await waitForSuccess(publicClient, txHash, 'openComputeContractsBatch');
    return { contractAddress: addresses.escrow, txHash, blockNumber: receipt.blockNumber, jobs: report };
  } catch (err) {
    throw toChainActionError(err, `openComputeContractsBatch (${jobs.length} jobs)`);
  }
}
