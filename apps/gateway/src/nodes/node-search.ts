import { Injectable, Logger } from '@nestjs/common';
import { In, type EntityManager, type SelectQueryBuilder } from 'typeorm';
import { DomainError } from '@starminer/domain';
import {
  ACTIVE_JOB_STATUSES, COMMANDS, ID_PATTERN, LIMITS, NodeFilterError, parseNodeFilter, type NodeAnswer, type NodeDetailAnswer, type NodeFilter, type NodeFilterOperator, type ReplyOf,
} from '@starminer/events';
import { CommandBus, ServiceRuntime } from '@starminer/service-kit';
import { JobView, NodeView } from '../views/entities';

/** SQL of each operator; the column comes from the filter's field table, every value is a parameter. */
const SQL_OPERATOR: Record<NodeFilterOperator, string> = { '=': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=', in: 'IN', notin: 'NOT IN' };

/** The filter of `?filter=`, or 400 BAD_FILTER naming the term, its position and what was expected. */
export function nodeFilterOf(expr: string | undefined): NodeFilter {
  try {
    return parseNodeFilter(expr ?? '');
  } catch (err) {
    if (err instanceof NodeFilterError) throw new DomainError('BAD_FILTER', err.message, err.details);
    throw err;
  }
}

/** The filter's terms as WHERE clauses on the node view aliased `n`: columns from the whitelist, values bound as parameters. */
export function whereNodeFilter<T extends object>(q: SelectQueryBuilder<T>, filter: NodeFilter): SelectQueryBuilder<T> {
  filter.terms.forEach((t, i) => {
    const column = `n.${t.column}`;
    const p = `f${i}`;
    if (t.op === 'in' || t.op === 'notin') q.andWhere(`${column} ${SQL_OPERATOR[t.op]} (:...${p})`, { [p]: t.values });
    else q.andWhere(`${column} ${SQL_OPERATOR[t.op]} :${p}`, { [p]: t.values[0] });
  });
  return q;
}

/** One page of the nodes that pass the filter, in nodeId order after `cursor` (the last nodeId of the previous page). */
export async function searchNodes(
  em: EntityManager,
  filter: NodeFilter,
  page: { limit?: number; cursor?: string },
): Promise<{ nodes: NodeAnswer[]; nextCursor: string | null }> {
  const limit = page.limit ?? LIMITS.pageSizeDefault;
  if (page.cursor !== undefined && !ID_PATTERN.test(page.cursor)) throw new DomainError('BAD_CURSOR', 'the cursor is not one this endpoint handed out');
  const q = whereNodeFilter(em.getRepository(NodeView).createQueryBuilder('n'), filter);
  if (page.cursor !== undefined) q.andWhere('n.nodeId > :cursor', { cursor: page.cursor });
  // one more than the page: a next page exists only when it does
  const rows = await q.orderBy('n.nodeId', 'ASC').limit(limit + 1).getMany();
  const nodes = rows.slice(0, limit);
  return { nodes: await withActiveJobs(em, nodes), nextCursor: rows.length > limit ? nodes[nodes.length - 1].nodeId : null };
}

/** One node, or 404 NODE_NOT_FOUND. */
export async function nodeById(em: EntityManager, nodeId: string): Promise<NodeView> {
  const node = await em.getRepository(NodeView).findOne({ where: { nodeId } });
  if (!node) throw new DomainError('NODE_NOT_FOUND', `node ${nodeId} is not registered`);
  return node;
}

/** The nodes as the API answers them, each with the jobs that hold its GPUs now (one grouped query for the page). */
export async function withActiveJobs(em: EntityManager, nodes: readonly NodeView[]): Promise<NodeAnswer[]> {
  if (nodes.length === 0) return [];
  const counts: { nodeId: string; n: string }[] = await em
    .getRepository(JobView)
    .createQueryBuilder('j')
    .select('j.nodeId', 'nodeId')
    .addSelect('COUNT(*)', 'n')
    .where({ nodeId: In(nodes.map((n) => n.nodeId)), status: In([...ACTIVE_JOB_STATUSES]) })
    .groupBy('j.nodeId')
    .getRawMany();
  const active = new Map(counts.map((c) => [c.nodeId, Number(c.n)]));
  return nodes.map((n) => nodeAnswer(n, active.get(n.nodeId) ?? 0));
}

export function nodeAnswer(n: NodeView, activeJobs: number): NodeAnswer {
  return {
    nodeId: n.nodeId,
    nodeAddress: n.nodeAddress,
    providerId: n.providerId,
    gpuModel: n.gpuModel,
    gpuCount: n.gpuCount,
    vramGiB: n.vramGiB,
    region: n.region,
    latencyMs: n.latencyMs,
    tee: n.tee,
    benchmarkScore: n.benchmarkScore,
    reputation: n.reputation,
    online: n.online,
    stakeWei: n.stakeWei.toString(),
    poolId: n.poolId,
    activeJobs,
  };
}

/** How long the node page waits for the registry's telemetry before it answers without it. */
export const NODE_TELEMETRY_TIMEOUT_MS = 2_000;

/**
 * The public search of the supply, from the gateway's read model; one node's page adds its GPU
 * telemetry, which is not on the log: the registry keeps it and answers `cmd.registry.nodeTelemetry`.
 */
@Injectable()
export class NodeQueries {
  private readonly logger = new Logger('nodes');

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly bus: CommandBus,
  ) {}

  search(filter: string | undefined, page: { limit?: number; cursor?: string }): Promise<{ nodes: NodeAnswer[]; nextCursor: string | null }> {
    return searchNodes(this.rt.db.manager, nodeFilterOf(filter), page);
  }

  async get(nodeId: string): Promise<NodeDetailAnswer> {
    const [node] = await withActiveJobs(this.rt.db.manager, [await nodeById(this.rt.db.manager, nodeId)]);
    return { ...node, telemetry: telemetryAnswer(await this.telemetry(nodeId)) };
  }

  /** The registry's telemetry of the node; null (logged) when the registry does not answer in time: the rest of the page still stands. */
  private async telemetry(nodeId: string): Promise<ReplyOf<typeof COMMANDS.registry.nodeTelemetry> | null> {
    try {
      return await this.bus.send(COMMANDS.registry.nodeTelemetry, { nodeId }, { timeoutMs: NODE_TELEMETRY_TIMEOUT_MS });
    } catch (err) {
      this.logger.warn(`telemetry of node ${nodeId} unavailable: ${(err as { code?: string }).code ?? (err as Error).message}`);
      return null;
    }
  }
}

/** Null for a node that never sent any telemetry (a CPU-only agent) as for a registry that did not answer. */
export function telemetryAnswer(t: ReplyOf<typeof COMMANDS.registry.nodeTelemetry> | null): NodeDetailAnswer['telemetry'] {
  return t && t.latest ? t : null;
}
