import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { FleetBenchmark } from '@starminer/domain';
import type { EventData, TradeEvent } from '@starminer/events';
import { ServiceRuntime, type ReadModel } from '@starminer/service-kit';
import type { ProjectionRunner, StoredEvent } from '@starminer/trade-log';
import { NodeRow } from './node-row.entity';
import { applyNodesBatch } from './nodes-batch';

/** The projection's name: its checkpoint, and the reader its parked events are filed under. */
export const NODES_READER = 'nodes';

/** The nodes as a read model: what the registry projects and the auditor's replay rebuilds. */
export const NODES_MODEL: ReadModel = {
  name: NODES_READER,
  kinds: ['node'],
  apply: (em, e) => applyToNodes(em, e),
  applyBatch: (em, events) => applyNodesBatch(em, events),
  tables: [{ entity: NodeRow }],
};

/**
 * The nodes read model (`NodeRow`), from node events. Not critical: a parked node event leaves that
 * one node out of the index (or stale) until an operator re-applies it; no money depends on it, so
 * the registry stays ready and says so in readiness' detail.
 */
@Injectable()
export class NodesProjection implements OnApplicationBootstrap {
  private runner!: ProjectionRunner;

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    this.runner = this.rt.readModel(NODES_MODEL);
    await this.runner.start();
  }

  /** Resolves once the read model includes `seq` (a registration answers once its node is listed). */
  waitUntil(seq: number): Promise<void> {
    return this.runner.waitUntil(seq);
  }

  /**
   * The median benchmark of the registered nodes of one GPU model and benchmark kind, and how many
   * there are (another registration of `exceptNodeId` left out): what a new registration's figure
   * is compared with. One aggregate over an index of the model; undefined when there are none.
   */
  async fleetBenchmark(gpuModel: string, benchmarkKind: string, exceptNodeId: string): Promise<FleetBenchmark | undefined> {
    const rows: { median: number | null; peers: string }[] = await this.rt.db
      .getRepository(NodeRow)
      .createQueryBuilder('n')
      .select('percentile_cont(0.5) within group (order by n."benchmarkScore")', 'median')
      .addSelect('count(*)', 'peers')
      .where('n."gpuModel" = :gpuModel and n."benchmarkKind" = :benchmarkKind and n."nodeId" <> :exceptNodeId', { gpuModel, benchmarkKind, exceptNodeId })
      .getRawMany();
    const row = rows[0];
    const peers = Number(row?.peers ?? 0);
    return row?.median && peers > 0 ? { medianScore: Number(row.median), peers } : undefined;
  }

  /** The node a key registered, as the read model knows it. */
  byAddress(nodeAddress: string): Promise<NodeRow | null> {
    return this.rt.db.getRepository(NodeRow).findOne({ where: { nodeAddress: nodeAddress.toLowerCase() } });
  }
}

export async function applyToNodes(em: EntityManager, { event }: StoredEvent): Promise<void> {
  const repo = em.getRepository(NodeRow);
  const e = event as TradeEvent;
  switch (e.type) {
    case 'NodeRegistered': {
      await repo.upsert(nodeRowOf(e.data), ['nodeId']);
      return;
    }
    case 'NodeAvailabilityChanged':
      await repo.update({ nodeId: e.data.nodeId }, { online: e.data.online });
      return;
    case 'NodeReputationChanged':
      await repo.update({ nodeId: e.data.nodeId }, { reputation: e.data.reputation });
      return;
    case 'NodeStakeChanged':
      await repo.update({ nodeId: e.data.nodeId }, { stakeWei: e.data.stakeWei, poolId: e.data.poolId });
      return;
    default:
      return;
  }
}

/** A registered node's row (offline until its availability says otherwise): the per-event and batch paths write this. */
export function nodeRowOf(d: EventData<'NodeRegistered'>): NodeRow {
  return {
    nodeId: d.nodeId,
    nodeAddress: d.nodeAddress.toLowerCase(),
    providerId: d.providerId,
    gpuModel: d.gpuModel,
    gpuCount: d.gpuCount,
    vramGiB: d.vramGiB,
    region: d.region,
    latencyMs: d.latencyMs,
    tee: d.tee,
    benchmarkScore: d.benchmark.score,
    benchmarkKind: d.benchmark.kind,
    reputation: d.reputation,
    stakeWei: d.stakeWei,
    poolId: d.poolId ?? null,
    online: false,
  };
}
