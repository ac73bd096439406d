import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DomainError, jobDecider, redundantCopyJobIds } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type ReplyOf, type TradeEventOf } from '@starminer/events';
import { CommandHandler, ServiceRuntime } from '@starminer/service-kit';

const CANCEL = COMMANDS.intake.cancelJob;

/**
 * `cmd.intake.cancelJob`: the org's own job, while it is still queued. A redundant job (issue 17)
 * is cancelled by its request's job id (copy 0): then every other copy still queued is cancelled
 * too, whether or not copy 0 still was (a copy already matched runs on, and the group's verdict
 * counts the cancelled ones as absent); a retry after a cancel that stopped part-way finishes it.
 */
@Controller()
export class CancelJobHandler {
  constructor(private readonly rt: ServiceRuntime) {}

  @CommandHandler(CANCEL)
  async cancelJob(@Payload() p: PayloadOf<typeof CANCEL>): Promise<ReplyOf<typeof CANCEL>> {
    let last: number | null = null;
    let refused: DomainError | undefined;
    try {
      last = (await this.cancel(p.orgId, p.jobId, p.jobId)).seqs.at(-1) ?? null;
    } catch (err) {
      // copy 0 matched already, or cancelled by an attempt that stopped before its siblings: the
      // queued copies are still cancelled (below); alone, the refusal is the answer
      if (!(err instanceof DomainError && err.code === 'JOB_NOT_CANCELLABLE')) throw err;
      refused = err;
    }
    const copy = (await this.rt.events('job', p.jobId)).find((e): e is TradeEventOf<'JobSubmitted'> => e.type === 'JobSubmitted')?.data.redundantCopy;
    let siblingsCancelled = 0;
    if (copy && copy.copyIndex === 0) {
      for (const sibling of redundantCopyJobIds(copy.groupId, copy.copies).slice(1)) {
        try {
          const { seqs: more } = await this.cancel(p.orgId, sibling, p.jobId);
          if (more.length > 0) siblingsCancelled += 1;
          last = more.at(-1) ?? last;
        } catch (err) {
          // matched already (it runs on), or never submitted: nothing of it to cancel
          if (!(err instanceof DomainError && (err.code === 'JOB_NOT_CANCELLABLE' || err.code === 'JOB_NOT_FOUND'))) throw err;
        }
      }
    }
    if (refused && siblingsCancelled === 0) throw refused;
    return { seq: last };
  }

  private cancel(orgId: string, jobId: string, requestJobId: string) {
    return this.rt.execute('job', jobId, jobDecider, { type: 'CancelJob', orgId, reason: 'cancelled by requester' }, {
      correlationId: jobId,
      causationId: requestJobId,
      actor: `org:${orgId}`,
    });
  }
}
