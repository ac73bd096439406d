import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { DomainError } from '@starminer/domain';
import { LIMITS } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import { JobView, NodeView } from '../views/entities';

/** What a provider agent reads: its node, and the jobs whose contract is open for it. */
@Injectable()
export class ProviderQueries {
  constructor(private readonly rt: ServiceRuntime) {}

  /** The node, when the request is signed by its key. */
  async ownNode(nodeId: string, nodeAddress: string): Promise<NodeView> {
    const node = await this.rt.db.getRepository(NodeView).findOne({ where: { nodeId } });
    if (!node) throw new DomainError('NODE_NOT_FOUND', `node ${nodeId} is not registered`);
    if (node.nodeAddress !== nodeAddress.toLowerCase()) throw new DomainError('NOT_NODE_KEY', 'signed by another key than the node key');
    return node;
  }

  async assignments(nodeId: string): Promise<JobView[]> {
    return this.rt.db.getRepository(JobView).find({ where: { nodeId, status: In(['contracted', 'running']) }, order: { jobId: 'ASC' }, take: LIMITS.pageSizeMax });
  }
}
