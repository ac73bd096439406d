import type { Hex, TransactionReceipt } from 'viem';
import { ChainActionError } from './errors';
import type { ChainPublicClient } from './types';

/** Poll fast: anvil and L2s mine in well under a second; viem's client default is 4 s. */
export const RECEIPT_POLL_MS = 100;
export const RECEIPT_TIMEOUT_MS = 60_000;

/** The most confirmations a deployment may ask for (a bound on how long a receipt is waited for). */
export const FINALITY_DEPTH_MAX = 64;

/**
 * Confirmation depth per public client: a chain effect counts (and is recorded on the log) once its
 * block has this many blocks on top (0: once mined, for the local chain; the code path is the same).
 */
const finalityDepth = new WeakMap<object, number>();

export function setFinalityDepth(publicClient: ChainPublicClient, confirmations: number): void {
  if (!Number.isInteger(confirmations) || confirmations < 0 || confirmations > FINALITY_DEPTH_MAX) {
    throw new RangeError(`confirmations must be an integer in 0..${FINALITY_DEPTH_MAX}, got ${confirmations}`);
  }
  finalityDepth.set(publicClient, confirmations);
}

export function finalityDepthOf(publicClient: ChainPublicClient): number {
  return finalityDepth.get(publicClient) ?? 0;
}

/**
 * Sends nothing: waits until the transaction is mined and `finalityDepthOf(publicClient)` blocks
 * deep, then checks it succeeded. viem counts confirmations as blocks including the receipt's own,
 * so depth d waits for d + 1.
 */
export async function waitForSuccess(publicClient: ChainPublicClient, hash: Hex, action: string): Promise<TransactionReceipt> {
  const depth = finalityDepthOf(publicClient);
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: RECEIPT_POLL_MS, timeout: RECEIPT_TIMEOUT_MS, confirmations: depth + 1 });
  if (receipt.status !== 'success') {
    throw new ChainActionError('TransactionReverted', `${action}: transaction ${hash} reverted in block ${receipt.blockNumber}`, { args: [hash] });
  }
  return receipt;
}
