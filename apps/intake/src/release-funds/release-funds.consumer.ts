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
  // a top-up's price (reserved under its top-up id): the escrow holds it now
  ContractToppedUp: 'contracted',
  ContractOpenFailed: 'open-failed',
  JobCancelled: 'cancelled',
  JobFailed: 'failed',
};

/**
 * Ends a job's reservation on its org's account once the job no longer needs it: contracted,
 * its open failed, cancelled, failed; never a vault's job, which reserved nothing (the vault pays).
 * Idempotent: the account releases an open reservation once,
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
      // a vault's job reserved nothing on the org's account (the vault pays); a top-up of it did
      if (submitted.data.vault && e.type !== 'ContractToppedUp') continue;
      // a top-up's reservation is keyed by its top-up id, a job's by the job id
      const key = e.type === 'ContractToppedUp' ? e.data.topUpId : jobId;
      await this.reservations.release(submitted.data.orgId, key, reason, { correlationId: jobId, causationId: e.id, actor: 'service:intake' });
    }
  }
}
