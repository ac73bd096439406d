import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { LessThanOrEqual } from 'typeorm';
import { readComputeContract, type ComputeContractState } from '@starminer/chain';
import { contractDecider } from '@starminer/domain';
import { LIMITS, truncateText, type TradeEventOf } from '@starminer/events';
import { InjectConfig, KeyedMutex, ServiceRuntime, Ticker } from '@starminer/service-kit';
import { DeployerChain } from '../chain/deployer-chain';
import type { DeployerConfig } from '../deployer.config';
import { isPoison, OpenContractsConsumer, type OpenOutcome } from '../open-contracts/open-contracts.consumer';
import { VaultDraws } from '../vault-draws/vault-draws';
import { OpenChainCheck } from './open-chain-check';
import { PendingOpenRow } from './open-rows.entity';
import { OPEN_TIMED_OUT } from './pending-opens.projection';

/** Pending opens one round looks at (the most overdue first); the rest wait for the next round. */
export const OPEN_RECONCILE_PAGE_MAX = 64;
/** The longest wait between two tries of one open (the backoff doubles from DEPLOYER_OPEN_RETRY_BASE_MS up to this). */
export const OPEN_RETRY_DELAY_MS_MAX = 60_000;
/**
 * How long past its give-up deadline an open may still wait for a deployer transaction in flight
 * (sent, not mined: it could still be this open). Twice the chain actions' receipt timeout
 * (libs/chain receipts.ts, 60 s): past it the open is given up anyway, and an open that lands
 * later is noticed by the chain-vs-log check (OpenChainCheck).
 */
export const OPEN_GIVE_UP_GRACE_MS = 120_000;

/** Exponential backoff, bounded: base, 2 base, 4 base, ... up to maxMs. */
export function openBackoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
}

export interface OpensRound {
  /** Opens tried again (whatever came of them). */
  readonly retried: number;
  /** Opens decided at their deadline: found on chain (recorded opened) or given up (OPEN_TIMED_OUT). */
  readonly opened: number;
  readonly timedOut: number;
}

/**
 * The reconciler of contract opens. Every DEPLOYER_OPEN_RECONCILE_MS:
 * 1. matches without a contract outcome (PendingOpensProjection) are opened again, each with its
 *    own bounded exponential backoff (the chain's open is idempotent per job id); a vault's job is
 *    drawn from its vault instead (VaultDraws), never opened on the org's account;
 * 2. past DEPLOYER_OPEN_GIVE_UP_MS after its match, an open is decided from the chain, under the
 *    deployer key's lock and only when no deployer transaction is in flight (pending nonce =
 *    mined nonce; waited for at most OPEN_GIVE_UP_GRACE_MS), so no open of ours can land after
 *    the read: opened -> ContractOpened; not opened -> ContractOpenFailed OPEN_TIMED_OUT, which
 *    frees the job's GPUs (matching) and its budget (intake);
 * 3. recorded opens are compared with the chain (OpenChainCheck).
 * The consumer checks the contract under the same lock before it sends, so it never opens a job
 * this has given up. (One deployer instance holds the key; a second would need the lock in Postgres.)
 */
@Injectable()
export class ReconcileOpensService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('reconcile-opens');
  private readonly ticker: Ticker;
  /** A tick and a direct call (a spec, an operator) never reconcile at the same time. */
  private readonly rounds = new KeyedMutex();

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: DeployerChain,
    private readonly opens: OpenContractsConsumer,
    private readonly draws: VaultDraws,
    private readonly check: OpenChainCheck,
    @InjectConfig() private readonly config: DeployerConfig,
  ) {
    this.ticker = new Ticker('reconcile-opens', config.DEPLOYER_OPEN_RECONCILE_MS, () => this.reconcileOnce().then(() => undefined), this.logger);
  }

  onApplicationBootstrap(): void {
    this.ticker.start();
  }

  // before the kit closes the log and the database (its global module's shutdown hooks run first)
  async onModuleDestroy(): Promise<void> {
    await this.ticker.stop();
  }

  /** One round: pending opens, then the chain-vs-log check. */
  reconcileOnce(nowMs = Date.now()): Promise<OpensRound & { checked: number; restored: number; lost: number }> {
    return this.rounds.run('round', async () => {
      const pending = await this.pendingRound(nowMs);
      const checked = await this.check.checkOnce(nowMs);
      return { ...pending, ...checked };
    });
  }

  private async pendingRound(nowMs: number): Promise<OpensRound> {
    const repo = this.rt.db.getRepository(PendingOpenRow);
    const due = await repo.find({ where: { closed: false, nextAttemptAtMs: LessThanOrEqual(String(nowMs)) }, order: { nextAttemptAtMs: 'ASC' }, take: OPEN_RECONCILE_PAGE_MAX });
    let retried = 0;
    let opened = 0;
    let timedOut = 0;
    for (const row of due) {
      try {
        const giveUpAtMs = Number(row.matchedAtMs) + this.config.DEPLOYER_OPEN_GIVE_UP_MS;
        if (nowMs >= giveUpAtMs) {
          const outcome = await this.decideAtDeadline(row, nowMs, giveUpAtMs);
          if (outcome === 'opened') opened += 1;
          if (outcome === 'timed-out') timedOut += 1;
          continue;
        }
        retried += 1;
        await this.retry(row, nowMs, giveUpAtMs);
      } catch (err) {
        // one open's trouble (the log or the chain away) never stops the others
        await this.later(row, nowMs, (err as Error).message);
      }
    }
    return { retried, opened, timedOut };
  }

  private async retry(row: PendingOpenRow, nowMs: number, giveUpAtMs: number): Promise<void> {
    const matched = await this.opens.matchedOf(row.jobId);
    if (!matched) return this.later(row, nowMs, 'no JobMatched on the job subject');
    let open: (() => Promise<OpenOutcome>) | undefined;
    try {
      const prepared = await this.opens.prepareOpen(matched);
      // a vault's job (the open path skips it) is drawn from its vault
      const draw = prepared ? undefined : await this.draws.prepare(matched);
      open = prepared ? () => this.opens.openOne(prepared) : draw && (() => this.draws.drawOne(draw));
    } catch (err) {
      // it can never be opened: it waits for its deadline, where it is recorded failed
      if (isPoison(err)) return this.at(row, giveUpAtMs, (err as Error).message);
      throw err;
    }
    // nothing to do (recorded, or the job ended): the projection closes the row
    if (!open) return this.later(row, nowMs, null);
    const outcome = await open();
    if (outcome.kind === 'deferred') return this.later(row, nowMs, outcome.error);
    return this.later(row, nowMs, null);
  }

  /**
   * The outcome from the chain, read while no open of ours can still land; recorded under the same
   * lock, so the consumer (which checks the log under it before it sends) never opens it after.
   */
  private async decideAtDeadline(row: PendingOpenRow, nowMs: number, giveUpAtMs: number): Promise<'opened' | 'timed-out' | 'waiting'> {
    const matched = await this.opens.matchedOf(row.jobId);
    if (!matched) {
      await this.later(row, nowMs, 'no JobMatched on the job subject');
      return 'waiting';
    }
    const { publicClient, addresses } = this.chain;
    return this.chain.asDeployer(async (wallet) => {
      const address = wallet.account.address;
      const [mined, pending] = await Promise.all([publicClient.getTransactionCount({ address, blockTag: 'latest' }), publicClient.getTransactionCount({ address, blockTag: 'pending' })]);
      if (pending > mined && nowMs < giveUpAtMs + OPEN_GIVE_UP_GRACE_MS) {
        await this.later(row, nowMs, `a deployer transaction is in flight (nonce ${mined}..${pending}): waiting for it before giving up`);
        return 'waiting';
      }
      const onChain = await readComputeContract(publicClient, { addresses, jobId: row.jobId });
      if (onChain.status !== 'none') {
        await this.recordFromChain(matched, onChain);
        return 'opened';
      }
      const reason = truncateText(
        `no contract on chain ${this.config.DEPLOYER_OPEN_GIVE_UP_MS} ms after the match (${row.attempts} retries${row.lastError ? `; last: ${row.lastError}` : ''})`,
        LIMITS.reasonLengthMax,
      );
      this.logger.warn(`job ${row.jobId}: open given up: ${reason}`);
      await this.rt.execute('contract', row.jobId, contractDecider, { type: 'RecordOpenFailed', jobId: row.jobId, code: OPEN_TIMED_OUT, reason }, this.opens.causation(matched));
      return 'timed-out';
    });
  }

  /** An open found on chain: ContractOpened from what the chain holds (its event commits to the terms). */
  private async recordFromChain(matched: TradeEventOf<'JobMatched'>, onChain: ComputeContractState): Promise<void> {
    await this.opens.recordOpenedData(
      {
        jobId: matched.data.jobId,
        chainJobId: onChain.jobKey,
        contractAddress: onChain.contractAddress,
        requesterAddress: onChain.requester,
        nodeAddress: matched.data.nodeAddress,
        escrowWei: onChain.costWei,
        deadlineUnixSec: onChain.deadlineSec,
        termsHash: onChain.termsHash,
        txHash: onChain.openTxHash,
        blockNumber: onChain.openBlockNumber === null ? null : onChain.openBlockNumber.toString(),
      },
      matched,
    );
  }

  /** The next try after this one's backoff (error null: none to keep; the row is about to close). */
  private async later(row: PendingOpenRow, nowMs: number, error: string | null): Promise<void> {
    const attempts = row.attempts + 1;
    await this.at(row, nowMs + openBackoffMs(attempts, this.config.DEPLOYER_OPEN_RETRY_BASE_MS, OPEN_RETRY_DELAY_MS_MAX), error, attempts);
  }

  private async at(row: PendingOpenRow, atMs: number, error: string | null, attempts = row.attempts + 1): Promise<void> {
    const lastError = error === null ? row.lastError : truncateText(error, LIMITS.reasonLengthMax);
    await this.rt.db.getRepository(PendingOpenRow).update({ jobId: row.jobId, closed: false }, { attempts, nextAttemptAtMs: String(Math.floor(atMs)), lastError });
  }
}
