import type { EntityManager } from 'typeorm';
import type { TradeEvent } from '@starminer/events';
import { readRows, RowsFold, writeRowsFold } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import { NodeRow } from './node-row.entity';
import { applyToNodes, nodeRowOf } from './nodes.projection';

/** The nodes a batch reads first: every node an event of it names (a patch of a node not there yet does nothing). */
export function nodesReadBy(events: readonly StoredEvent[]): string[] {
  const ids = new Set<string>();
  for (const { event } of events) {
    const id = (event.data as { nodeId?: unknown }).nodeId;
    if (typeof id === 'string') ids.add(id);
  }
  return [...ids];
}

/**
 * Folds a batch, in log order, into what `applyToNodes` applied to each event in turn leaves, given
 * which nodes of `nodeIds` the table has (`before`): a registration upserts the node whole (offline
 * until its first heartbeat), availability, reputation and stake patch a node that is there (and
 * nothing before it registers). Pure.
 */
export function foldNodesBatch(events: readonly StoredEvent[], nodeIds: readonly string[], before: readonly Pick<NodeRow, 'nodeId'>[]): RowsFold<NodeRow> {
  const nodes = new RowsFold<NodeRow>('nodeId', nodeIds, before);
  for (const { event } of events) {
    const e = event as TradeEvent;
    switch (e.type) {
      case 'NodeRegistered': {
        nodes.upsert(nodeRowOf(e.data));
        break;
      }
      case 'NodeAvailabilityChanged':
        nodes.update(e.data.nodeId, { online: e.data.online });
        break;
      case 'NodeReputationChanged':
        nodes.update(e.data.nodeId, { reputation: e.data.reputation });
        break;
      case 'NodeStakeChanged':
        nodes.update(e.data.nodeId, { stakeWei: e.data.stakeWei, poolId: e.data.poolId });
        break;
      default:
        break;
    }
  }
  return nodes;
}

/**
 * Writes a whole batch of node events with a handful of statements, where `applyToNodes` writes
 * one per event: one SELECT of the nodes the batch names, then one INSERT ... ON CONFLICT of the
 * registrations (with the batch's later patches merged in) and one UPDATE ... FROM unnest(...) of
 * the patches of nodes already there. The rows are those the per-event path leaves
 * (foldNodesBatch). A second node of a key fails the batch's insert as it fails the per-event
 * upsert: the runner then applies the batch event by event and parks that one. A batch of one
 * event takes the per-event path.
 */
export async function applyNodesBatch(em: EntityManager, events: readonly StoredEvent[]): Promise<void> {
  if (events.length <= 1) {
    for (const e of events) await applyToNodes(em, e);
    return;
  }
  const nodeIds = nodesReadBy(events);
  const before = await readRows(em, NodeRow, 'nodeId', nodeIds, { nodeId: true });
  await writeRowsFold(em, NodeRow, 'nodeId', foldNodesBatch(events, nodeIds, before).writes());
}
