import { Injectable, Logger } from '@nestjs/common';
import {
  contractDecider,
  decideRedundancyGroup,
  redundantCopyJobIds,
  type RedundancyGroup,
  type RedundantCopy,
} from '@starminer/domain';
import type { AggregateEnvelope, TradeEventOf } from '@starminer/events';
import { KeyedMutex, ServiceRuntime, type Causation } from '@starminer/service-kit';

type ContractEnvelope = AggregateEnvelope<'contract'>;
const lastOf = <T extends ContractEnvelope['type']>(events: readonly ContractEnvelope[], type: T): TradeEventOf<T> | undefined =>
  [...events].reverse().find((e): e is TradeEventOf<T> & ContractEnvelope => e.type === type);

/**
 * Redundancy (issue 17), settlement's part: a redundant job's copies each hold their verified
 * result (`awaiting-verdict`, the contract decider's hold) until every copy has submitted or ended
 * (or a held copy's deadline passed); then `redundancyVerdict` decides the group, and each held
 * copy's contract gets its verdict (DecideRedundancy): the majority's runs are released, a
 * dissenting run is rejected and refunded (the slash after a rejected result's refund follows, where
 * its node has stake: execute-settlement/slashing.ts), and a tie refunds every copy with the reason.
 * The executor then carries each decision to the chain as for any job. Safe to run twice and from
 * two places: the verdict is a pure function of the copies' logs, and the decider applies it once.
 */
@Injectable()
export class RedundancyVerdicts {
  private readonly logger = new Logger('redundancy');
  /** One evaluation of a group at a time in this process (the consumer and the deadline scan). */
  private readonly groupTurns = new KeyedMutex();

  constructor(private readonly rt: ServiceRuntime) {}

  /** The group of a job, if it is a redundant copy (from its JobSubmitted). */
  async groupOf(jobId: string): Promise<RedundancyGroup | undefined> {
    const submitted = (await this.rt.events('job', jobId)).find((e): e is TradeEventOf<'JobSubmitted'> => e.type === 'JobSubmitted');
    return submitted?.data.redundantCopy;
  }

  /**
   * Looks at the group now and applies its verdict when it is due. Returns how many copies it
   * decided. `nowUnixSec`: a held copy past its deadline makes the verdict due without the copies
   * still pending.
   */
  evaluate(group: RedundancyGroup, causationId: string, nowUnixSec: number = Math.floor(Date.now() / 1000)): Promise<number> {
    return this.groupTurns.run(group.groupId, async () => {
      const seen = await Promise.all(redundantCopyJobIds(group.groupId, group.copies).map((jobId, copyIndex) => this.copyOf(jobId, copyIndex)));
      const heldDeadlinePassed = seen.some((c) => c.deadlineUnixSec !== undefined && c.deadlineUnixSec < nowUnixSec);
      const decision = decideRedundancyGroup(
        group,
        seen.map((c) => c.copy),
        { heldDeadlinePassed },
      );
      if (decision.kind === 'wait') return 0;
      let decided = 0;
      for (const { jobId, verdict } of decision.decisions) {
        const causation: Causation = { correlationId: jobId, causationId, actor: 'service:settlement' };
        const { events } = await this.rt.execute('contract', jobId, contractDecider, { type: 'DecideRedundancy', verdict }, causation);
        if (events.length > 0) decided += 1;
      }
      if (decided > 0) {
        const outcomes = decision.decisions.map((d) => `${d.jobId}: ${d.verdict.outcome}`).join(', ');
        this.logger.log(`group ${group.groupId} (${group.copies} copies): ${outcomes}`);
      }
      return decided;
    });
  }

  /** One copy as the verdict reads it, with its deadline when its result is held. */
  private async copyOf(jobId: string, copyIndex: number): Promise<{ copy: RedundantCopy; deadlineUnixSec?: number }> {
    const job = await this.rt.events('job', jobId);
    if (!job.some((e) => e.type === 'JobSubmitted')) return { copy: { jobId, copyIndex, state: 'pending' } }; // intake is still submitting it
    const { state, events } = await this.rt.load('contract', jobId, contractDecider);
    const result = lastOf(events, 'ResultSubmitted');
    const run = result ? { nodeId: result.data.nodeId, output: result.data.output, resultHash: result.data.resultHash } : undefined;
    const recorded = lastOf(events, 'RedundancyVerdictRecorded');
    if (recorded) return { copy: { jobId, copyIndex, state: 'decided', ...(run ? { run } : {}), verdict: recorded.data } };
    if (state.status === 'awaiting-verdict' && run) return { copy: { jobId, copyIndex, state: 'held', run }, deadlineUnixSec: state.deadlineUnixSec };
    const jobEnded = job.some((e) => e.type === 'JobFailed' || e.type === 'JobCancelled');
    // no contract yet: queued or matched (a job that ended before its contract is ended)
    if (state.status === 'none') return { copy: { jobId, copyIndex, state: jobEnded ? 'ended' : 'pending' } };
    if (state.status === 'open' || state.status === 'running' || state.status === 'reassigning') return { copy: { jobId, copyIndex, state: 'pending' } };
    // open failed, or settled without a verdict: a rejected result, its deadline's refund, its attempts exhausted
    return { copy: { jobId, copyIndex, state: 'ended', ...(run ? { run } : {}) } };
  }
}
