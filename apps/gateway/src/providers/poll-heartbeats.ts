import { Injectable, Logger } from '@nestjs/common';
import { COMMANDS } from '@starminer/events';
import { CommandBus } from '@starminer/service-kit';
import { POLL_HEARTBEAT_EVERY_MS, POLL_HEARTBEAT_NODES_MAX } from './assignment-limits';

/**
 * A provider's long poll for assignments, signed by its node key, says as much as a heartbeat: the
 * gateway sends it on to the registry as one, at most every POLL_HEARTBEAT_EVERY_MS per node, and
 * tells the agent so (`alive`), which then skips its own heartbeats while it polls. Per process and
 * in memory: a node polling another replica beats there; a forgotten node beats again at its next poll.
 */
@Injectable()
export class PollHeartbeats {
  private readonly logger = new Logger('assignments');
  /** node id -> when its last poll heartbeat was accepted (oldest first) */
  private readonly beats = new Map<string, number>();

  constructor(private readonly bus: CommandBus) {}

  /** True once the registry has a heartbeat of the node from at most POLL_HEARTBEAT_EVERY_MS ago; false when sending it failed. */
  async beat(nodeId: string, nodeAddress: string, nowMs = Date.now()): Promise<boolean> {
    const last = this.beats.get(nodeId);
    if (last !== undefined && nowMs - last < POLL_HEARTBEAT_EVERY_MS) return true;
    try {
      await this.bus.send(COMMANDS.registry.heartbeat, { nodeId, nodeAddress });
    } catch (err) {
      this.logger.warn(`heartbeat of node ${nodeId} with its poll failed: ${(err as { code?: string }).code ?? (err as Error).message}`);
      return false;
    }
    this.beats.delete(nodeId);
    this.beats.set(nodeId, nowMs);
    if (this.beats.size > POLL_HEARTBEAT_NODES_MAX) this.beats.delete(this.beats.keys().next().value as string);
    return true;
  }
}
