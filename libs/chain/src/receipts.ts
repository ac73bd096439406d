import type { Hex, TransactionReceipt } from 'viem';
import { ChainActionError } from './errors';
import type { ChainPublicClient } from './types';

/** Poll fast: anvil and L2s mine in well under a second; viem's client default is 4 s. */
export const RECEIPT_POLL_MS = 100;
export const RECEIPT_TIMEOUT_MS = 60_000;

export async function waitForSuccess(publicClient: ChainPublicClient, hash: Hex, action: string): Promise<TransactionReceipt> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: RECEIPT_POLL_MS, timeout: RECEIPT_TIMEOUT_MS });
  if (receipt.status !== 'success') {
    throw new ChainActionError('TransactionReverted', `${action}: transaction ${hash} reverted in block ${receipt.blockNumber}`, { args: [hash] });
  }
  return receipt;
}
