import { Injectable } from '@nestjs/common';
import { DomainError } from '@starminer/domain';
import { LIMITS } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import { JobView, NodeView } from '../views/entities';
import { GatewayViews } from '../views/gateway-views';

/** Nodes whose key one gateway process remembers (the oldest forgotten first: looked up again). */
export const NODE_KEYS_CACHED_MAX = 100_000;

/** What an assignment is made of (assignment.ts): a job row's columns it reads. */
export type AssignmentRow = Pick<JobView, 'jobId' | 'status' | 'workload' | 'expectedRuntimeSec' | 'deadlineUnixSec' | 'costWei' | 'contractAddress' | 'traceparent'>;
/** As Postgres answers it: numeric as text (pg's default), bigint as text (as TypeORM reads it). */
type RawAssignmentRow = Omit<AssignmentRow, 'costWei'> & { costWei: string | null };

/** What a provider agent reads: its node, and the jobs whose contract is open for it. */
@Injectable()
export class ProviderQueries {
  /**
   * node id -> its key, as the read model had it. A node's key never changes (registering a node id
   * again with another key is NODE_EXISTS), so an agent's every poll need not read it again.
   */
  private readonly keys = new Map<string, string>();

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly views: GatewayViews,
  ) {}

  /** Passes when the node is registered and the request is signed by its key; NODE_NOT_FOUND, NOT_NODE_KEY otherwise. */
  async ownNode(nodeId: string, nodeAddress: string): Promise<void> {
    let key = this.keys.get(nodeId);
    if (key === undefined) {
      const find = () => this.rt.db.getRepository(NodeView).findOne({ where: { nodeId }, select: { nodeId: true, nodeAddress: true } });
      let node = await find();
      if (!node) {
        // registered a moment ago, and the read model not there yet? wait for it (bounded), once
        await this.views.caughtUpWithNode(nodeId);
        node = await find();
      }
      if (!node) throw new DomainError('NODE_NOT_FOUND', `node ${nodeId} is not registered`);
      key = node.nodeAddress;
      this.keys.set(nodeId, key);
      if (this.keys.size > NODE_KEYS_CACHED_MAX) this.keys.delete(this.keys.keys().next().value as string);
    }
    if (key !== nodeAddress.toLowerCase()) throw new DomainError('NOT_NODE_KEY', 'signed by another key than the node key');
  }

  /**
   * The node's contracted and running jobs, with what an assignment shows. The hottest read of the
   * gateway (every long poll, twice): one raw statement (the index on nodeId, status) instead of
   * TypeORM's find, whose query building and entity mapping cost a poll more than the query.
   */
  async assignments(nodeId: string): Promise<AssignmentRow[]> {
    const rows: RawAssignmentRow[] = await this.rt.db.query(
      `SELECT "jobId", "status", "workload", "expectedRuntimeSec", "deadlineUnixSec", "costWei", "contractAddress", "traceparent"
         FROM "${this.rt.service}"."jobs" WHERE "nodeId" = $1 AND "status" IN ('contracted', 'running') ORDER BY "jobId" LIMIT $2`,
      [nodeId, LIMITS.pageSizeMax],
    );
    return rows.map((r) => ({ ...r, costWei: r.costWei === null ? null : BigInt(r.costWei) }));
  }
}
