import { Injectable } from '@nestjs/common';
import { LIMITS, type NodeTelemetry } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import { NodeTelemetrySample } from './node-telemetry.entity';

/** The latest GPU telemetry of each node and a bounded history (LIMITS.telemetryHistoryMax samples, newest first). */
@Injectable()
export class NodeTelemetryStore {
  constructor(private readonly rt: ServiceRuntime) {}

  /** Keeps `t` and drops the node's samples past the newest LIMITS.telemetryHistoryMax, in one transaction. */
  async record(nodeId: string, t: NodeTelemetry, receivedAt: Date = new Date()): Promise<void> {
    await this.rt.db.transaction(async (em) => {
      const repo = em.getRepository(NodeTelemetrySample);
      await repo.insert({ nodeId, sampledAt: new Date(t.sampledAt), receivedAt, gpus: t.gpus });
      // the (nodeId, id) index finds the oldest kept sample; everything of the node below it goes
      const kept = await repo.find({ select: { id: true }, where: { nodeId }, order: { id: 'DESC' }, skip: LIMITS.telemetryHistoryMax - 1, take: 1 });
      if (kept.length > 0) await repo.createQueryBuilder().delete().where('"nodeId" = :nodeId AND id < :id', { nodeId, id: kept[0].id }).execute();
    });
  }

  /** Newest first, at most LIMITS.telemetryHistoryMax. */
  async history(nodeId: string): Promise<{ latest: NodeTelemetry | null; history: NodeTelemetry[] }> {
    const rows = await this.rt.db.getRepository(NodeTelemetrySample).find({ where: { nodeId }, order: { id: 'DESC' }, take: LIMITS.telemetryHistoryMax });
    const history = rows.map((r) => ({ sampledAt: r.sampledAt.toISOString(), gpus: r.gpus }));
    return { latest: history[0] ?? null, history };
  }
}
