import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { jobDecider } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type ReplyOf } from '@starminer/events';
import { CommandHandler, ServiceRuntime } from '@starminer/service-kit';

const CANCEL = COMMANDS.intake.cancelJob;

/** `cmd.intake.cancelJob`: the org's own job, while it is still queued. */
@Controller()
export class CancelJobHandler {
  constructor(private readonly rt: ServiceRuntime) {}

  @CommandHandler(CANCEL)
  async cancelJob(@Payload() p: PayloadOf<typeof CANCEL>): Promise<ReplyOf<typeof CANCEL>> {
    const { seqs } = await this.rt.execute('job', p.jobId, jobDecider, { type: 'CancelJob', orgId: p.orgId, reason: 'cancelled by requester' }, {
      correlationId: p.jobId,
      causationId: p.jobId,
      actor: `org:${p.orgId}`,
    });
    return { seq: seqs.at(-1) ?? null };
  }
}
