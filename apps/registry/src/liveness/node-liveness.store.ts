import { Injectable } from '@nestjs/common';
import { ServiceRuntime } from '@starminer/service-kit';
import { NodeLiveness } from './node-liveness.entity';

/** When each node was last heard from (a registration or a heartbeat). */
@Injectable()
export class NodeLivenessStore {
  constructor(private readonly rt: ServiceRuntime) {}

  async seen(nodeId: string, at: Date = new Date()): Promise<void> {
    await this.rt.db.getRepository(NodeLiveness).upsert({ nodeId, lastSeenAt: at }, ['nodeId']);
  }
}
