import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { contractDecider, refuse } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type ReplyOf } from '@starminer/events';
import { CommandHandler, ServiceRuntime } from '@starminer/service-kit';

const GIVE_UP = COMMANDS.settlement.giveUpJob;
/** The code of an attempt its own node gave up. */
export const GIVEN_UP = 'GIVEN_UP';

/**
 * `cmd.settlement.giveUpJob`: the assigned node (its key, checked by the gateway on the request)
 * cannot run the job to the end. Its attempt fails (the contract decider's FailAttempt, as for a
 * node gone offline): paid nothing, and the job is matched again on another node, or refunded with
 * the reason after its last attempt. Refused for a node the contract does not name, a contract
 * that is not open or running (a result already decided, an attempt already failed).
 */
@Controller()
export class GiveUpJobHandler {
  constructor(private readonly rt: ServiceRuntime) {}

  @CommandHandler(GIVE_UP)
  async giveUpJob(@Payload() p: PayloadOf<typeof GIVE_UP>): Promise<ReplyOf<typeof GIVE_UP>> {
    const { state } = await this.rt.load('contract', p.jobId, contractDecider);
    if (state.status === 'none' || state.status === 'open-failed') return refuse('CONTRACT_NOT_OPEN', 'the job has no open contract');
    if (state.nodeAddress.toLowerCase() !== p.nodeAddress.toLowerCase()) return refuse('NOT_ASSIGNED_NODE', 'this job is assigned to another node');
    if (state.status !== 'open' && state.status !== 'running') return refuse('RESULT_ALREADY_FINAL', `the contract is ${state.status}: nothing to give up`);
    const reason = `node ${p.nodeId} gave the job up: ${p.reason}`;
    const after = await this.rt.execute('contract', p.jobId, contractDecider, { type: 'FailAttempt', nodeId: p.nodeId, nodeAddress: p.nodeAddress, code: GIVEN_UP, reason }, {
      correlationId: p.jobId,
      causationId: p.jobId,
      actor: `node:${p.nodeId}`,
    });
    return { status: after.state.status };
  }
}
