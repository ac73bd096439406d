import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ChainActionError } from '@starminer/chain';
import { contractDecider } from '@starminer/domain';
import { ServiceRuntime, Ticker, type Causation } from '@starminer/service-kit';
import { PoisonEventError } from '@starminer/trade-log';
import { VerificationPool } from '../verify-results/verification-pool';
import { ExecuteSettlement, OpenMissingError, RetryLaterError } from '../execute-settlement/execute-settlement';
import type { ContractRow } from '../ledger/contract-row.entity';
import { ContractsProjection } from '../ledger/contracts.projection';
import { redriveDelayMs } from './redrive-backoff';

/** How often the scan runs: a deadline is acted on within this of passing. */
export const DEADLINE_SCAN_MS = 2_000;
/** Contracts one round handles of each kind (expired, stale); the next round takes the rest. */
export const DEADLINE_SCAN_ROWS_MAX = 100;
/** A decided settlement whose chain call has not been recorded after this long is driven again. */
export const SETTLING_STALE_MS = 30_000;
/**
 * How long a settlement whose open the chain lost waits for the deployer's reconciler to re-open
 * it, and how long one the chain keeps refusing (past its deadline) is re-driven, before it is
 * given up (`ChainEffectLost`, the contract ends as settle-lost for an operator). A chain that
 * does not answer at all is not a refusal: nothing true could be recorded, so it is retried.
 */
export const SETTLE_GIVE_UP_MS = 10 * 60_000;

/**
 * The deadline scan, from the contracts read model: an open or running contract past its deadline
 * is decided for a refund (`ExpireDeadline`; the executor then refunds on chain), and a settlement
 * decided but not recorded after SETTLING_STALE_MS is carried to the chain again, each job with
 * its own bounded backoff (a lost chain call, a parked executor event, an open the chain lost).
 * So no contract stays open, running or settling past its deadline plus a bounded grace: it is
 * refunded, recorded as the chain shows it, or given up after SETTLE_GIVE_UP_MS. One contract
 * that fails does not stop the round; a query that fails is logged and run again next round.
 */
@Injectable()
export class DeadlineScanner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('deadlines');
  private readonly ticker = new Ticker('deadlines', DEADLINE_SCAN_MS, () => this.scan(), this.logger);

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly contracts: ContractsProjection,
    private readonly settlement: ExecuteSettlement,
    private readonly verifier: VerificationPool,
  ) {}

  onApplicationBootstrap(): void {
    this.ticker.start();
  }

  /** Before the runtime closes (its shutdown hook), so no new round starts on a closing log. */
  onModuleDestroy(): Promise<void> {
    return this.ticker.stop();
  }

  /** One round: expire what passed its deadline, re-drive what went stale. */
  async scan(nowMs: number = Date.now()): Promise<void> {
    await this.expireDeadlines(nowMs).catch((err: Error) => this.logger.warn(`deadline query failed (next round retries): ${err.message}`));
    await this.redriveStale(nowMs).catch((err: Error) => this.logger.warn(`stale settlement query failed (next round retries): ${err.message}`));
  }

  private async expireDeadlines(nowMs: number): Promise<void> {
    const nowUnixSec = Math.floor(nowMs / 1000);
    for (const c of await this.contracts.expired(nowUnixSec, DEADLINE_SCAN_ROWS_MAX)) {
      // a result that arrived in time is being recomputed: its verdict decides, not the clock
      if (this.verifier.isVerifying(c.jobId)) continue;
      try {
        await this.rt.execute('contract', c.jobId, contractDecider, { type: 'ExpireDeadline', nowUnixSec }, causationOf(c.jobId));
      } catch (err) {
        // e.g. its log cannot be read: not again before its backoff, so it never hides the others
        const attempts = c.retryAttempts + 1;
        const delayMs = redriveDelayMs(attempts);
        await this.contracts
          .scheduleRetry(c.jobId, { attempts, retryAt: new Date(nowMs + delayMs), pendingSince: c.pendingSince ?? new Date(nowMs) })
          .catch((e: Error) => this.logger.warn(`expiring ${c.jobId}: ${e.message}`));
        this.logger.warn(`expiring ${c.jobId} (try ${attempts}) failed, next in ${Math.round(delayMs / 1000)} s: ${(err as Error).message}`);
      }
    }
  }

  private async redriveStale(nowMs: number): Promise<void> {
    for (const c of await this.contracts.staleSettling(new Date(nowMs - SETTLING_STALE_MS), new Date(nowMs), DEADLINE_SCAN_ROWS_MAX)) {
      await this.redrive(c, nowMs).catch((err: Error) => this.logger.warn(`re-drive of ${c.jobId} failed: ${err.message}`));
    }
  }

  /** One stale settlement carried to the chain again; a failure waits its backoff, or gives up past its bound. */
  private async redrive(c: ContractRow, nowMs: number): Promise<void> {
    try {
      await this.settlement.execute(c.jobId, c.jobId);
      // recorded (the projection then clears the row's retry), or nothing was left to do: should
      // the read model still show it settling, it is looked at again after a backoff, not every round
      await this.contracts.scheduleRetry(c.jobId, { attempts: c.retryAttempts + 1, retryAt: new Date(nowMs + redriveDelayMs(c.retryAttempts + 1)), pendingSince: c.pendingSince });
    } catch (err) {
      const refusal = refusalOf(err);
      // a chain that did not answer starts no bound; an open missing or a refusal does, once
      const pendingSince = c.pendingSince ?? (refusal ? new Date(nowMs) : null);
      const waitedMs = pendingSince ? nowMs - pendingSince.getTime() : 0;
      const pastDeadline = nowMs / 1000 > Number(c.deadlineUnixSec);
      if (refusal && waitedMs >= SETTLE_GIVE_UP_MS && (refusal.code === 'OPEN_LOST' || pastDeadline)) {
        await this.giveUp(c, refusal, waitedMs);
        return;
      }
      const attempts = c.retryAttempts + 1;
      const delayMs = redriveDelayMs(attempts);
      await this.contracts.scheduleRetry(c.jobId, { attempts, retryAt: new Date(nowMs + delayMs), pendingSince });
      this.logger.warn(`re-drive of ${c.jobId} (try ${attempts}) failed, next in ${Math.round(delayMs / 1000)} s: ${(err as Error).message}`);
    }
  }

  private async giveUp(c: ContractRow, refusal: { code: string; reason: string }, waitedMs: number): Promise<void> {
    const action = c.outcome === 'release' ? 'release' : 'refund';
    const reason = `${refusal.reason} (re-driven for ${Math.round(waitedMs / 1000)} s)`;
    await this.rt.execute('contract', c.jobId, contractDecider, { type: 'RecordSettleEffectLost', action, code: refusal.code, reason }, causationOf(c.jobId));
    this.logger.error(`job ${c.jobId}: the ${action} could not be carried to the chain and is recorded lost (${refusal.code}); an operator must look`);
  }
}

const causationOf = (jobId: string): Causation => ({ correlationId: jobId, causationId: jobId, actor: 'service:settlement' });

/**
 * What the chain refused (as opposed to not answering): the open is missing, a revert that no
 * retry so far got past, a release with no signed result. Undefined for a chain or log that did
 * not answer, which is retried without a bound.
 */
function refusalOf(err: unknown): { code: string; reason: string } | undefined {
  if (err instanceof OpenMissingError) return { code: 'OPEN_LOST', reason: 'the chain lost the open and it was not restored' };
  if (err instanceof PoisonEventError) return { code: 'NO_SIGNED_RESULT', reason: err.message };
  const chain = err instanceof RetryLaterError ? err.cause : err;
  if (chain instanceof ChainActionError && chain.code !== 'ChainUnavailable') return { code: chain.code, reason: chain.message };
  return undefined;
}
