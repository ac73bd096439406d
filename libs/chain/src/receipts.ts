import {
  BaseError,
  ContractFunctionRevertedError,
  ExecutionRevertedError,
  HttpRequestError,
  InsufficientFundsError,
  NonceMaxValueError,
  NonceTooHighError,
  NonceTooLowError,
  RpcRequestError,
  TimeoutError,
  WebSocketRequestError,
  type Hex,
  type TransactionReceipt,
} from 'viem';
import { annotate } from '@starminer/telemetry';
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
  const observer = txObservers.get(publicClient);
  const started = performance.now();
  const observe = (o: { receipt?: TransactionReceipt; error?: unknown }): void => {
    if (!observer) return;
    try {
      observer({ action, hash, seconds: (performance.now() - started) / 1000, ...(o.receipt ? { gasUsed: o.receipt.gasUsed, blockNumber: o.receipt.blockNumber } : {}), ...(o.error === undefined ? {} : { error: o.error }) });
    } catch {
      /* an observer (metrics) never changes the action's answer */
    }
  };
  let receipt: TransactionReceipt;
  try {
    receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: RECEIPT_POLL_MS, timeout: RECEIPT_TIMEOUT_MS, confirmations: depth + 1 });
  } catch (err) {
    observe({ error: err });
    throw err;
  }
  // the transaction on the active span (the call site's chain span): its hash, gas and block
  annotate({ 'chain.action': action, 'chain.tx_hash': hash, 'chain.gas_used': receipt.gasUsed.toString(), 'chain.block_number': receipt.blockNumber.toString(), 'chain.tx_status': receipt.status });
  if (receipt.status !== 'success') {
    const err = new ChainActionError('TransactionReverted', `${action}: transaction ${hash} reverted in block ${receipt.blockNumber}`, { args: [hash] });
    observe({ receipt, error: err });
    throw err;
  }
  observe({ receipt });
  return receipt;
}

/**
 * Why a transaction could not be sent (before any hash existed), as a bounded label: the
 * simulation reverted, the sender cannot pay for gas, its nonce is off, the RPC did not answer.
 */
export const CHAIN_SEND_FAILURE_REASONS = ['revert', 'insufficient_funds', 'nonce', 'rpc', 'other'] as const;
export type ChainSendFailureReason = (typeof CHAIN_SEND_FAILURE_REASONS)[number];

export function sendFailureReasonOf(err: unknown): ChainSendFailureReason {
  if (!(err instanceof BaseError)) return 'other';
  const found = err.walk((e) =>
    [ContractFunctionRevertedError, ExecutionRevertedError, InsufficientFundsError, NonceTooLowError, NonceTooHighError, NonceMaxValueError, HttpRequestError, WebSocketRequestError, TimeoutError, RpcRequestError].some((k) => e instanceof k),
  );
  if (found instanceof ContractFunctionRevertedError || found instanceof ExecutionRevertedError) return 'revert';
  if (found instanceof InsufficientFundsError) return 'insufficient_funds';
  if (found instanceof NonceTooLowError || found instanceof NonceTooHighError || found instanceof NonceMaxValueError) return 'nonce';
  if (found) return 'rpc';
  return 'other';
}

/**
 * The send step of a write helper: `send` simulates and signs/sends (viem's simulateContract then
 * writeContract) and answers the hash. A failure there (no hash yet: waitForSuccess never sees it)
 * is told to the client's observer with its reason, then rethrown unchanged.
 */
export async function sendTx(publicClient: ChainPublicClient, action: string, send: () => Promise<Hex>): Promise<Hex> {
  const started = performance.now();
  try {
    return await send();
  } catch (err) {
    const observer = txObservers.get(publicClient);
    try {
      observer?.({ action, seconds: (performance.now() - started) / 1000, error: err, sendFailure: sendFailureReasonOf(err) });
    } catch {
      /* an observer (metrics) never changes the action's answer */
    }
    throw err;
  }
}

/**
 * One transaction as libs/chain saw it end: final (with its gas and block), reverted, or not final
 * in time (waitForSuccess); or not sent at all (sendTx: no hash, `sendFailure` says why).
 */
export interface ChainTxObservation {
  /** The action's name as libs/chain gives it (may name a job after a space). */
  readonly action: string;
  /** Absent when it failed before being sent. */
  readonly hash?: Hex;
  readonly sendFailure?: ChainSendFailureReason;
  /** From the wait's start (just after sending) to final, reverted or given up; for a send failure, the send's time. */
  readonly seconds: number;
  readonly gasUsed?: bigint;
  readonly blockNumber?: bigint;
  readonly error?: unknown;
}
export type ChainTxObserver = (o: ChainTxObservation) => void;

/** Per public client, like the finality depth: a service observes the transactions it waits for (metrics). */
const txObservers = new WeakMap<object, ChainTxObserver>();

export function observeChainTxs(publicClient: ChainPublicClient, observer: ChainTxObserver | undefined): void {
  if (observer) txObservers.set(publicClient, observer);
  else txObservers.delete(publicClient);
}
