import type { Hex } from 'viem';
import { escrowAbi } from './artifacts';
import { toChainActionError } from './errors';
import { jobIdToBytes32 } from './jobId';
import { statusFromIndex, type ComputeContractStatus } from './readComputeContract';
import { MAX_TOP_UPS_PER_JOB, MAX_TOTAL_EXTENSION_SEC } from './topUpComputeContract';
import type { ChainPublicClient, MarketAddresses } from './types';

export interface ContractRunway {
  jobKey: Hex;
  status: ComputeContractStatus;
  /** Seconds until the deadline at `blockTimeSec` (ComputeEscrow.runway): 0 at or past it, and 0 when the job is not open. */
  runwaySec: number;
  deadlineSec: number;
  /** The block the figures are of, and its time: the runway is counted from the chain's clock. */
  blockNumber: bigint;
  blockTimeSec: number;
  /** What top-ups have added to the deadline so far, and what they may still add. */
  extendedSec: number;
  extensionLeftSec: number;
  topUps: number;
  topUpsLeft: number;
}

/**
 * How long a job's escrow still runs (its runway, until the deadline after which it is refunded)
 * and how much longer top-ups may make it, all read at one block. For the services' warning before
 * the runway ends and for the job's view; 0 for a job not open (unknown, disputed, settled).
 */
export async function readContractRunway(publicClient: ChainPublicClient, params: { addresses: MarketAddresses; jobId: string }): Promise<ContractRunway> {
  const jobKey = jobIdToBytes32(params.jobId);
  const address = params.addresses.escrow;
  const abi = escrowAbi();
  try {
    const block = await publicClient.getBlock({ blockTag: 'latest' });
    const blockNumber = block.number;
    const [runwaySec, job, extension] = await Promise.all([
      publicClient.readContract({ address, abi, functionName: 'runway', args: [jobKey], blockNumber }),
      publicClient.readContract({ address, abi, functionName: 'getJob', args: [jobKey], blockNumber }),
      publicClient.readContract({ address, abi, functionName: 'extensionOf', args: [jobKey], blockNumber }),
    ]);
    return {
      jobKey,
      status: statusFromIndex(job.status),
      runwaySec: Number(runwaySec),
      deadlineSec: job.deadline,
      blockNumber,
      blockTimeSec: Number(block.timestamp),
      extendedSec: extension.extendedSec,
      extensionLeftSec: MAX_TOTAL_EXTENSION_SEC - extension.extendedSec,
      topUps: extension.topUps,
      topUpsLeft: MAX_TOP_UPS_PER_JOB - extension.topUps,
    };
  } catch (err) {
    throw toChainActionError(err, `readContractRunway ${params.jobId}`);
  }
}
