import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { ReleaseReason } from '@starminer/domain';
import type { TradeEvent, TradeEventOf } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import { Reservations } from '../reservations/reservations';

/** The durable consumer that ends reservations (its name is the reader's name for the operator). */
export const RELEASE_FUNDS_DURABLE = 'intake-releases';

/** Which events end a job's reservation, and why. */
export const RELEASE_REASONS: Partial<Record<TradeEvent['type'], ReleaseReason>> = {
  // the escrow holds the funds on chain now; the balance no longer has them
  ContractOpened: 'contracted',
  ContractOpenFailed: 'open-failed',
  JobCancelled: 'cancelled',
  JobFailed: 'failed',
};

/**
 * Ends a job's reservation on its org's account once the job no longer needs it: contracted,
 * its open failed, cancelled, failed. Idempotent: the account releases an open reservation once,
 * and a job that never reserved (submitted before reservations) releases nothing. Not critical: an
 * event parked here keeps a reservation longer, which refuses more, never less.
 */
@Injectable()
export class ReleaseFundsConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger('release-funds');

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly reservations: Reservations,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // stopped with the service's other readers (ServiceKitModule's lifecycle)
    await this.rt.consume({ durable: RELEASE_FUNDS_DURABLE, filterSubjects: this.rt.filterOf(['job', 'contract']), handler: (batch) => this.onEvents(batch) });
  }

  async onEvents(batch: readonly StoredEvent[]): Promise<void> {
    for (const stored of batch) {
      const e = stored.event as TradeEvent;
      const reason = RELEASE_REASONS[e.type];
      if (!reason) continue;
      const jobId = (e.data as { jobId: string }).jobId;
      const submitted = (await this.rt.events('job', jobId)).find((x): x is TradeEventOf<'JobSubmitted'> => x.type === 'JobSubmitted');
      if (!submitted) {
        // JobSubmitted is first on the job's subject: without it there was never a reservation for this job
        this.logger.warn(`${e.type} of job ${jobId}, which has no JobSubmitted: nothing reserved to release`);
        continue;
      }
      await this.reservations.release(submitted.data.orgId, jobId, reason, { correlationId: jobId, causationId: e.id, actor: 'service:intake' });
    }
  }
}
