import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { contractDecider } from '@starminer/domain';
import type { TradeEventOf } from '@starminer/events';
import { InjectConfig, ServiceRuntime, Ticker } from '@starminer/service-kit';
import { ContractRow } from '../ledger/contract-row.entity';
import type { SettlementConfig } from '../settlement.config';
import { runwayThresholdSec, type RunwayWarningPolicy } from './runway-threshold';

/** How often the scan runs: a warning is given within this of falling due. */
export const RUNWAY_SCAN_MS = 5_000;
/** Contracts one round looks at; the next round takes the rest (the nearest deadlines first). */
export const RUNWAY_SCAN_ROWS_MAX = 100;

/**
 * The runway warning (issue 16), a bounded scan of the contracts read model like the deadline
 * scan: an open or running contract whose runway (seconds until its deadline) drops under its
 * threshold gets ContractRunwayLow, which the requester sees as a `job.runway-low` update (SSE,
 * webhooks), once per deadline: a top-up moves the deadline, clears the row's due time and so
 * re-arms it. The threshold is the larger of SETTLEMENT_RUNWAY_WARNING_MIN_SEC and
 * SETTLEMENT_RUNWAY_WARNING_RUNTIME_BPS of the job's expected runtime, at most half the job's own
 * window (a short job is not warned the moment it opens); the scan reads the job's
 * expected runtime once per deadline and keeps the due time on the row (runwayWarnAtUnixSec). The
 * decider gives the warning once per deadline whatever the scan does (replicas, a rebuilt read
 * model); one contract that fails does not stop the round.
 */
@Injectable()
export class RunwayWarningsTicker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('runway-warnings');
  private readonly ticker = new Ticker('runway-warnings', RUNWAY_SCAN_MS, async () => void (await this.scan()), this.logger);
  private readonly policy: RunwayWarningPolicy;

  constructor(
    private readonly rt: ServiceRuntime,
    @InjectConfig() config: SettlementConfig,
  ) {
    this.policy = { minSec: config.SETTLEMENT_RUNWAY_WARNING_MIN_SEC, runtimeBps: config.SETTLEMENT_RUNWAY_WARNING_RUNTIME_BPS };
  }

  onApplicationBootstrap(): void {
    this.ticker.start();
  }

  /** Before the runtime closes (its shutdown hook), so no new round starts on a closing log. */
  onModuleDestroy(): Promise<void> {
    return this.ticker.stop();
  }

  /** One round: returns how many warnings it gave. */
  async scan(nowMs: number = Date.now()): Promise<number> {
    const nowUnixSec = Math.floor(nowMs / 1000);
    let warned = 0;
    for (const c of await this.due(nowUnixSec)) {
      try {
        const deadline = Number(c.deadlineUnixSec);
        let warnAt = c.runwayWarnAtUnixSec === null ? null : Number(c.runwayWarnAtUnixSec);
        if (warnAt === null) {
          warnAt = deadline - (await this.thresholdOf(c.jobId));
          // only where the deadline is still the one it was computed for (a top-up may have landed meanwhile)
          await this.rt.db.getRepository(ContractRow).update({ jobId: c.jobId, deadlineUnixSec: c.deadlineUnixSec }, { runwayWarnAtUnixSec: String(warnAt) });
        }
        if (nowUnixSec <= warnAt) continue; // the runway is under the threshold once past warnAt (the decider asks runway < threshold)
        const { events } = await this.rt.execute(
          'contract',
          c.jobId,
          contractDecider,
          { type: 'WarnRunway', nowUnixSec, thresholdSec: deadline - warnAt },
          { correlationId: c.jobId, causationId: c.jobId, actor: 'service:settlement' },
        );
        warned += events.length;
        // nothing to warn of (a redundant copy's held result waits for its group's verdict, or the
        // decider has given this deadline's warning): not due again for this deadline, so such rows
        // never crowd the round's 100 (a top-up clears the due time and re-arms it)
        if (events.length === 0) {
          await this.rt.db.getRepository(ContractRow).update({ jobId: c.jobId, deadlineUnixSec: c.deadlineUnixSec }, { runwayWarnAtUnixSec: String(deadline + 1) });
        }
      } catch (err) {
        this.logger.warn(`runway warning of ${c.jobId} failed (next round retries): ${(err as Error).message}`);
      }
    }
    return warned;
  }

  /**
   * Open or running contracts before their deadline, not yet warned of it, whose warning is due or
   * whose due time is not computed yet, the nearest deadline first.
   */
  private due(nowUnixSec: number): Promise<ContractRow[]> {
    return this.rt.db
      .getRepository(ContractRow)
      .createQueryBuilder('c')
      .where('c.status IN (:...statuses)', { statuses: ['open', 'running'] })
      .andWhere('c.deadlineUnixSec >= :now', { now: String(nowUnixSec) })
      .andWhere('(c.runwayWarnedUnixSec IS NULL OR c.runwayWarnedUnixSec <> c.deadlineUnixSec)')
      .andWhere('(c.runwayWarnAtUnixSec IS NULL OR c.runwayWarnAtUnixSec <= :now)', { now: String(nowUnixSec) })
      .orderBy('c.deadlineUnixSec', 'ASC')
      .limit(RUNWAY_SCAN_ROWS_MAX)
      .getMany();
  }

  /** The job's threshold, from its expected runtime (JobSubmitted); the policy's minimum for a job the log has no submission of. */
  private async thresholdOf(jobId: string): Promise<number> {
    const submitted = (await this.rt.events('job', jobId)).find((x): x is TradeEventOf<'JobSubmitted'> => x.type === 'JobSubmitted');
    return runwayThresholdSec(submitted?.data.expectedRuntimeSec ?? 0, this.policy, submitted?.data.deadlineSec);
  }
}
