import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DomainError, nodeDecider, nodeKeyId } from '@starminer/domain';
import { COMMANDS, LIMITS, type NodeTelemetry, type PayloadOf, type ReplyOf } from '@starminer/events';
import { CommandHandler, ServiceRuntime } from '@starminer/service-kit';
import { NodeLivenessStore } from '../liveness/node-liveness.store';
import { NodeRow } from '../nodes/node-row.entity';
import { NodeTelemetryStore } from './node-telemetry.store';

const HEARTBEAT = COMMANDS.registry.heartbeat;
const NODE_TELEMETRY = COMMANDS.registry.nodeTelemetry;

/**
 * `cmd.registry.heartbeat`: a registered node, signed by its own key, is alive. The heartbeat is
 * telemetry (NodeLiveness and NodeTelemetryStore, not the log); only an offline node's coming back
 * goes on the log. Its GPU telemetry, when it carries any, is held to the node's registered GPUs
 * (TELEMETRY_INVALID before anything is kept: the node is not counted alive by a refused beat).
 */
@Controller()
export class HeartbeatHandler {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly liveness: NodeLivenessStore,
    private readonly telemetry: NodeTelemetryStore,
  ) {}

  @CommandHandler(HEARTBEAT)
  async heartbeat(@Payload() p: PayloadOf<typeof HEARTBEAT>): Promise<ReplyOf<typeof HEARTBEAT>> {
    const { state } = await this.rt.load('node', p.nodeId, nodeDecider);
    if (state.status === 'none') throw new DomainError('NODE_NOT_FOUND', `node ${p.nodeId} is not registered`);
    if (nodeKeyId(state.nodeAddress) !== nodeKeyId(p.nodeAddress)) throw new DomainError('NOT_NODE_KEY', 'signed by another key than the node key');
    if (p.telemetry) await this.checkTelemetry(p.nodeId, p.telemetry);
    // seen first, so the liveness scan does not take it offline again in between
    await this.liveness.seen(p.nodeId);
    if (p.telemetry) await this.telemetry.record(p.nodeId, p.telemetry);
    if (!state.online) {
      await this.rt.execute('node', p.nodeId, nodeDecider, { type: 'Heartbeat' }, { correlationId: p.nodeId, causationId: p.nodeId, actor: `node:${p.nodeId}` });
    }
    return { ok: true };
  }

  /** `cmd.registry.nodeTelemetry`: the node's latest sample and its bounded history (empty for a node that never sent any). */
  @CommandHandler(NODE_TELEMETRY)
  nodeTelemetry(@Payload() p: PayloadOf<typeof NODE_TELEMETRY>): Promise<ReplyOf<typeof NODE_TELEMETRY>> {
    return this.telemetry.history(p.nodeId);
  }

  /** At most one entry a registered GPU, each index one of them (the schema already bounds both by LIMITS.gpusPerNodeMax). */
  private async checkTelemetry(nodeId: string, t: NodeTelemetry): Promise<void> {
    // the read model lists a node before its registration answers; a node it lacks is held to the catalogue's bound alone
    const row = await this.rt.db.getRepository(NodeRow).findOne({ select: { nodeId: true, gpuCount: true }, where: { nodeId } });
    const gpuCount = row?.gpuCount ?? LIMITS.gpusPerNodeMax;
    const beyond = t.gpus.find((g) => g.index >= gpuCount);
    if (t.gpus.length > gpuCount || beyond) {
      throw new DomainError('TELEMETRY_INVALID', `node ${nodeId} registered ${gpuCount} GPU(s); the telemetry names ${t.gpus.length}${beyond ? ` (index ${beyond.index})` : ''}`, {
        limit: gpuCount,
      });
    }
  }
}
