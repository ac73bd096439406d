import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { contractDecider } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type ReplyOf } from '@starminer/events';
import { CommandHandler, ServiceRuntime } from '@starminer/service-kit';

const START = COMMANDS.settlement.startJob;

/**
 * `cmd.settlement.startJob`: the assigned node (its key, checked by the gateway on the request)
 * says it started the job; the contract goes from open to running, once.
 */
@Controller()
export class StartJobHandler {
  constructor(private readonly rt: ServiceRuntime) {}

  @CommandHandler(START)
  async startJob(@Payload() p: PayloadOf<typeof START>): Promise<ReplyOf<typeof START>> {
    const { state } = await this.rt.execute('contract', p.jobId, contractDecider, { type: 'StartJob', nodeId: p.nodeId, signerAddress: p.nodeAddress }, {
      correlationId: p.jobId,
      causationId: p.jobId,
      actor: `node:${p.nodeId}`,
    });
    return { status: state.status };
  }
}
