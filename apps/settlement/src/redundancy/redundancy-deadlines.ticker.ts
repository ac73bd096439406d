import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { contractDecider } from '@starminer/domain';
import { ServiceRuntime, Ticker } from '@starminer/service-kit';
import { redriveDelayMs } from '../deadlines/redrive-backoff';
import { ContractsProjection } from '../ledger/contracts.projection';
import { RedundancyVerdicts } from './redundancy-verdicts';

/** How often the scan runs: a held copy past its deadline is decided within this. */
export const REDUNDANCY_DEADLINE_SCAN_MS = 2_000;
/** Contracts past their deadline one round looks at (the earliest first); the next round takes the rest. */
export const REDUNDANCY_DEADLINE_ROWS_MAX = 100;

/**
 * Redundancy (issue 17): a copy's held result is not refunded at its deadline (the contract decider
 * leaves `awaiting-verdict` to the verdict), so this scan decides its group once the deadline has
 * passed, with the copies still pending counted as missing. The same bounded query as the deadline
 * scan (contracts open or running past their deadline); a held copy leaves it once decided.
 */
@Injectable()
export class RedundancyDeadlinesTicker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('redundancy-deadlines');
  private readonly ticker = new Ticker('redundancy-deadlines', REDUNDANCY_DEADLINE_SCAN_MS, async () => void (await this.scan()), this.logger);

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly contracts: ContractsProjection,
    private readonly verdicts: RedundancyVerdicts,
  ) {}

  onApplicationBootstrap(): void {
    this.ticker.start();
  }

  /** Before the runtime closes (its shutdown hook), so no new round starts on a closing log. */
  onModuleDestroy(): Promise<void> {
    return this.ticker.stop();
  }

  /** One round: returns how many copies it decided. */
  async scan(nowMs: number = Date.now()): Promise<number> {
    const nowUnixSec = Math.floor(nowMs / 1000);
    let decided = 0;
    for (const c of await this.contracts.expired(nowUnixSec, REDUNDANCY_DEADLINE_ROWS_MAX)) {
      try {
        const { state } = await this.rt.load('contract', c.jobId, contractDecider);
        if (state.status !== 'awaiting-verdict') continue; // the deadline scan refunds it
        const group = await this.verdicts.groupOf(c.jobId);
        if (group) decided += await this.verdicts.evaluate(group, c.jobId, nowUnixSec);
      } catch (err) {
        // one group that cannot be decided now does not stop the round, nor the next ones: it waits
        // its backoff (the deadline scan shares this query, whose earliest rows it would otherwise hold)
        const attempts = c.retryAttempts + 1;
        const delayMs = redriveDelayMs(attempts);
        await this.contracts
          .scheduleRetry(c.jobId, { attempts, retryAt: new Date(nowMs + delayMs), pendingSince: c.pendingSince ?? new Date(nowMs) })
          .catch((e: Error) => this.logger.warn(`held copy ${c.jobId}: ${e.message}`));
        this.logger.warn(`held copy ${c.jobId} (try ${attempts}) not decided, next in ${Math.round(delayMs / 1000)} s: ${(err as Error).message}`);
      }
    }
    return decided;
  }
}
