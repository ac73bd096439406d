import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { contractDecider } from '@starminer/domain';
import { ServiceRuntime, Ticker } from '@starminer/service-kit';
import { ExecuteSettlement } from '../execute-settlement/execute-settlement';
import { ContractsProjection } from '../ledger/contracts.projection';

/** How often the scan runs: a deadline is acted on within this of passing. */
export const DEADLINE_SCAN_MS = 2_000;
/** Contracts one round handles of each kind (expired, stale); the next round takes the rest. */
export const DEADLINE_SCAN_ROWS_MAX = 100;
/** A decided settlement whose chain call has not been recorded after this long is driven again. */
export const SETTLING_STALE_MS = 30_000;

/**
 * The deadline scan, from the contracts read model: an open or running contract past its deadline
 * is decided for a refund (`ExpireDeadline`; the executor then refunds on chain), and a settlement
 * decided but not recorded after SETTLING_STALE_MS is carried to the chain again (a lost chain
 * call, a parked executor event). One contract that fails does not stop the round.
 */
@Injectable()
export class DeadlineScanner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('deadlines');
  private readonly ticker = new Ticker('deadlines', DEADLINE_SCAN_MS, () => this.scan(), this.logger);

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly contracts: ContractsProjection,
    private readonly settlement: ExecuteSettlement,
  ) {}

  onApplicationBootstrap(): void {
    this.ticker.start();
  }

  /** Before the runtime closes (its shutdown hook), so no new round starts on a closing log. */
  onModuleDestroy(): void {
    this.ticker.stop();
  }

  /** One round: expire what passed its deadline, re-drive what went stale. */
  async scan(nowMs: number = Date.now()): Promise<void> {
    const nowUnixSec = Math.floor(nowMs / 1000);
    for (const c of await this.contracts.expired(nowUnixSec, DEADLINE_SCAN_ROWS_MAX)) {
      await this.rt
        .execute('contract', c.jobId, contractDecider, { type: 'ExpireDeadline', nowUnixSec }, { correlationId: c.jobId, causationId: c.jobId, actor: 'service:settlement' })
        .catch((err: Error) => this.logger.warn(`expiring ${c.jobId} failed: ${err.message}`));
    }
    for (const c of await this.contracts.staleSettling(new Date(nowMs - SETTLING_STALE_MS), DEADLINE_SCAN_ROWS_MAX)) {
      await this.settlement.execute(c.jobId, c.jobId).catch((err: Error) => this.logger.warn(`re-drive of ${c.jobId} failed: ${err.message}`));
    }
  }
}
