import { zeroAddress, type Address, type Hex } from 'viem';
import { escrowAbi } from './artifacts';
import { ChainActionError, toChainActionError } from './errors';
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
  /**
   * What release pays and refund returns now, the cost the escrow's commitment expects back: the
   * open's cost, or the `newCostWei` of the job's last top-up.
   */
  costWei: bigint;
  /** The job's deadline (moved by top-ups); while disputed, the time after which anyone may refund. */
  deadlineSec: number;
  /** The cost and the deadline the job was opened with (its ComputeContractOpened event). */
  openCostWei: bigint;
  openDeadlineSec: number;
  /** How many top-ups the job has had (ComputeContractToppedUp events; at most MAX_TOP_UPS_PER_JOB). */
  topUpCount: number;
  /**
   * The job's attempt: 1 from its open, one more per reassign (ComputeContractReassigned events; at
   * most MAX_ATTEMPTS_PER_JOB); 0 for an unknown job. `provider` and `costWei` are the last
   * reassign's when it came after every top-up.
   */
  attempt: number;
  /** The provider the job was opened with (its first attempt's). */
  openProvider: Address;
  expectedRuntimeSec: number;
  termsHash: Hex;
  openedAtSec: number;
  openTxHash: Hex | null;
  openBlockNumber: bigint | null;
}

export function statusFromIndex(index: number): ComputeContractStatus {
  const status = COMPUTE_CONTRACT_STATUSES[index];
  if (!status) throw new RangeError(`unknown ComputeEscrow status ${index}`);
  return status;
}

const ZERO_HASH: Hex = `0x${'00'.repeat(32)}`;

/**
 * A job's compute contract: status and deadline from storage, the rest (requester, provider,
 * cost, terms hash, open time) from its ComputeContractOpened event, which storage commits to,
 * and the cost from its last ComputeContractToppedUp event when it has one. Every read is of the
 * same block, so a top-up landing in between cannot pair an old cost with a new commitment.
 */
export async function readComputeContract(publicClient: ChainPublicClient, params: { addresses: MarketAddresses; jobId: string }): Promise<ComputeContractState> {
  const jobKey = jobIdToBytes32(params.jobId);
  const escrow = params.addresses.escrow;
  try {
    // cacheTime 0: viem otherwise answers a block number up to a polling interval old
    const blockNumber = await publicClient.getBlockNumber({ cacheTime: 0 });
    const job = await publicClient.readContract({ address: escrow, abi: escrowAbi(), functionName: 'getJob', args: [jobKey], blockNumber });
    const status = statusFromIndex(job.status);
    const base = { jobKey, contractAddress: escrow, status, deadlineSec: job.deadline };
    if (status === 'none') {
      return { ...base, requester: zeroAddress, provider: zeroAddress, costWei: 0n, openCostWei: 0n, openDeadlineSec: 0, topUpCount: 0, attempt: 0, openProvider: zeroAddress, expectedRuntimeSec: 0, termsHash: ZERO_HASH, openedAtSec: 0, openTxHash: null, openBlockNumber: null };
    }
    const range = { address: escrow, abi: escrowAbi(), args: { jobId: jobKey }, fromBlock: BigInt(params.addresses.deployBlock ?? 0), toBlock: blockNumber, strict: true } as const;
    const [logs, topUps, reassigns] = await Promise.all([
      publicClient.getContractEvents({ ...range, eventName: 'ComputeContractOpened' }),
      publicClient.getContractEvents({ ...range, eventName: 'ComputeContractToppedUp' }),
      publicClient.getContractEvents({ ...range, eventName: 'ComputeContractReassigned' }),
    ]);
    const opened = logs[0];
    if (!opened) throw new ChainActionError('OpenEventMissing', `job ${params.jobId} has a record but no ComputeContractOpened event from block ${params.addresses.deployBlock ?? 0}`);
    // the cost the commitment holds is the one set last, in chain order: a top-up's new total or a reassign's new cost
    const lastTopUp = topUps[topUps.length - 1];
    const lastReassign = reassigns[reassigns.length - 1];
    const reassignIsLast = lastReassign !== undefined && (lastTopUp === undefined || isAfter(lastReassign, lastTopUp));
    const costWei = reassignIsLast ? lastReassign.args.newCostWei : lastTopUp ? lastTopUp.args.newCostWei : opened.args.costWei;
    return {
      ...base,
      requester: opened.args.requester,
      provider: lastReassign ? lastReassign.args.newProvider : opened.args.provider,
      costWei,
      attempt: reassigns.length + 1,
      openProvider: opened.args.provider,
      openCostWei: opened.args.costWei,
      openDeadlineSec: opened.args.deadline,
      topUpCount: topUps.length,
      expectedRuntimeSec: opened.args.expectedRuntimeSec,
      termsHash: opened.args.termsHash,
      openedAtSec: Number(opened.args.openedAt),
      openTxHash: opened.transactionHash,
      openBlockNumber: opened.blockNumber,
    };
  } catch (err) {
    throw toChainActionError(err, 'readComputeContract');
  }
}

/** Whether log `a` comes after log `b` in chain order (block, then index in the block). */
function isAfter(a: { blockNumber: bigint; logIndex: number }, b: { blockNumber: bigint; logIndex: number }): boolean {
  return a.blockNumber !== b.blockNumber ? a.blockNumber > b.blockNumber : a.logIndex > b.logIndex;
}

/** The (requester, provider, costWei) the escrow's commitment expects back at settlement. */
export function termsOf(state: ComputeContractState): { requester: Address; provider: Address; costWei: bigint } {
  return { requester: state.requester, provider: state.provider, costWei: state.costWei };
}

export interface SettleTransaction {
  status: 'released' | 'refunded';
  txHash: Hex;
  blockNumber: bigint;
}

/**
 * The transaction that released or refunded a job, from the escrow's ComputeContractReleased /
 * ComputeContractRefunded event (a job is settled at most once, so there is at most one), or
 * undefined when the chain holds neither. For reconcilers: which transaction the chain shows now.
 */
export async function readSettleTransaction(publicClient: ChainPublicClient, params: { addresses: MarketAddresses; jobId: string }): Promise<SettleTransaction | undefined> {
  const jobKey = jobIdToBytes32(params.jobId);
  const range = { address: params.addresses.escrow, abi: escrowAbi(), args: { jobId: jobKey }, fromBlock: BigInt(params.addresses.deployBlock ?? 0), toBlock: 'latest', strict: true } as const;
  try {
    const [released, refunded] = await Promise.all([
      publicClient.getContractEvents({ ...range, eventName: 'ComputeContractReleased' }),
      publicClient.getContractEvents({ ...range, eventName: 'ComputeContractRefunded' }),
    ]);
    const found = released[0] ? { status: 'released' as const, log: released[0] } : refunded[0] ? { status: 'refunded' as const, log: refunded[0] } : undefined;
    return found && { status: found.status, txHash: found.log.transactionHash, blockNumber: found.log.blockNumber };
  } catch (err) {
    throw toChainActionError(err, `readSettleTransaction ${params.jobId}`);
  }
}
