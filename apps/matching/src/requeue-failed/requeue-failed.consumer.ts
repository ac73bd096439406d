import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { contractDecider, jobDecider } from '@starminer/domain';
import type { TradeEvent, TradeEventOf } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import { PoisonEventError, type StoredEvent } from '@starminer/trade-log';

/** The durable consumer's name: it resumes after what it acked, and names its parked events. */
export const REQUEUE_FAILED_DURABLE = 'matching-requeue-failed';

/**
 * Re-match on failure (issue 16), matching's part: a failed attempt that was not the job's last
 * (settlement's ContractAttemptFailed, `exhausted: false`) queues the job again for its next
 * attempt (JobRequeued, by the job decider): for at most the escrow its contract holds, never on
 * the nodes that failed it. The engine then takes it from the log like a submission (LogFollower:
 * the failed node's GPUs freed, the job queued with its exclusions) and the next round matches it;
 * the deployer moves the escrow to that match. At least once: the decider queues an attempt once.
 */
@Injectable()
export class RequeueFailedConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger('requeue-failed');

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.rt.consume({ durable: REQUEUE_FAILED_DURABLE, filterSubjects: [this.rt.filter('contract')], handler: (batch) => this.handle(batch) });
  }

  async handle(batch: readonly StoredEvent[]): Promise<void> {
    for (const stored of batch) {
      const e = stored.event as TradeEvent;
      if (e.type === 'ContractAttemptFailed' && !e.data.exhausted) await this.requeue(e);
    }
  }

  async requeue(failed: TradeEventOf<'ContractAttemptFailed'>): Promise<void> {
    const jobId = failed.data.jobId;
    const contract = await this.rt.load('contract', jobId, contractDecider);
    // moved already, or ended meanwhile (its deadline): nothing to queue
    if (contract.state.status !== 'reassigning') return;
    const events = await this.rt.events('job', jobId);
    const submitted = events.find((x): x is TradeEventOf<'JobSubmitted'> => x.type === 'JobSubmitted');
    if (!submitted) throw new PoisonEventError(`job ${jobId} has no JobSubmitted on the log: it cannot be queued again`);
    const { events: appended } = await this.rt.execute(
      'job',
      jobId,
      jobDecider,
      {
        type: 'RequeueJob',
        attempt: failed.data.attempt + 1,
        failedNodeId: failed.data.nodeId,
        code: failed.data.code,
        reason: failed.data.reason,
        budgetWei: contract.state.escrowWei,
        submitted: submitted.data,
      },
      { correlationId: jobId, causationId: failed.id, actor: 'service:matching' },
    );
    if (appended.length) this.logger.log(`job ${jobId}: queued again for attempt ${failed.data.attempt + 1} (node ${failed.data.nodeId}: ${failed.data.code})`);
  }
}
