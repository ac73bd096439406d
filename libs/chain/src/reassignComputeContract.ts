import { parseEventLogs, type Address, type Hex } from 'viem';
import { escrowAbi } from './artifacts';
import { ChainActionError, toChainActionError } from './errors';
import { jobIdToBytes32 } from './jobId';
import { readComputeContract, termsOf } from './readComputeContract';
import { sendTx, waitForSuccess } from './receipts';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

/** ComputeEscrow.MAX_ATTEMPTS_PER_JOB: the open is attempt 1, each reassign one more (contracts/test checks they agree). */
export const MAX_ATTEMPTS_PER_JOB = 3;
/** ComputeEscrow.MAX_ATTEMPT_DEADLINE_SEC: the latest deadline a reassign may set, from its block. */
export const MAX_ATTEMPT_DEADLINE_SEC = 30 * 24 * 3600;

export interface ReassignComputeContractParams {
  addresses: MarketAddresses;
  jobId: string;
  /** The attempt this reassign starts (2 for the first re-match): the id of the move, so a retry finds the first. */
  attempt: number;
  /** The new attempt's node key: release pays it. */
  newProvider: Address;
  /** What release pays the new provider: at most the escrow held; the rest goes back to the requester. */
  newCostWei: bigint;
  /** The new attempt's deadline (unix seconds): after the reassign's block, at most MAX_ATTEMPT_DEADLINE_SEC from it. */
  newDeadlineSec: number;
}

export interface ReassignComputeContractResult {
  jobKey: Hex;
  attempt: number;
  oldProvider: Address;
  newProvider: Address;
  newCostWei: bigint;
  /** Returned to the requester by the move (the old cost less the new). */
  returnedWei: bigint;
  newDeadlineSec: number;
  /** The transaction of the move: this call's, or (alreadyApplied) the earlier one's. */
  txHash: Hex;
  blockNumber: bigint;
  /** The attempt had already been started on chain (a retry): nothing was sent. */
  alreadyApplied: boolean;
}

type ReassignedLog = {
  args: { jobId: Hex; attempt: number; oldProvider: Address; newProvider: Address; newCostWei: bigint; returnedWei: bigint; newDeadline: number; reassignedAt: bigint };
  transactionHash: Hex;
  blockNumber: bigint;
};

function resultOf(ev: ReassignedLog, jobKey: Hex, alreadyApplied: boolean): ReassignComputeContractResult {
  return {
    jobKey,
    attempt: ev.args.attempt,
    oldProvider: ev.args.oldProvider,
    newProvider: ev.args.newProvider,
    newCostWei: ev.args.newCostWei,
    returnedWei: ev.args.returnedWei,
    newDeadlineSec: ev.args.newDeadline,
    txHash: ev.transactionHash,
    blockNumber: ev.blockNumber,
    alreadyApplied,
  };
}

/**
 * Deployer-role action: moves an open job's escrow to the provider of its next attempt (re-match on
 * failure), in place: the first provider is paid nothing, the requester nothing more (the new cost
 * is at most the escrow; the difference goes back to the requester in the same transaction).
 * Idempotent by (job, attempt), on chain: the escrow takes attempt n + 1 only after attempt n, so a
 * retry after a lost receipt reverts; the action reads the job's attempt first and, when this one
 * has started, answers it from its ComputeContractReassigned event (`alreadyApplied`); the attempt
 * started with another provider or cost is 'ReassignConflict'. Refusals: REASSIGN_REJECTION_CODES.
 */
export async function reassignComputeContract(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  params: ReassignComputeContractParams,
): Promise<ReassignComputeContractResult> {
  const action = `reassignComputeContract ${params.jobId}#${params.attempt}`;
  if (!Number.isInteger(params.attempt) || params.attempt < 2 || params.attempt > MAX_ATTEMPTS_PER_JOB) {
    throw new ChainActionError('TooManyAttempts', `${action}: the attempt must be in 2..${MAX_ATTEMPTS_PER_JOB}`);
  }
  if (params.newCostWei <= 0n || params.newCostWei >= 2n ** 256n) throw new ChainActionError('CostOutOfRange', `${action}: newCostWei ${params.newCostWei} must be positive`);
  const jobKey = jobIdToBytes32(params.jobId);
  try {
    const job = await readComputeContract(publicClient, params);
    if (job.status === 'none') throw new ChainActionError('UnknownJob', `${action}: no compute contract for this job`, { args: [jobKey] });
    if (job.attempt >= params.attempt) {
      const applied = await findReassign(publicClient, params, jobKey);
      if (applied) return applied;
    }
    if (job.status !== 'open') throw new ChainActionError('NotOpen', `${action}: the job is ${job.status}`, { args: [jobKey, job.status] });
    const txHash = await sendTx(publicClient, action, async () => {
      const { request } = await publicClient.simulateContract({
        account: walletClient.account,
        address: params.addresses.escrow,
        abi: escrowAbi(),
        functionName: 'reassign',
        args: [jobKey, params.attempt, termsOf(job), { requester: job.requester, provider: params.newProvider, costWei: params.newCostWei }, params.newDeadlineSec],
      });
      return walletClient.writeContract(request);
    });
    const receipt = await waitForSuccess(publicClient, txHash, action);
    const [ev] = parseEventLogs({ abi: escrowAbi(), logs: receipt.logs, eventName: 'ComputeContractReassigned', strict: true });
    if (!ev) throw new ChainActionError('ReassignEventMissing', `${action}: transaction ${txHash} holds no ComputeContractReassigned event`, { args: [txHash] });
    return resultOf(ev, jobKey, false);
  } catch (err) {
    const mapped = toChainActionError(err, action);
    // started by an earlier try or another relayer between our read and our transaction
    if (mapped.code === 'AttemptOutOfOrder' || mapped.code === 'TransactionReverted') {
      const applied = await findReassign(publicClient, params, jobKey).catch((e: unknown) => {
        if (e instanceof ChainActionError && e.code === 'ReassignConflict') throw e;
        return undefined;
      });
      if (applied) return applied;
    }
    throw mapped;
  }
}

/** The reassign that started this attempt, from its event; undefined when the chain has none. */
async function findReassign(publicClient: ChainPublicClient, params: ReassignComputeContractParams, jobKey: Hex): Promise<ReassignComputeContractResult | undefined> {
  const logs = await publicClient.getContractEvents({
    address: params.addresses.escrow,
    abi: escrowAbi(),
    eventName: 'ComputeContractReassigned',
    args: { jobId: jobKey, attempt: params.attempt },
    fromBlock: BigInt(params.addresses.deployBlock ?? 0),
    toBlock: 'latest',
    strict: true,
  });
  const ev = logs[0];
  if (!ev) return undefined;
  if (ev.args.newProvider.toLowerCase() !== params.newProvider.toLowerCase() || ev.args.newCostWei !== params.newCostWei) {
    throw new ChainActionError('ReassignConflict', `reassignComputeContract ${params.jobId}: attempt ${params.attempt} already went to ${ev.args.newProvider} for ${ev.args.newCostWei} wei`, {
      args: [jobKey, params.attempt],
    });
  }
  return resultOf(ev, jobKey, true);
}

/**
 * Codes of a reassign that no retry will fix (the job or the terms do not allow it): the caller
 * leaves the job to its deadline refund instead of retrying. Anything else (ChainUnavailable, ...)
 * is worth a retry with the same attempt, which is safe because the escrow starts an attempt once.
 */
export const REASSIGN_REJECTION_CODES: ReadonlySet<string> = new Set([
  'UnknownJob',
  'NotOpen',
  'AlreadySettled',
  'TooManyAttempts',
  'AttemptOutOfOrder',
  'ReassignConflict',
  'TermsMismatch',
  'DeadlinePassed',
  'RequesterChanged',
  'SameProvider',
  'ZeroAddress',
  'ZeroCost',
  'CostAboveEscrow',
  'CostOutOfRange',
  'DeadlineInPast',
  'DeadlineAboveBound',
]);
