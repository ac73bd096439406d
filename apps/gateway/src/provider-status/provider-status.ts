import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import { DomainError } from '@starminer/domain';
import { ID_PATTERN, JOB_STATUSES, LIMITS, type JobStatus, type jobCountsSchema, type earningsPageSchema, type nodeStatusSchema } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import { JobView, NodeView } from '../views/entities';
import { nodeAnswer, nodeById } from '../nodes/node-search';

type JobCounts = z.input<typeof jobCountsSchema>;
export type NodeStatus = z.input<typeof nodeStatusSchema>;
export type EarningsPage = z.input<typeof earningsPageSchema>;

/** Settled jobs with no settlement time (settled before it was kept) sort first, as the oldest. */
const SETTLED_AT = 'COALESCE(j.settledAt, to_timestamp(0))';

/** The node, when the request is signed by its key: else 404 NODE_NOT_FOUND or 403 NOT_NODE_KEY. */
export async function ownNode(em: EntityManager, nodeId: string, nodeAddress: string): Promise<NodeView> {
  const node = await nodeById(em, nodeId);
  if (node.nodeAddress !== nodeAddress.toLowerCase()) throw new DomainError('NOT_NODE_KEY', 'signed by another key than the node key');
  return node;
}

/** The node's jobs by status, every status present, and what its settled jobs were paid in all. */
export async function jobTotals(em: EntityManager, nodeId: string): Promise<{ counts: JobCounts; earnedWei: bigint }> {
  const rows: { status: string; n: string; wei: string | null }[] = await em
    .getRepository(JobView)
    .createQueryBuilder('j')
    .select('j.status', 'status')
    .addSelect('COUNT(*)', 'n')
    .addSelect('SUM(j.paidWei)', 'wei')
    .where('j.nodeId = :nodeId', { nodeId })
    .groupBy('j.status')
    .getRawMany();
  const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  let earnedWei = 0n;
  for (const r of rows) {
    if (!(JOB_STATUSES as readonly string[]).includes(r.status)) continue;
    counts[r.status as JobStatus] = Number(r.n);
    if (r.status === 'settled') earnedWei = BigInt(r.wei ?? '0');
  }
  return { counts, earnedWei };
}

export async function nodeStatus(em: EntityManager, node: NodeView): Promise<NodeStatus> {
  const { counts } = await jobTotals(em, node.nodeId);
  const active = counts.matched + counts.contracted + counts.running;
  return { node: nodeAnswer(node, active), jobs: counts };
}

/**
 * What the node was paid: totals over all its jobs, and one page of its settled jobs in the order
 * they settled (then by id), after the job named by `cursor`. A cursor that names no settled job of
 * the node is BAD_CURSOR.
 */
export async function nodeEarnings(em: EntityManager, node: NodeView, page: { limit?: number; cursor?: string }): Promise<EarningsPage> {
  const limit = page.limit ?? LIMITS.pageSizeDefault;
  const settled = () => em.getRepository(JobView).createQueryBuilder('j').where('j.nodeId = :nodeId AND j.status = :settled', { nodeId: node.nodeId, settled: 'settled' });
  const q = settled();
  if (page.cursor !== undefined) {
    const after = ID_PATTERN.test(page.cursor) ? await settled().andWhere('j.jobId = :cursor', { cursor: page.cursor }).getOne() : null;
    if (!after) throw new DomainError('BAD_CURSOR', 'the cursor is not one this endpoint handed out');
    q.andWhere(`(${SETTLED_AT}, j.jobId) > (:at, :id)`, { at: after.settledAt ?? new Date(0), id: after.jobId });
  }
  const rows = await q.orderBy(SETTLED_AT, 'ASC').addOrderBy('j.jobId', 'ASC').limit(limit + 1).getMany();
  const jobs = rows.slice(0, limit);
  const { counts, earnedWei } = await jobTotals(em, node.nodeId);
  return {
    nodeId: node.nodeId,
    nodeAddress: node.nodeAddress,
    totalEarnedWei: earnedWei.toString(),
    settledJobs: counts.settled,
    refundedJobs: counts.refunded,
    failedJobs: counts.failed,
    jobs: jobs.map((j) => ({ jobId: j.jobId, costWei: (j.costWei ?? 0n).toString(), paidWei: (j.paidWei ?? 0n).toString(), settleTxHash: j.settleTxHash, settledAt: j.settledAt?.toISOString() ?? null })),
    nextCursor: rows.length > limit ? jobs[jobs.length - 1].jobId : null,
  };
}

/** What a provider reads of its own node, from the gateway's read model. */
@Injectable()
export class ProviderStatusQueries {
  constructor(private readonly rt: ServiceRuntime) {}

  async status(nodeId: string, nodeAddress: string): Promise<NodeStatus> {
    const em = this.rt.db.manager;
    return nodeStatus(em, await ownNode(em, nodeId, nodeAddress));
  }

  async earnings(nodeId: string, nodeAddress: string, page: { limit?: number; cursor?: string }): Promise<EarningsPage> {
    const em = this.rt.db.manager;
    return nodeEarnings(em, await ownNode(em, nodeId, nodeAddress), page);
  }
}
