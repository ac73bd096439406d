import fc from 'fast-check';
import { DomainError } from '@starminer/domain';
import {
  EXAMPLE_EVENT_DATA,
  matchesNodeFilter,
  NODE_FILTER_FIELDS,
  NODE_FILTER_OPERATORS_OF,
  parseNodeFilter,
  type NodeAnswer,
  type NodeFilterable,
  type NodeFilterField,
} from '@starminer/events';
import { nodeFilterOf, nodeById, searchNodes, withActiveJobs } from './node-search';
import { viewsOnTestDatabase, type ViewsUnderTest } from './views.testing';

/**
 * The node search on the gateway's real read model (Postgres, written by its projection): a filter
 * returns exactly the nodes `matchesNodeFilter` passes, page after page.
 */
let views: ViewsUnderTest;

const GPUS = [
  ['H100', 80],
  ['A100', 80],
  ['L40S', 48],
  ['RTX4090', 24],
  ['T4', 16],
] as const;
const REGIONS = ['eu-west', 'us-east', 'ap-south'];
const AGPU = 10n ** 18n;

/** 40 nodes, every field varied (by periods that do not divide each other), some online, some with changed reputation. */
const SUPPLY: NodeFilterable[] = Array.from({ length: 40 }, (_, i) => {
  const [gpuModel, vramGiB] = GPUS[i % GPUS.length];
  return {
    gpuModel,
    vramGiB,
    gpuCount: [1, 2, 4, 8][i % 4],
    region: REGIONS[i % 3],
    latencyMs: 5 + ((i * 7) % 40),
    tee: i % 7 === 2,
    reputation: [0.5, 0.25, 0.9, 0.95, 1, 0.6, 0.92][i % 7],
    benchmarkScore: 1000 + i * 10.5,
    online: Math.floor(i / 2) % 2 === 0,
    providerId: `prov-${i % 4}`,
  };
});
const idOf = (i: number) => `n-${String(i).padStart(2, '0')}`;
const addressOf = (i: number) => `0x${(i + 1).toString(16).padStart(40, '0')}`;

async function register(i: number, n: NodeFilterable): Promise<void> {
  const nodeId = idOf(i);
  await views.apply('NodeRegistered', {
    ...EXAMPLE_EVENT_DATA.NodeRegistered,
    nodeId,
    nodeAddress: addressOf(i),
    providerId: n.providerId,
    gpuModel: n.gpuModel,
    gpuCount: n.gpuCount,
    vramGiB: n.vramGiB,
    region: n.region,
    latencyMs: n.latencyMs,
    tee: n.tee,
    benchmark: { ...EXAMPLE_EVENT_DATA.NodeRegistered.benchmark, score: n.benchmarkScore },
    reputation: 0.5,
  });
  if (n.reputation !== 0.5) await views.apply('NodeReputationChanged', { nodeId, reputation: n.reputation, jobId: 'job-x', reason: 'settled' });
  if (n.online) await views.apply('NodeAvailabilityChanged', { nodeId, online: true, reason: 'heartbeat' });
}

beforeAll(async () => {
  views = await viewsOnTestDatabase();
  for (const [i, n] of SUPPLY.entries()) await register(i, n);
}, 120_000);
afterAll(async () => {
  await views?.close();
});

/** Every node that passes, following nextCursor to the end with pages of `limit`. */
async function searchAll(filter: string, limit = 7): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 50; pages++) {
    const page = await searchNodes(views.ds.manager, nodeFilterOf(filter), { limit, cursor });
    expect(page.nodes.length).toBeLessThanOrEqual(limit);
    ids.push(...page.nodes.map((n) => n.nodeId));
    if (page.nextCursor === null) return ids;
    cursor = page.nextCursor;
  }
  throw new Error('more than 50 pages');
}

const expectedIds = (filter: string) =>
  SUPPLY.flatMap((n, i) => (matchesNodeFilter(parseNodeFilter(filter), n) ? [idOf(i)] : [])).sort();

describe('node search on the gateway read model', () => {
  it('given the example of the issue, then exactly the nodes that pass every term', async () => {
    const filter = 'gpu in [H100,A100] vram>=80 region in [eu-west,us-east] reputation>0.9';
    const ids = await searchAll(filter);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.length).toBeLessThan(SUPPLY.length);
    expect([...ids].sort()).toEqual(expectedIds(filter));
    const page = await searchNodes(views.ds.manager, nodeFilterOf(filter), { limit: 100 });
    for (const n of page.nodes) expect(n).toMatchObject({ vramGiB: 80, reputation: expect.any(Number) as number });
  });

  it.each(
    (Object.keys(NODE_FILTER_FIELDS) as NodeFilterField[]).flatMap((field) => {
      const f = NODE_FILTER_FIELDS[field];
      const a = SUPPLY[3][f.column];
      const b = SUPPLY[6][f.column];
      const fmt = (v: unknown) => (typeof v === 'string' ? `"${v}"` : String(v));
      return NODE_FILTER_OPERATORS_OF[f.type].map((op) => [field, op, op === 'in' || op === 'notin' ? `${field} ${op} [${fmt(a)},${fmt(b)}]` : `${field}${op}${fmt(a)}`]);
    }),
  )('given %s %s (%s), then exactly the nodes that pass', async (_field, _op, filter) => {
    expect([...(await searchAll(filter))].sort()).toEqual(expectedIds(filter));
  });

  it('given random filters, then each returns exactly the nodes that pass every term', async () => {
    const term = fc.constantFrom(...(Object.keys(NODE_FILTER_FIELDS) as NodeFilterField[])).chain((field) => {
      const f = NODE_FILTER_FIELDS[field];
      const values = [...new Set(SUPPLY.map((n) => n[f.column]))];
      const value = fc.constantFrom(...values).map((v) => (typeof v === 'string' ? `'${v}'` : String(v)));
      return fc.constantFrom(...NODE_FILTER_OPERATORS_OF[f.type]).chain((op) =>
        op === 'in' || op === 'notin' ? fc.array(value, { minLength: 1, maxLength: 3 }).map((vs) => `${field} ${op} [${vs.join(', ')}]`) : value.map((v) => `${field}${op}${v}`),
      );
    });
    await fc.assert(
      fc.asyncProperty(fc.array(term, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 15 }), async (terms, limit) => {
        const filter = terms.join(' ');
        expect([...(await searchAll(filter, limit))].sort()).toEqual(expectedIds(filter));
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it('given arbitrary filters, then BAD_FILTER or an answer, never a database error (a 5xx)', async () => {
    const piece = fc.oneof(
      fc.constantFrom('gpu', 'vram', 'gpus', 'reputation', 'benchmark', 'tee', 'region', 'provider', '=', '!=', '>=', '<', ' in ', ' notin ', '[', ']', ',', '"', "'", ' '),
      fc.constantFrom('2147483647', '2147483648', '99999999999', '0.000000000000001', '999999999999999.999999999999999', 'true', 'H100', '-1'),
      fc.string({ maxLength: 8 }),
      fc.string({ maxLength: 4, unit: 'binary' }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 12 }).map((a) => a.join('')), async (src) => {
        let filter;
        try {
          filter = nodeFilterOf(src);
        } catch (err) {
          expect(err).toMatchObject({ code: 'BAD_FILTER' });
          return;
        }
        await searchNodes(views.ds.manager, filter, { limit: 5 });
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('given no filter, then every node, in nodeId order, pages ending with a null cursor', async () => {
    const first = await searchNodes(views.ds.manager, nodeFilterOf(undefined), { limit: 25 });
    expect(first.nodes.map((n) => n.nodeId)).toEqual(SUPPLY.slice(0, 25).map((_, i) => idOf(i)));
    expect(first.nextCursor).toBe(idOf(24));
    const last = await searchNodes(views.ds.manager, nodeFilterOf(''), { limit: 25, cursor: first.nextCursor! });
    expect(last.nodes.map((n) => n.nodeId)).toEqual(SUPPLY.slice(25).map((_, i) => idOf(25 + i)));
    expect(last.nextCursor).toBeNull();
    // a page that ends exactly at the last node says there is no next one
    expect((await searchNodes(views.ds.manager, nodeFilterOf(''), { limit: 15, cursor: idOf(24) })).nextCursor).toBeNull();
  });

  it('given a cursor that is no node id, then BAD_CURSOR', async () => {
    await expect(searchNodes(views.ds.manager, nodeFilterOf(''), { cursor: 'not an id!' })).rejects.toMatchObject({ code: 'BAD_CURSOR' });
  });

  it('given a filter that does not parse, then BAD_FILTER with the term, position and what was expected', () => {
    let err: unknown;
    try {
      nodeFilterOf('gpu=H100 vram>=lots');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'BAD_FILTER', details: { term: 'vram>=lots', position: 15, expected: 'a value for vram: an integer 0..2147483647' } });
  });

  it('answers a node with its stake and the jobs that hold its GPUs now', async () => {
    const nodeId = idOf(0);
    await views.apply('NodeStakeChanged', { nodeId, poolId: 'pool-eu', stakeWei: 300n * AGPU, blockNumber: '9', txHash: `0x${'ab'.repeat(32)}` });
    for (const jobId of ['job-a1', 'job-a2']) {
      await views.apply('JobSubmitted', { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId });
      await views.apply('JobMatched', { ...EXAMPLE_EVENT_DATA.JobMatched, jobId, nodeId, nodeAddress: addressOf(0) });
    }
    const node = async (): Promise<NodeAnswer> => (await withActiveJobs(views.ds.manager, [await nodeById(views.ds.manager, nodeId)]))[0];
    expect(await node()).toEqual({
      nodeId,
      nodeAddress: addressOf(0),
      providerId: SUPPLY[0].providerId,
      gpuModel: SUPPLY[0].gpuModel,
      gpuCount: SUPPLY[0].gpuCount,
      vramGiB: SUPPLY[0].vramGiB,
      region: SUPPLY[0].region,
      latencyMs: SUPPLY[0].latencyMs,
      tee: SUPPLY[0].tee,
      benchmarkScore: SUPPLY[0].benchmarkScore,
      reputation: SUPPLY[0].reputation,
      online: SUPPLY[0].online,
      stakeWei: (300n * AGPU).toString(),
      poolId: 'pool-eu',
      activeJobs: 2,
    });
    // a settled job no longer holds the node
    await views.apply('ContractReleased', { ...EXAMPLE_EVENT_DATA.ContractReleased, jobId: 'job-a1', nodeAddress: addressOf(0) });
    expect((await node()).activeJobs).toBe(1);
    await expect(nodeById(views.ds.manager, 'no-such-node')).rejects.toMatchObject({ code: 'NODE_NOT_FOUND' });
  });
});
