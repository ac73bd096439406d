import { isAddressEqual, parseEventLogs, type Address, type Hex } from 'viem';
import { escrowAbi } from './artifacts';
import { ChainActionError, toChainActionError } from './errors';
import { jobIdToBytes32 } from './jobId';
import { sendTx, waitForSuccess } from './receipts';
import type { ChainPublicClient, ChainWalletClient, MarketAddresses } from './types';

/** ComputeEscrow.MAX_BATCH: the most items one `releaseBatch` takes. */
export const MAX_RELEASE_BATCH = 64;

/**
 * Why the escrow skipped an item of a batch, as its ComputeContractReleaseSkipped event says; the
 * index is the Solidity enum ComputeEscrow.ReleaseSkip (0, None, is never emitted). Each is the
 * error `release` would have reverted with for the item (AlreadyReleased / AlreadyRefunded:
 * AlreadySettled).
 */
export const RELEASE_SKIP_REASONS = ['None', 'UnknownJob', 'AlreadyReleased', 'AlreadyRefunded', 'TermsMismatch', 'ZeroResultHash', 'InvalidProviderSignature'] as const;
export type ReleaseSkipReason = Exclude<(typeof RELEASE_SKIP_REASONS)[number], 'None'>;

export interface ReleaseBatchItem {
  jobId: string;
  /**
   * The (requester, provider, costWei) the job's escrow commits to now (termsOf(readComputeContract),
   * or what the log recorded: terms that are not the chain's skip the item, TermsMismatch).
   */
  terms: { requester: Address; provider: Address; costWei: bigint };
  resultHash: Hex;
  proofHash: Hex;
  /** The provider's EIP-712 signature of (jobId, resultHash, proofHash) for this escrow. */
  providerSignature: Hex;
}

export type ReleaseBatchOutcome =
  | { jobId: string; jobKey: Hex; outcome: 'released'; amountWei: bigint; txHash: Hex; blockNumber: bigint }
  | { jobId: string; jobKey: Hex; outcome: 'skipped'; reason: ReleaseSkipReason };

export interface ReleaseBatchResult {
  /** null when there was nothing to send (no items). */
  txHash: Hex | null;
  blockNumber: bigint | null;
  /** One per item, in the items' order. */
  jobs: ReleaseBatchOutcome[];
}

/**
 * Settlement-role action: release up to MAX_RELEASE_BATCH jobs in one transaction
 * (ComputeEscrow.releaseBatch), wait for it at the configured confirmation depth, and answer per
 * job from the receipt's logs: released (its amount, the transaction, its block) or skipped (the
 * reason the escrow gave). Nothing is read before: the escrow checks every item and skips what
 * cannot be released (already released, refunded, unknown, other terms, a bad signature) without
 * reverting, so a retried batch pays nothing twice; the caller settles a skipped job its own way.
 * ChainActionError when the transaction could not be sent or reverted (BatchTooLarge and
 * DuplicateJobInBatch are refused before sending).
 */
export async function releaseComputeContractsBatch(
  walletClient: ChainWalletClient,
  publicClient: ChainPublicClient,
  params: { addresses: MarketAddresses; items: readonly ReleaseBatchItem[] },
): Promise<ReleaseBatchResult> {
  const { addresses, items } = params;
  if (items.length > MAX_RELEASE_BATCH) throw new ChainActionError('BatchTooLarge', `release batch of ${items.length} jobs exceeds ${MAX_RELEASE_BATCH}`);
  if (new Set(items.map((i) => i.jobId)).size !== items.length) throw new ChainActionError('DuplicateJobInBatch', 'a release batch must not repeat a job id');
  if (items.length === 0) return { txHash: null, blockNumber: null, jobs: [] };
  const action = `releaseComputeContractsBatch (${items.length} jobs)`;
  const keyed = items.map((item) => ({ item, jobKey: jobIdToBytes32(item.jobId) }));
  const args = keyed.map(({ item, jobKey }) => ({ jobId: jobKey, terms: item.terms, resultHash: item.resultHash, proofHash: item.proofHash, providerSignature: item.providerSignature }));
  try {
    const txHash = await sendTx(publicClient, action, async () => {
      const { request } = await publicClient.simulateContract({ account: walletClient.account, address: addresses.escrow, abi: escrowAbi(), functionName: 'releaseBatch', args: [args] });
      return walletClient.writeContract(request);
    });
    const receipt = await waitForSuccess(publicClient, txHash, action);
    const ours = receipt.logs.filter((l) => isAddressEqual(l.address, addresses.escrow));
    const released = new Map(parseEventLogs({ abi: escrowAbi(), logs: ours, eventName: 'ComputeContractReleased', strict: true }).map((l) => [l.args.jobId, l.args.costWei]));
    const skipped = new Map(parseEventLogs({ abi: escrowAbi(), logs: ours, eventName: 'ComputeContractReleaseSkipped', strict: true }).map((l) => [l.args.jobId, l.args.reason]));
    const jobs = keyed.map(({ item, jobKey }): ReleaseBatchOutcome => {
      const amountWei = released.get(jobKey);
      if (amountWei !== undefined) return { jobId: item.jobId, jobKey, outcome: 'released', amountWei, txHash, blockNumber: receipt.blockNumber };
      const reason = skipReasonFromIndex(skipped.get(jobKey));
      return { jobId: item.jobId, jobKey, outcome: 'skipped', reason };
    });
    return { txHash, blockNumber: receipt.blockNumber, jobs };
  } catch (err) {
    throw toChainActionError(err, action);
  }
}

function skipReasonFromIndex(index: number | undefined): ReleaseSkipReason {
  const reason = index === undefined ? undefined : RELEASE_SKIP_REASONS[index];
  if (reason === undefined || reason === 'None') {
    throw new ChainActionError('ReleaseOutcomeMissing', `releaseBatch: an item has neither a ComputeContractReleased nor a ComputeContractReleaseSkipped event (reason ${index})`);
  }
  return reason;
}
