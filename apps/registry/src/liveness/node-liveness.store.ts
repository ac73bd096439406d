import { Injectable } from '@nestjs/common';
import { chunks, ServiceRuntime, tableOf } from '@starminer/service-kit';
import { NodeLiveness } from './node-liveness.entity';

/** When each node was last heard from (a registration or a heartbeat). */
@Injectable()
export class NodeLivenessStore {
  constructor(private readonly rt: ServiceRuntime) {}

  async seen(nodeId: string, at: Date = new Date()): Promise<void> {
    await this.rt.db.getRepository(NodeLiveness).upsert({ nodeId, lastSeenAt: at }, ['nodeId']);
  }

  /**
   * `seen` of many nodes at once, one INSERT ... ON CONFLICT over unnest a ROWS_PER_STATEMENT_MAX
   * (a batch of poll heartbeats, LIMITS.heartbeatsPerCommandMax, is one statement). A node named
   * twice is written once. A row never moves back in time (a slower replica's older beat).
   */
  async seenMany(nodeIds: readonly string[], at: Date = new Date()): Promise<void> {
    const ids = [...new Set(nodeIds)];
    if (ids.length === 0) return;
    const t = tableOf(this.rt.db.manager, NodeLiveness);
    const [nodeId, lastSeenAt] = [t.col('nodeId'), t.col('lastSeenAt')];
    const sql =
      `INSERT INTO ${t.name} AS t (${nodeId}, ${lastSeenAt}) SELECT n, $2::timestamptz FROM unnest($1::text[]) AS n ` +
      `ON CONFLICT (${nodeId}) DO UPDATE SET ${lastSeenAt} = GREATEST(t.${lastSeenAt}, EXCLUDED.${lastSeenAt})`;
    for (const chunk of chunks(ids)) await this.rt.db.query(sql, [chunk, at.toISOString()]);
  }
}
