import type { Address, Hex } from 'viem';
import { escrowAbi } from './artifacts';
import { toChainActionError } from './errors';
import { jobIdToBytes32 } from './jobId';
import type { ChainPublicClient, MarketAddresses } from './types';

export type ComputeContractStatus = 'none' | 'open' | 'released' | 'refunded' | 'disputed';
/** Index = the Solidity enum ComputeEscrow.Status. */
export const COMPUTE_CONTRACT_STATUSES: readonly ComputeContractStatus[] = ['none', 'open', 'released', 'refunded', 'disputed'];

export interface ComputeContractState {
  jobKey: Hex;
  /** The escrow holding this job's record (one contract for every job). */
  contractAddress: Address;
  status: ComputeContractStatus;
  requester: Address;
  provider: Address;
  costWei: bigint;
  /** While disputed: the time after which anyone may refund. */
  deadlineSec: number;
  expectedRuntimeSec: number;
}

export function statusFromIndex(index: number): ComputeContractStatus {
  const status = COMPUTE_CONTRACT_STATUSES[index];
  if (!status) throw new RangeError(`unknown ComputeEscrow status ${index}`);
  return status;
}

export async function readComputeContract(publicClient: ChainPublicClient, params: { addresses: MarketAddresses; jobId: string }): Promise<ComputeContractState> {
  const jobKey = jobIdToBytes32(params.jobId);
  try {
    const job = await publicClient.readContract({ address: params.addresses.escrow, abi: escrowAbi(), functionName: 'getJob', args: [jobKey] });
    return {
      jobKey,
      contractAddress: params.addresses.escrow,
      status: statusFromIndex(job.status),
      requester: job.requester,
      provider: job.provider,
      costWei: job.costWei,
      deadlineSec: job.deadline,
      expectedRuntimeSec: job.expectedRuntimeSec,
    };
  } catch (err) {
    throw toChainActionError(err, 'readComputeContract');
  }
}
