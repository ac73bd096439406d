import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DomainError, nodeDecider, nodeKeyDecider, nodeKeyId, validateRegistration, type NodeRegistration } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type ReplyOf } from '@starminer/events';
import { CommandHandler, KeyedMutex, ServiceRuntime, type Causation } from '@starminer/service-kit';
import { NodeLivenessStore } from '../liveness/node-liveness.store';
import { NodesProjection } from '../nodes/nodes.projection';

const REGISTER = COMMANDS.registry.registerNode;

/**
 * `cmd.registry.registerNode`: one node key, one node. The market's rules for the registration
 * come first (pure); then a node id already registered answers as before with the same key (the
 * agent retried: nothing appended) and NODE_EXISTS with another; then the key is bound to the
 * node id on its own aggregate (`trade.nodekey.<address>`: NODE_KEY_IN_USE when bound to another
 * node, whichever replica bound it), and only then is the node registered. It answers once the
 * node is in the read model, so the agent's first heartbeat finds it.
 */
@Controller()
export class RegisterNodeHandler {
  /** Registrations of one node id in this replica run one after the other (see registerNode). */
  private readonly nodeLocks = new KeyedMutex();

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly nodes: NodesProjection,
    private readonly liveness: NodeLivenessStore,
  ) {}

  @CommandHandler(REGISTER)
  async registerNode(@Payload() p: PayloadOf<typeof REGISTER>): Promise<ReplyOf<typeof REGISTER>> {
    const registration: NodeRegistration = { ...p.registration, nodeAddress: p.nodeAddress };
    const { nodeId } = registration;
    validateRegistration(registration);
    // Two registrations of one node id with two keys would both bind their key before one of them
    // is refused NODE_EXISTS, leaving the other key bound to a node it does not hold.
    return this.nodeLocks.run(nodeId, async () => {
      const { state } = await this.rt.load('node', nodeId, nodeDecider);
      if (state.status === 'registered') {
        if (nodeKeyId(state.nodeAddress) !== nodeKeyId(p.nodeAddress)) throw new DomainError('NODE_EXISTS', `node ${nodeId} is registered with another key`);
        await this.liveness.seen(nodeId);
        return { nodeId }; // the agent retried
      }
      await this.refuseKeyOfLegacyNode(p.nodeAddress, nodeId);
      const causation: Causation = { correlationId: nodeId, causationId: nodeId, actor: `node:${nodeId}` };
      await this.rt.execute('nodekey', nodeKeyId(p.nodeAddress), nodeKeyDecider, { type: 'BindNodeKey', nodeAddress: p.nodeAddress, nodeId }, causation);
      // its benchmark against the registered nodes of its model and kind: far from their median, it starts less trusted
      const fleet = await this.nodes.fleetBenchmark(registration.gpuModel, registration.benchmark.kind, nodeId);
      const { seqs } = await this.rt.execute('node', nodeId, nodeDecider, { type: 'RegisterNode', registration, ...(fleet ? { fleet } : {}) }, causation);
      await this.liveness.seen(nodeId);
      const last = seqs.at(-1);
      if (last !== undefined) await this.nodes.waitUntil(last);
      return { nodeId };
    });
  }

  /**
   * Nodes registered before keys were bound have no NodeKeyBound: their key is free on the log,
   * but the read model knows which node holds it.
   */
  private async refuseKeyOfLegacyNode(nodeAddress: string, nodeId: string): Promise<void> {
    const holder = await this.nodes.byAddress(nodeAddress);
    if (holder && holder.nodeId !== nodeId) {
      throw new DomainError('NODE_KEY_IN_USE', `this node key is registered to node ${holder.nodeId}; one key registers one node`, { nodeId: holder.nodeId });
    }
  }
}
