import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { TradeEvent } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import { RedundancyVerdicts } from './redundancy-verdicts';

/** The durable consumers' names (contract events, job events): each resumes after what it acked, and names its parked events. */
export const REDUNDANCY_VERDICTS_DURABLE = 'settlement-redundancy-verdicts';
export const REDUNDANCY_VERDICTS_JOBS_DURABLE = 'settlement-redundancy-verdicts-jobs';

/** What can make a group's verdict due: a copy's held result, or a copy that ended without one. */
const DUE_ON = new Set<TradeEvent['type']>(['ResultSubmitted', 'SettlementDecided', 'ContractOpenFailed', 'JobFailed', 'JobCancelled']);

/**
 * Redundancy (issue 17): each event that may complete a redundant group (a copy's result held, a
 * copy settled or failed without one) looks at the group and applies its verdict when it is due
 * (RedundancyVerdicts). Jobs without redundancy cost one read of their JobSubmitted on these events.
 */
@Injectable()
export class RedundancyVerdictsConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly verdicts: RedundancyVerdicts,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // one consumer per aggregate: a consumer of several filter subjects needs nats-server 2.10+
    await this.rt.consume({ durable: REDUNDANCY_VERDICTS_DURABLE, filterSubjects: [this.rt.filter('contract')], handler: (batch) => this.handle(batch) });
    await this.rt.consume({ durable: REDUNDANCY_VERDICTS_JOBS_DURABLE, filterSubjects: [this.rt.filter('job')], handler: (batch) => this.handle(batch) });
  }

  async handle(batch: readonly StoredEvent[]): Promise<void> {
    for (const stored of batch) {
      const e = stored.event as TradeEvent;
      if (!DUE_ON.has(e.type)) continue;
      const group = await this.verdicts.groupOf((e.data as { jobId: string }).jobId);
      if (group) await this.verdicts.evaluate(group, e.id);
    }
  }
}
