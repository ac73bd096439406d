import type { DataSource } from 'typeorm';
import { EXAMPLE_EVENT_DATA } from '@starminer/events';
import { applyPerEvent, cleared, itWritesWhatThePerEventPathWrites, marketLog, readModelPerSpec, redelivered, rowsOf as rowsIn, storedMarket, type BatchPath } from '@starminer/service-testing';
import type { StoredEvent } from '@starminer/trade-log';
import { NodeRow } from './node-row.entity';
import { applyNodesBatch, foldNodesBatch, nodesReadBy } from './nodes-batch';
import { applyToNodes, NODES_MODEL } from './nodes.projection';

/**
 * The batch path of the registry's nodes (applyNodesBatch) against the per-event path
 * (applyToNodes), on a real Postgres: a market's log (nodes registered, one patched before it
 * registers, one registered again, availability, reputation and stake moves among the jobs'
 * events), with events delivered again (a registration after its node moved on, a heartbeat at
 * once), applied once per event into one database and in batches into another, leaves the table
 * the same, row for row.
 */
const perEvent = readModelPerSpec([NodeRow]);
const batched = readModelPerSpec([NodeRow]);

const nodeOf = (s: StoredEvent): string | undefined => (s.event.data as { nodeId?: string }).nodeId;

function logUnderTest(): StoredEvent[] {
  const { log, insertAfter } = redelivered(marketLog({ jobs: 40, seed: 13, nodes: 8 }), '');
  const of = (type: string, nth = 0): StoredEvent => log.filter((s) => s.event.type === type)[nth]!;
  // node-2's registration again after its heartbeats, reputation and stake moved: every column back to the registration's
  const lastOfNode2 = log.filter((s) => nodeOf(s) === 'node-2' && s.event.type !== 'NodeRegistered').at(-1)!;
  insertAfter(lastOfNode2, log.find((s) => s.event.type === 'NodeRegistered' && nodeOf(s) === 'node-2')!, 0);
  insertAfter(of('NodeAvailabilityChanged', 9), of('NodeAvailabilityChanged', 9), 0);
  insertAfter(of('NodeStakeChanged', 2), of('NodeStakeChanged', 1), 3);
  return log;
}

const LOG = logUnderTest();
const NODES: BatchPath = { apply: applyNodesBatch, entities: [NodeRow] };
const rowsOf = (ds: DataSource) => rowsIn(NODES, ds);

let expected: Record<string, unknown[]>;

beforeAll(async () => {
  await applyPerEvent(perEvent.ds, applyToNodes, LOG);
  expected = await rowsOf(perEvent.ds);
}, 120_000);

describe("the registry's nodes written a batch at a time", () => {
  it('given the log applied per event, then it is a market worth comparing: nodes on and off line, in pools and none, node-late registered after its first patch', () => {
    const nodes = expected.nodes as { nodeId: string; online: boolean; poolId: string | null; nodeAddress: string }[];
    expect(nodes).toHaveLength(9);
    expect(new Set(nodes.map((n) => n.online))).toEqual(new Set([true, false]));
    expect(new Set(nodes.map((n) => n.poolId))).toEqual(new Set([null, 'pool-gold', 'pool-iron']));
    expect(nodes.every((n) => n.nodeAddress === n.nodeAddress.toLowerCase())).toBe(true);
    expect(LOG.filter((s) => nodeOf(s) !== undefined).length).toBeGreaterThan(60);
    expect(NODES_MODEL.applyBatch).toBeDefined();
  });

  itWritesWhatThePerEventPathWrites(NODES, () => batched.ds, LOG, () => expected);

  it('given a patch before its node registers, then the fold drops it; after, it merges into the registration', () => {
    const [late, registered, reputation] = storedMarket([
      { type: 'NodeAvailabilityChanged', data: { nodeId: 'node-x', online: true, reason: 'heartbeat' } },
      { type: 'NodeRegistered', data: { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId: 'node-x' } },
      { type: 'NodeReputationChanged', data: { nodeId: 'node-x', reputation: 0.9, jobId: 'job-1', reason: 'job released' } },
    ]);
    const writes = foldNodesBatch([late!, registered!, reputation!], nodesReadBy([late!]), []).writes();
    expect(writes.updated.size).toBe(0);
    expect(writes.upserted).toEqual([expect.objectContaining({ nodeId: 'node-x', online: false, reputation: 0.9 })]);
  });

  it('given a second node of a key in a batch, then the batch fails as the per-event upsert does (the runner then parks that one event)', async () => {
    await cleared(NODES, batched.ds);
    const twice = storedMarket([
      { type: 'NodeRegistered', data: { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId: 'node-a' } },
      { type: 'NodeRegistered', data: { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId: 'node-b' } },
    ]);
    await expect(batched.ds.transaction((em) => applyNodesBatch(em, twice))).rejects.toThrow(/duplicate key value violates unique constraint/);
    await expect(applyPerEvent(batched.ds, applyToNodes, twice)).rejects.toThrow(/duplicate key value violates unique constraint/);
  });

  it('when the whole log is one batch, then it takes a handful of statements: one read, then a few writes', async () => {
    await cleared(NODES, batched.ds);
    const statements = await batched.ds.transaction(async (em) => {
      // every statement, the repository's reads too, goes through the transaction's query runner
      const query = jest.spyOn(em.queryRunner!, 'query');
      await applyNodesBatch(em, LOG);
      return query.mock.calls.length;
    });
    expect(statements).toBeGreaterThan(1);
    expect(statements).toBeLessThanOrEqual(6);
    expect(await rowsOf(batched.ds)).toEqual(expected);
  });
});
