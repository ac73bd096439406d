import { parseEventLogs, zeroHash, type Hex, type LocalAccount } from 'viem';
import { escrowAbi } from './artifacts';
import { ChainActionError, toChainActionError } from './errors';
import { idToBytes32, jobIdToBytes32 } from './jobId';
import { chainIdOf, permitNonce, signPermit, type PermitSig } from './permit';
import { readComputeContract, termsOf } from './readComputeContract';
import { sendTx, waitForSuccess } from './receipts';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

/** ComputeEscrow.MAX_TOP_UP_EXTENSION_SEC: the most one top-up moves a deadline (contracts/test checks they agree). */
export const MAX_TOP_UP_EXTENSION_SEC = 7 * 24 * 3600;
/** ComputeEscrow.MAX_TOTAL_EXTENSION_SEC: the most all top-ups of one job move its deadline. */
export const MAX_TOTAL_EXTENSION_SEC = 30 * 24 * 3600;
/** ComputeEscrow.MAX_TOP_UPS_PER_JOB. */
export const MAX_TOP_UPS_PER_JOB = 32;
/**
 * Tries of one call: a second only when another top-up of the same job landed between our read of
 * its terms and our transaction (the escrow then answers TermsMismatch: the cost moved).
 */
export const TOP_UP_ATTEMPTS_MAX = 2;

export interface TopUpComputeContractParams {
  addresses: MarketAddresses;
  jobId: string;
  /**
   * The caller's id of this top-up (e.g. the API's Idempotency-Key), any non-empty string: the
   * escrow records it (keccak256, like job ids) and pays it at most once, for one job.
   */
  topUpId: string;
  /** The job's requester (custodial): signs a permit for exactly `extraCostWei`. */
  requester: LocalAccount;
  extraCostWei: bigint;
  /** How far the deadline moves: 1..MAX_TOP_UP_EXTENSION_SEC, all top-ups together at most MAX_TOTAL_EXTENSION_SEC. */
  extraRuntimeSec: number;
  /** Use the requester's existing allowance instead of a permit. */
  useAllowance?: boolean;
}

export interface TopUpComputeContractResult {
  jobKey: Hex;
  topUpKey: Hex;
  /** The transaction that paid this top-up: this call's, or (alreadyApplied) the earlier one's. */
  txHash: Hex;
  blockNumber: bigint;
  /** The top-up id had already paid (a retry): nothing was sent. */
  alreadyApplied: boolean;
  extraCostWei: bigint;
  extraRuntimeSec: number;
  /** What release pays and refund returns from now on. */
  newCostWei: bigint;
  newDeadlineSec: number;
  /** The block time of the top-up (the chain's, for the log: it was before the old deadline). */
  toppedUpAtSec: number;
}

const NO_PERMIT: PermitSig = { deadline: 0n, v: 0, r: zeroHash, s: zeroHash };

export function validateTopUp(p: Pick<TopUpComputeContractParams, 'jobId' | 'topUpId' | 'extraCostWei' | 'extraRuntimeSec'>): void {
  if (p.topUpId.length === 0) throw new ChainActionError('ZeroTopUpId', `job ${p.jobId}: the top-up id must not be empty`);
  if (p.extraCostWei <= 0n || p.extraCostWei >= 2n ** 256n) throw new ChainActionError('CostOutOfRange', `job ${p.jobId}: extraCostWei ${p.extraCostWei} must be positive`);
  if (!Number.isInteger(p.extraRuntimeSec) || p.extraRuntimeSec < 1 || p.extraRuntimeSec > MAX_TOP_UP_EXTENSION_SEC) {
    throw new ChainActionError('ExtensionAboveBound', `job ${p.jobId}: extraRuntimeSec ${p.extraRuntimeSec} must be in 1..${MAX_TOP_UP_EXTENSION_SEC}`);
  }
}

/**
 * Deployer-role action: more escrow and more time for an open job, paid by its requester (permit
 * or allowance), so a long job does not run out of escrow. Idempotent by `topUpId`, on chain: the
 * escrow records every top-up id it paid (`topUpJobOf`) and refuses it again (TopUpIdUsed), so a
 * retry after a lost receipt pays nothing. The action reads that record first and, when the id
 * has paid, answers the earlier top-up from its ComputeContractToppedUp event (`alreadyApplied`);
 * the same id with another job or other amounts is 'TopUpIdConflict'. Chosen over "read the
 * event first" alone because the chain's record also holds against two relayers racing.
 * Refusals (no retry fixes them): TOP_UP_REJECTION_CODES.
 */
export async function topUpComputeContract(walletClient: ChainWalletClient, publicClient: ChainPublicClient, params: TopUpComputeContractParams): Promise<TopUpComputeContractResult> {
  validateTopUp(params);
  const action = `topUpComputeContract ${params.jobId}`;
  const escrow = params.addresses.escrow;
  const jobKey = jobIdToBytes32(params.jobId);
  const topUpKey = idToBytes32(params.topUpId);
  for (let attempt = 1; ; attempt++) {
    try {
      const applied = await findTopUp(publicClient, params, jobKey, topUpKey);
      if (applied) return applied;
      const job = await readComputeContract(publicClient, params);
      if (job.status === 'none') throw new ChainActionError('UnknownJob', `${action}: no compute contract for this job`, { args: [jobKey] });
      if (job.status !== 'open') throw new ChainActionError('NotOpen', `${action}: the job is ${job.status}`, { args: [jobKey, job.status] });
      if (job.requester.toLowerCase() !== params.requester.address.toLowerCase()) {
        throw new ChainActionError('RequesterMismatch', `${action}: the job's requester is ${job.requester}, not ${params.requester.address}`, { args: [jobKey] });
      }
      const permit = params.useAllowance
        ? NO_PERMIT
        : await signPermit(params.requester, {
            token: params.addresses.token,
            chainId: await chainIdOf(publicClient),
            spender: escrow,
            valueWei: params.extraCostWei,
            nonce: await permitNonce(publicClient, params.addresses.token, params.requester.address),
            deadlineSec: BigInt(job.deadlineSec),
          });
      const txHash = await sendTx(publicClient, action, async () => {
        const { request } = await publicClient.simulateContract({
          account: walletClient.account,
          address: escrow,
          abi: escrowAbi(),
          functionName: 'topUp',
          args: [jobKey, topUpKey, termsOf(job), params.extraCostWei, params.extraRuntimeSec, permit],
        });
        return walletClient.writeContract(request);
      });
      const receipt = await waitForSuccess(publicClient, txHash, action);
      const [ev] = parseEventLogs({ abi: escrowAbi(), logs: receipt.logs, eventName: 'ComputeContractToppedUp', strict: true });
      if (!ev) throw new ChainActionError('TopUpEventMissing', `${action}: transaction ${txHash} holds no ComputeContractToppedUp event`, { args: [txHash] });
      return resultOf(ev, jobKey, topUpKey, false);
    } catch (err) {
      const mapped = toChainActionError(err, action);
      // Paid by an earlier try or another relayer (TopUpIdUsed, or a mined-but-reverted transaction): the retry case.
      if (mapped.code === 'TopUpIdUsed' || mapped.code === 'TransactionReverted') {
        const applied = await findTopUp(publicClient, params, jobKey, topUpKey).catch((e: unknown) => {
          if (e instanceof ChainActionError && e.code === 'TopUpIdConflict') throw e;
          return undefined; // the read failed: answer with the original error
        });
        if (applied) return applied;
      }
      // Another top-up of the job moved its cost between our read and our transaction: read again, once.
      if (mapped.code === 'TermsMismatch' && attempt < TOP_UP_ATTEMPTS_MAX) continue;
      throw mapped;
    }
  }
}

type ToppedUpLog = {
  args: { jobId: Hex; topUpId: Hex; extraCostWei: bigint; newCostWei: bigint; extraRuntimeSec: number; newDeadline: number; toppedUpAt: bigint };
  transactionHash: Hex;
  blockNumber: bigint;
};

function resultOf(ev: ToppedUpLog, jobKey: Hex, topUpKey: Hex, alreadyApplied: boolean): TopUpComputeContractResult {
  return {
    jobKey,
    topUpKey,
    txHash: ev.transactionHash,
    blockNumber: ev.blockNumber,
    alreadyApplied,
    extraCostWei: ev.args.extraCostWei,
    extraRuntimeSec: ev.args.extraRuntimeSec,
    newCostWei: ev.args.newCostWei,
    newDeadlineSec: ev.args.newDeadline,
    toppedUpAtSec: Number(ev.args.toppedUpAt),
  };
}

/** The top-up this id already paid, from the escrow's record and its event; undefined when the id is unused. */
async function findTopUp(
  publicClient: ChainPublicClient,
  params: Pick<TopUpComputeContractParams, 'addresses' | 'jobId' | 'topUpId' | 'extraCostWei' | 'extraRuntimeSec'>,
  jobKey: Hex,
  topUpKey: Hex,
): Promise<TopUpComputeContractResult | undefined> {
  const escrow = params.addresses.escrow;
  const paidInto = await publicClient.readContract({ address: escrow, abi: escrowAbi(), functionName: 'topUpJobOf', args: [topUpKey] });
  if (paidInto === zeroHash) return undefined;
  const conflict = (what: string) =>
    new ChainActionError('TopUpIdConflict', `topUpComputeContract ${params.jobId}: top-up id ${params.topUpId} already paid ${what}`, { args: [topUpKey, paidInto] });
  if (paidInto.toLowerCase() !== jobKey.toLowerCase()) throw conflict(`into another job (${paidInto})`);
  const logs = await publicClient.getContractEvents({
    address: escrow,
    abi: escrowAbi(),
    eventName: 'ComputeContractToppedUp',
    args: { jobId: jobKey, topUpId: topUpKey },
    fromBlock: BigInt(params.addresses.deployBlock ?? 0),
    toBlock: 'latest',
    strict: true,
  });
  const ev = logs[0];
  if (!ev) throw new ChainActionError('TopUpEventMissing', `topUpComputeContract ${params.jobId}: top-up id ${params.topUpId} is recorded but has no ComputeContractToppedUp event`, { args: [topUpKey] });
  if (ev.args.extraCostWei !== params.extraCostWei || ev.args.extraRuntimeSec !== params.extraRuntimeSec) {
    throw conflict(`other amounts (${ev.args.extraCostWei} wei, ${ev.args.extraRuntimeSec} s)`);
  }
  return resultOf(ev, jobKey, topUpKey, true);
}

/**
 * Codes of a top-up that no retry will fix (the job or the requester's funds do not allow it): the
 * caller answers the requester instead of retrying. Anything else (ChainUnavailable, ...) is worth a
 * retry with the same top-up id, which is safe because the escrow pays an id once.
 */
export const TOP_UP_REJECTION_CODES: ReadonlySet<string> = new Set([
  'ZeroTopUpId',
  'TopUpIdConflict',
  'UnknownJob',
  'NotOpen',
  'RequesterMismatch',
  'DeadlinePassed',
  'ZeroCost',
  'ZeroExtension',
  'ExtensionAboveBound',
  'TotalExtensionAboveBound',
  'TooManyTopUps',
  'PermitFailed',
  'ERC20InsufficientBalance',
  'ERC20InsufficientAllowance',
  'CostOutOfRange',
]);
