import { Injectable, Logger } from '@nestjs/common';
import { keccak256, stringToBytes } from 'viem';
import {
  ChainActionError,
  disputeComputeContract,
  readComputeContract,
  refundComputeContract,
  releaseComputeContract,
  type SettleResult,
} from '@starminer/chain';
import { contractDecider, type ContractCommand } from '@starminer/domain';
import type { AggregateEnvelope, EventTypeOf, TradeEventOf } from '@starminer/events';
import { KeyedMutex, ServiceRuntime, type Causation } from '@starminer/service-kit';
import { JOB_ID_ATTR, SERVICE_ATTR, SpanKind, withSpan } from '@starminer/telemetry';
import { PoisonEventError } from '@starminer/trade-log';
import { SettlementChain } from '../settlement-chain';

/** The chain did not take the settlement now (unreachable, reverted for a reason that may pass): try again later. */
export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError';
  readonly code = 'RETRY_LATER';
  readonly retryable = true;
}

/**
 * The chain has no contract for the job (UnknownJob): the chain lost the open (restored from an
 * older state, reorganised). Not retried by the executor: the deployer's reconciler re-opens it,
 * and the deadline scan re-drives the settlement with bounded backoff meanwhile, or gives it up.
 */
export class OpenMissingError extends Error {
  override readonly name = 'OpenMissingError';
  readonly code = 'OPEN_MISSING';
}

type ContractEnvelope = AggregateEnvelope<'contract'>;

/** The last event of `type` on a contract's log (its ResultSubmitted, its SettlementDecided). */
export const lastOf = <T extends EventTypeOf<'contract'>>(events: readonly ContractEnvelope[], type: T): TradeEventOf<T> | undefined =>
  [...events].reverse().find((e): e is TradeEventOf<T> & ContractEnvelope => e.type === type);

/**
 * Carries a decided settlement (`SettlementDecided`) to the chain and records its transaction
 * (`ContractReleased` / `ContractRefunded`). Safe to run twice and from two places (the executor
 * and the deadline scan's re-drive): one job at a time in this process, nothing done once the log
 * shows it recorded, and a chain that was settled first (AlreadySettled) is recorded as it is.
 */
@Injectable()
export class ExecuteSettlement {
  private readonly logger = new Logger('execute-settlement');
  private readonly jobLocks = new KeyedMutex();

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: SettlementChain,
  ) {}

  /**
   * Throws RetryLaterError when the chain did not take it (retried), PoisonEventError when it can
   * never be executed as decided (parked for an operator).
   */
  execute(jobId: string, causationId: string): Promise<void> {
    return this.exclusive(jobId, () => this.executeNow(jobId, { correlationId: jobId, causationId, actor: 'service:settlement' }));
  }

  /** Runs `work` while no other chain action of this job runs in this process (the reconciler's restores too). */
  exclusive<T>(jobId: string, work: () => Promise<T>): Promise<T> {
    return this.jobLocks.run(jobId, work);
  }

  /**
   * Sends the release (against the signed result on the log) or the refund (disputing first
   * before the deadline) and waits for it at the configured confirmation depth. Idempotent: a
   * chain that already settled it this way answers without a transaction. ChainActionError as the
   * chain answers; PoisonEventError when a release has no signed result to release against.
   */
  async carryOut(jobId: string, outcome: 'release' | 'refund', events: readonly ContractEnvelope[]): Promise<SettleResult> {
    if (outcome === 'refund') return this.refundNow(jobId, events);
    const result = lastOf(events, 'ResultSubmitted');
    if (!result) throw new PoisonEventError(`job ${jobId} is to be released, but no ResultSubmitted is on its log: there is no signed result to release against`);
    return releaseComputeContract(this.chain.wallet, this.chain.publicClient, {
      addresses: this.chain.addresses,
      jobId,
      resultHash: result.data.resultHash as `0x${string}`,
      proofHash: result.data.proofHash as `0x${string}`,
      providerSignature: result.data.signature as `0x${string}`,
    });
  }

  /**
   * Records a release the chain made for this job outside `execute` (a batched release, which held
   * the job's lock as `exclusive` does), as `execute` records its own: RecordReleased with the
   * transaction, its block and the amount paid.
   */
  recordReleased(jobId: string, r: { amountWei: bigint; txHash: string; blockNumber: bigint }, causationId: string): Promise<void> {
    return this.record(jobId, { type: 'RecordReleased', amountWei: r.amountWei, txHash: r.txHash, blockNumber: r.blockNumber.toString() }, { correlationId: jobId, causationId, actor: 'service:settlement' });
  }

  private async executeNow(jobId: string, causation: Causation): Promise<void> {
    const { state, events } = await this.rt.load('contract', jobId, contractDecider);
    if (state.status !== 'settling') return; // not decided, or already recorded
    const { addresses } = this.chain;
    try {
      // recorded once final: carryOut waits for CHAIN_CONFIRMATIONS blocks on top of the receipt
      // the chain call's span: the receipt's hash, gas and block go on it (libs/chain's waitForSuccess)
      const r = await withSpan(`chain ${state.outcome}`, { [SERVICE_ATTR]: this.rt.service, [JOB_ID_ATTR]: jobId }, () => this.carryOut(jobId, state.outcome, events), { kind: SpanKind.CLIENT });
      const blockNumber = r.blockNumber === null ? null : r.blockNumber.toString();
      const type = state.outcome === 'release' ? 'RecordReleased' : 'RecordRefunded';
      await this.record(jobId, { type, amountWei: r.amountWei, txHash: r.txHash, blockNumber }, causation);
    } catch (err) {
      if (err instanceof ChainActionError && err.code === 'UnknownJob') {
        this.logger.warn(`job ${jobId}: the chain has no contract for it (the open was lost); the ${state.outcome} waits for the open to be restored`);
        throw new OpenMissingError(`${state.outcome} of ${jobId}: the chain has no contract for the job`, { cause: err });
      }
      if (err instanceof ChainActionError && err.code === 'AlreadySettled') {
        // The chain went the other way first (e.g. the requester's public refund): record the truth.
        const onChain = await readComputeContract(this.chain.publicClient, { addresses, jobId }).catch((cause: unknown) => {
          throw new RetryLaterError(`${state.outcome} of ${jobId}: the chain could not be read`, { cause });
        });
        if (onChain.status === 'released' || onChain.status === 'refunded') {
          if (onChain.status !== (state.outcome === 'release' ? 'released' : 'refunded')) {
            this.logger.warn(`job ${jobId}: decided ${state.outcome} but the chain shows ${onChain.status}; recording the chain`);
          }
          const type = onChain.status === 'released' ? 'RecordReleased' : 'RecordRefunded';
          await this.record(jobId, { type, amountWei: onChain.costWei, txHash: null }, causation);
          return;
        }
      }
      if (err instanceof ChainActionError) {
        this.logger.warn(`job ${jobId}: ${state.outcome} not executed yet: ${err.code}`);
        throw new RetryLaterError(`${state.outcome} of ${jobId}: ${err.code}`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * A refund before the deadline (a rejected result) first puts the contract on hold (dispute),
   * which lets the settlement role refund at once; after the deadline it refunds directly.
   */
  private async refundNow(jobId: string, events: readonly ContractEnvelope[]): Promise<SettleResult> {
    const { wallet, publicClient, addresses } = this.chain;
    try {
      return await refundComputeContract(wallet, publicClient, { addresses, jobId });
    } catch (err) {
      if (!(err instanceof ChainActionError && err.code === 'DeadlineNotReached')) throw err;
      const decided = lastOf(events, 'SettlementDecided');
      await disputeComputeContract(wallet, publicClient, { addresses, jobId, reasonHash: keccak256(stringToBytes(decided?.data.reason ?? 'refund decided')) });
      return refundComputeContract(wallet, publicClient, { addresses, jobId });
    }
  }

  /**
   * Records what the chain did. The decider refuses only a record that contradicts the log (a
   * refund after a recorded release, or the reverse): no retry fixes that, an operator must look.
   */
  private async record(jobId: string, command: Extract<ContractCommand, { type: 'RecordReleased' | 'RecordRefunded' }>, causation: Causation): Promise<void> {
    // a refusal here is parked at once by the runtime's consumer (a DomainError is poison)
    await this.rt.execute('contract', jobId, contractDecider, command, causation);
  }
}
