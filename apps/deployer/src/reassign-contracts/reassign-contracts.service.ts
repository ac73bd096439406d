import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { LessThanOrEqual } from 'typeorm';
import type { Address } from 'viem';
import { ChainActionError, REASSIGN_REJECTION_CODES, reassignComputeContract, type ReassignComputeContractResult } from '@starminer/chain';
import { attemptOf, contractDecider } from '@starminer/domain';
import { LIMITS, truncateText, type TradeEvent, type TradeEventOf } from '@starminer/events';
import { InjectConfig, KeyedMutex, ServiceRuntime, Ticker } from '@starminer/service-kit';
import { PoisonEventError, type StoredEvent } from '@starminer/trade-log';
import { DeployerChain } from '../chain/deployer-chain';
import type { DeployerConfig } from '../deployer.config';
import { isPoison } from '../open-contracts/open-contracts.consumer';
import { openBackoffMs, OPEN_RETRY_DELAY_MS_MAX } from '../reconcile-opens/reconcile-opens.service';
import { termsHashOf } from '../open-contracts/terms';
import { PendingReassignRow } from './pending-reassign-row.entity';

/** The durable consumer of job events that moves escrows to re-matched nodes. */
export const REASSIGN_CONTRACTS_DURABLE = 'deployer-rematches';
/** Pending moves one reconciler round looks at (the most overdue first); the rest wait for the next round. */
export const REASSIGN_RECONCILE_PAGE_MAX = 64;
/** Tries of one move before the reconciler stops re-driving it (the contract's deadline then refunds the job). */
export const REASSIGN_TRIES_MAX = 20;

/** What became of one move: on chain and recorded, refused for good (left to the deadline's refund), nothing to do, or left to the reconciler. */
export type ReassignOutcome = { readonly kind: 'reassigned' | 'rejected' | 'skipped' } | { readonly kind: 'deferred'; readonly error: string };

/**
 * Re-match on failure (issue 16), the deployer's part: a JobMatched of attempt 2 or more (the job
 * queued again after its node failed, matched on another) moves the job's open escrow on chain to
 * the new node (ComputeEscrow.reassign: the first provider is paid nothing, the requester nothing
 * more; the new cost is at most the escrow and the rest goes back to the requester) and records
 * ContractReassigned. The deadline is the match's time plus the job's deadlineSec, so every retry
 * sends the same move. The id of the move is (job, attempt): the chain starts an attempt once, and
 * `reassignComputeContract` answers a retry from the chain's event.
 *
 * A refusal no retry cures (REASSIGN_REJECTION_CODES: e.g. the old deadline passed) is logged and
 * left: the contract, still waiting for its move, is refunded at its deadline by settlement. A
 * failure that may pass (the chain away) is left to the reconciler (this service's ticker over
 * PendingReassignsProjection), which re-drives it with a bounded backoff, at most REASSIGN_TRIES_MAX times.
 */
@Injectable()
export class ReassignContractsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('reassign-contracts');
  private readonly ticker: Ticker;
  private readonly rounds = new KeyedMutex();

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: DeployerChain,
    @InjectConfig() private readonly config: DeployerConfig,
  ) {
    this.ticker = new Ticker('reassign-contracts', config.DEPLOYER_OPEN_RECONCILE_MS, () => this.reconcileOnce().then(() => undefined), this.logger);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.rt.consume({ durable: REASSIGN_CONTRACTS_DURABLE, filterSubjects: [this.rt.filter('job')], handler: (batch) => this.onJobEvents(batch) });
    this.ticker.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.ticker.stop();
  }

  async onJobEvents(batch: readonly StoredEvent[]): Promise<void> {
    for (const stored of batch) {
      const e = stored.event as TradeEvent;
      if (e.type !== 'JobMatched' || e.data.attempt === undefined) continue;
      const outcome = await this.reassignOne(e);
      if (outcome.kind === 'deferred') this.logger.warn(`job ${e.data.jobId}: move to attempt ${e.data.attempt} failed (${outcome.error}); left to the reconciler`);
    }
  }

  /** One reconciler round: the due pending moves, each tried again. */
  reconcileOnce(nowMs = Date.now()): Promise<{ retried: number }> {
    return this.rounds.run('round', async () => {
      const repo = this.rt.db.getRepository(PendingReassignRow);
      const due = await repo.find({ where: { closed: false, nextTryAtMs: LessThanOrEqual(String(nowMs)) }, order: { nextTryAtMs: 'ASC' }, take: REASSIGN_RECONCILE_PAGE_MAX });
      let retried = 0;
      for (const row of due) {
        const tries = row.tries + 1;
        let error: string | null = null;
        try {
          const matched = (await this.rt.events('job', row.jobId)).findLast((x): x is TradeEventOf<'JobMatched'> => x.type === 'JobMatched' && x.data.attempt === row.attempt);
          if (!matched) error = `no JobMatched of attempt ${row.attempt} on the job subject`;
          else {
            retried += 1;
            const outcome = await this.reassignOne(matched);
            if (outcome.kind === 'deferred') error = outcome.error;
          }
        } catch (err) {
          error = (err as Error).message; // one move's trouble never stops the others
        }
        const nextTryAtMs = tries >= REASSIGN_TRIES_MAX ? Number.MAX_SAFE_INTEGER : nowMs + openBackoffMs(tries, this.config.DEPLOYER_OPEN_RETRY_BASE_MS, OPEN_RETRY_DELAY_MS_MAX);
        await repo.update({ jobId: row.jobId, attempt: row.attempt, closed: false }, { tries, nextTryAtMs: String(nextTryAtMs), lastError: error === null ? row.lastError : truncateText(error, LIMITS.reasonLengthMax) });
      }
      return { retried };
    });
  }

  /**
   * Moves the escrow for one re-match and records it; a failure a retry may cure is returned, not
   * thrown. Under the deployer key's lock, the contract is read first: a move recorded, or a
   * contract no longer waiting for one (decided, ended), sends nothing.
   */
  async reassignOne(matched: TradeEventOf<'JobMatched'>): Promise<ReassignOutcome> {
    const jobId = matched.data.jobId;
    const attempt = matched.data.attempt;
    if (attempt === undefined) return { kind: 'skipped' };
    const job = await this.rt.events('job', jobId);
    const submitted = job.find((x): x is TradeEventOf<'JobSubmitted'> => x.type === 'JobSubmitted');
    if (!submitted) throw new PoisonEventError(`job ${jobId} has no JobSubmitted on the log: its escrow's move has no terms`);
    const deadlineUnixSec = Math.floor(Date.parse(matched.occurredAt) / 1000) + submitted.data.deadlineSec;
    const { publicClient, addresses } = this.chain;
    let moved: ReassignComputeContractResult | undefined;
    try {
      moved = await this.chain.asDeployer(async (wallet) => {
        const { state } = await this.rt.load('contract', jobId, contractDecider);
        if (state.status !== 'reassigning' || attemptOf(state) >= attempt) return undefined;
        return reassignComputeContract(wallet, publicClient, {
          addresses,
          jobId,
          attempt,
          newProvider: matched.data.nodeAddress as Address,
          newCostWei: matched.data.costWei,
          newDeadlineSec: deadlineUnixSec,
        });
      });
    } catch (err) {
      if (err instanceof ChainActionError && REASSIGN_REJECTION_CODES.has(err.code)) {
        this.logger.warn(`job ${jobId}: escrow not moved to attempt ${attempt}: ${err.code} (the contract is refunded at its deadline)`);
        return { kind: 'rejected' };
      }
      if (isPoison(err)) throw err;
      return { kind: 'deferred', error: err instanceof ChainActionError ? `${err.code}: ${err.message}` : (err as Error).message };
    }
    if (!moved) return { kind: 'skipped' };
    await this.rt.execute(
      'contract',
      jobId,
      contractDecider,
      {
        type: 'RecordReassigned',
        attempt,
        nodeId: matched.data.nodeId,
        nodeAddress: matched.data.nodeAddress,
        escrowWei: moved.newCostWei,
        returnedWei: moved.returnedWei,
        deadlineUnixSec: moved.newDeadlineSec,
        termsHash: termsHashOf(submitted.data, matched.data),
        txHash: moved.txHash,
        blockNumber: moved.blockNumber.toString(),
      },
      { correlationId: jobId, causationId: matched.id, actor: 'service:deployer' },
    );
    return { kind: 'reassigned' };
  }
}
