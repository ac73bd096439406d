import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DomainError, nodeDecider, nodeKeyId } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type ReplyOf } from '@starminer/events';
import { CommandHandler, ServiceRuntime } from '@starminer/service-kit';
import { NodeLivenessStore } from '../liveness/node-liveness.store';

const HEARTBEAT = COMMANDS.registry.heartbeat;

/**
 * `cmd.registry.heartbeat`: a registered node, signed by its own key, is alive. The heartbeat is
 * telemetry (NodeLiveness, not the log); only an offline node's coming back goes on the log.
 */
@Controller()
export class HeartbeatHandler {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly liveness: NodeLivenessStore,
  ) {}

  @CommandHandler(HEARTBEAT)
  async heartbeat(@Payload() p: PayloadOf<typeof HEARTBEAT>): Promise<ReplyOf<typeof HEARTBEAT>> {
    const { state } = await this.rt.load('node', p.nodeId, nodeDecider);
    if (state.status === 'none') throw new DomainError('NODE_NOT_FOUND', `node ${p.nodeId} is not registered`);
    if (nodeKeyId(state.nodeAddress) !== nodeKeyId(p.nodeAddress)) throw new DomainError('NOT_NODE_KEY', 'signed by another key than the node key');
    // seen first, so the liveness scan does not take it offline again in between
    await this.liveness.seen(p.nodeId);
    if (!state.online) {
      await this.rt.execute('node', p.nodeId, nodeDecider, { type: 'Heartbeat' }, { correlationId: p.nodeId, causationId: p.nodeId, actor: `node:${p.nodeId}` });
    }
    return { ok: true };
  }
}
