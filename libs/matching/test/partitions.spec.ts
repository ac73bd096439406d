import fc from 'fast-check';
import { job, node } from './fixtures';
import { DEFAULT_ENGINE_CONFIG } from '../src/config';
import { MatchingError } from '../src/errors';
import { marketKey } from '../src/market-key';
import { fnv1a32, PARTITION_LIMITS, PartitionedMarket, PartitionMoveError, partitionOf } from '../src/partitions';
import type { JobSpec, NodeSpec } from '../src/types';

const REGIONS = ['us-east', 'us-west', 'eu-west', 'eu-central', 'asia-east', 'asia-south', 'sa-east', 'oc-south'];
const MODELS = ['T4', 'A100', 'H100', 'RTX4090'] as const;
const VRAM: Record<(typeof MODELS)[number], number> = { T4: 16, A100: 80, H100: 80, RTX4090: 24 };

/** Two regions whose T4 markets fall in different partitions of `count`. */
function regionsInTwoPartitions(count: number): [string, string] {
  const first = REGIONS[0]!;
  const other = REGIONS.find((r) => partitionOf({ gpuClass: 'T4', region: r }, count) !== partitionOf({ gpuClass: 'T4', region: first }, count));
  if (!other) throw new Error('every region in one partition: pick other regions');
  return [first, other];
}

/** Exactly the partitions whose engine has the job queued. */
const queuedIn = (m: PartitionedMarket, jobId: string): number[] =>
  Array.from({ length: m.partitionCount }, (_, p) => p).filter((p) => m.engine(p).isQueued(jobId));

describe('partitionOf: a stable hash of the market key', () => {
  it('given the FNV-1a test vectors, when hashed, then the published values come out (the same in every process)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('given a market as a key or as class and region, when partitioned, then both give the same index, in range, every time', () => {
    for (const count of [1, 2, 7, 64, PARTITION_LIMITS.partitionsMax]) {
      for (const gpuClass of MODELS) {
        for (const region of REGIONS) {
          const p = partitionOf({ gpuClass, region }, count);
          expect(p).toBe(partitionOf(marketKey(gpuClass, region), count));
          expect(p).toBe(fnv1a32(marketKey(gpuClass, region)) % count);
          expect(Number.isInteger(p) && p >= 0 && p < count).toBe(true);
        }
      }
    }
  });

  it.each([0, -1, 1.5, PARTITION_LIMITS.partitionsMax + 1])('given a partition count of %p, when partitioning, then it is refused', (count) => {
    expect(() => partitionOf('T4', count)).toThrow(MatchingError);
    expect(() => new PartitionedMarket(DEFAULT_ENGINE_CONFIG, count)).toThrow(MatchingError);
  });
});

describe('PartitionedMarket: nodes', () => {
  it('given nodes of many markets, when registered, then each is in exactly one engine, its market\'s partition', () => {
    const m = new PartitionedMarket(DEFAULT_ENGINE_CONFIG, 5);
    const nodes = MODELS.flatMap((gpuModel, i) => REGIONS.map((region, j) => node({ nodeId: `n-${i}-${j}`, gpuModel, vramGiB: VRAM[gpuModel], region })));
    for (const n of nodes) m.upsertNode(n, 0);
    for (const n of nodes) {
      const holders = Array.from({ length: 5 }, (_, p) => p).filter((p) => m.engine(p).getNode(n.nodeId) !== undefined);
      expect(holders).toEqual([partitionOf({ gpuClass: n.gpuModel, region: n.region }, 5)]);
      expect(m.partitionOfNode(n.nodeId)).toBe(holders[0]);
    }
    expect(m.counts().nodes).toBe(nodes.length);
  });

  it('given an idle node, when it moves to a market of another partition, then only the new partition offers its GPUs', () => {
    const [a, b] = regionsInTwoPartitions(4);
    const m = new PartitionedMarket(DEFAULT_ENGINE_CONFIG, 4);
    m.upsertNode(node({ nodeId: 'n', region: a, gpuCount: 2 }), 0);
    m.upsertNode(node({ nodeId: 'n', region: b, gpuCount: 2 }), 1);
    const from = partitionOf({ gpuClass: 'T4', region: a }, 4);
    const to = partitionOf({ gpuClass: 'T4', region: b }, 4);
    expect(m.partitionOfNode('n')).toBe(to);
    expect(m.engine(to).getNode('n')).toMatchObject({ region: b, freeGpus: 2, online: true });
    expect(m.engine(from).getNode('n')).toMatchObject({ gpuCount: 0, online: false });
  });

  it('given a node running a job, when it moves to a market of another partition, then the move is refused', () => {
    const [a, b] = regionsInTwoPartitions(4);
    const m = new PartitionedMarket(DEFAULT_ENGINE_CONFIG, 4);
    m.upsertNode(node({ nodeId: 'n', region: a }), 0);
    m.submitJob(job({ jobId: 'j', requirements: { regions: [a] } }));
    expect(m.matchPending(0, 10)).toHaveLength(1);
    expect(() => m.upsertNode(node({ nodeId: 'n', region: b }), 1)).toThrow(PartitionMoveError);
    expect(m.partitionOfNode('n')).toBe(partitionOf({ gpuClass: 'T4', region: a }, 4));
  });
});

describe('PartitionedMarket: jobs', () => {
  it('given a job naming one market, when submitted, then it is queued in that market\'s partition only and matches there', () => {
    const m = new PartitionedMarket(DEFAULT_ENGINE_CONFIG, 8);
    for (const region of REGIONS) m.upsertNode(node({ nodeId: `n-${region}`, gpuModel: 'A100', vramGiB: 80, region }), 0);
    const home = partitionOf({ gpuClass: 'A100', region: 'eu-west' }, 8);
    expect(m.submitJob(job({ jobId: 'j', requirements: { gpuModels: ['A100'], regions: ['eu-west'] } }))).toBe(home);
    expect(queuedIn(m, 'j')).toEqual([home]);
    const [match] = m.matchPending(0, 10);
    expect(match).toMatchObject({ jobId: 'j', nodeId: 'n-eu-west' });
    expect(m.partitionOfMatch('j')).toBe(home);
    expect(queuedIn(m, 'j')).toEqual([]);
  });

  it('given a job redelivered, when submitted again, then it stays queued once, where it was', () => {
    const m = new PartitionedMarket(DEFAULT_ENGINE_CONFIG, 8);
    for (const region of REGIONS) m.upsertNode(node({ nodeId: `n-${region}`, region }), 0);
    const j = job({ jobId: 'j' });
    const home = m.submitJob(j);
    expect(m.submitJob(j)).toBe(home);
    expect(queuedIn(m, 'j')).toEqual([home]);
  });

  it('given a job accepting several markets, when submitted, then it is queued in exactly one partition, its home, chosen the same way every time', () => {
    const build = () => {
      const m = new PartitionedMarket(DEFAULT_ENGINE_CONFIG, 6);
      REGIONS.forEach((region, i) => m.upsertNode(node({ nodeId: `n-${region}`, region, gpuCount: 1 + (i % 4) }), 0));
      return m;
    };
    const m1 = build();
    const m2 = build();
    for (let i = 0; i < 50; i++) {
      const j = job({ jobId: `j-${i}` });
      const home = m1.submitJob(j);
      expect(m2.submitJob(j)).toBe(home);
      expect(queuedIn(m1, j.jobId)).toEqual([home]);
      expect(m1.orderFor(j)[0]).toBe(home);
      expect(new Set(m1.orderFor(j)).size).toBe(m1.orderFor(j).length);
      expect(m1.orderFor(j).length).toBeLessThanOrEqual(PARTITION_LIMITS.hopsMax);
    }
  });

  it('given a multi-market job whose home cannot run it, when passes go by, then it spills after spillAfterPasses to its next partition, queued in one at a time, and matches there', () => {
    const [a, b] = regionsInTwoPartitions(4);
    const m = new PartitionedMarket(DEFAULT_ENGINE_CONFIG, 4);
    m.upsertNode(node({ nodeId: 'na', region: a }), 0);
    m.upsertNode(node({ nodeId: 'nb', region: b }), 0);
    const j = job({ jobId: 'j', submittedAtMs: 10, requirements: { regions: [a, b] } });
    const [home, next] = m.orderFor(j);
    expect(new Set([home, next])).toEqual(new Set([partitionOf({ gpuClass: 'T4', region: a }, 4), partitionOf({ gpuClass: 'T4', region: b }, 4)]));
    // the home's only node is busy with a job naming its market
    const homeRegion = home === partitionOf({ gpuClass: 'T4', region: a }, 4) ? a : b;
    m.submitJob(job({ jobId: 'blocker', requirements: { regions: [homeRegion] } }));
    expect(m.matchPending(0, 10).map((x) => x.jobId)).toEqual(['blocker']);
    expect(m.submitJob(j)).toBe(home);
    for (let pass = 1; pass < PARTITION_LIMITS.spillAfterPasses; pass++) {
      expect(m.matchPending(10 * pass, 10)).toEqual([]);
      expect(queuedIn(m, 'j')).toEqual([home]);
    }
    expect(m.matchPending(100, 10)).toEqual([]);
    expect(queuedIn(m, 'j')).toEqual([next]);
    expect(m.partitionOfJob('j')).toBe(next);
    expect(m.counts().spills).toBe(1);
    const [match] = m.matchPending(200, 10);
    expect(match).toMatchObject({ jobId: 'j', nodeId: homeRegion === a ? 'nb' : 'na', submittedAtMs: 10 });
    expect(m.partitionOfMatch('j')).toBe(next);
  });

  it('given a job no partition can run, when many passes go by, then it spills at most hopsMax - 1 times and then waits in its last partition', () => {
    const m = new PartitionedMarket(DEFAULT_ENGINE_CONFIG, 16);
    for (const region of REGIONS) m.upsertNode(node({ nodeId: `n-${region}`, region, online: false }), 0);
    const j = job({ jobId: 'j' });
    const order = m.orderFor(j);
    expect(order.length).toBe(Math.min(PARTITION_LIMITS.hopsMax, new Set(REGIONS.map((r) => partitionOf({ gpuClass: 'T4', region: r }, 16))).size));
    m.submitJob(j);
    for (let pass = 0; pass < 4 * PARTITION_LIMITS.hopsMax * PARTITION_LIMITS.spillAfterPasses; pass++) m.matchPending(pass, 10);
    expect(m.counts().spills).toBe(order.length - 1);
    expect(queuedIn(m, 'j')).toEqual([order[order.length - 1]]);
  });

  it('given a job naming one market whose node is busy, when passes go by, then it never spills (nowhere else can run it)', () => {
    const m = new PartitionedMarket(DEFAULT_ENGINE_CONFIG, 4);
    m.upsertNode(node({ nodeId: 'n', region: 'eu-west' }), 0);
    m.submitJob(job({ jobId: 'first', requirements: { regions: ['eu-west'] } }));
    m.submitJob(job({ jobId: 'second', submittedAtMs: 1, requirements: { regions: ['eu-west'] } }));
    for (let pass = 0; pass < 3 * PARTITION_LIMITS.spillAfterPasses; pass++) m.matchPending(pass, 10);
    expect(queuedIn(m, 'second')).toEqual([partitionOf({ gpuClass: 'T4', region: 'eu-west' }, 4)]);
    expect(m.counts().spills).toBe(0);
    m.release('first', 100);
    expect(m.matchPending(101, 10).map((x) => x.jobId)).toEqual(['second']);
  });

  it('given a cancelled job, when cancelled, then no partition holds it and a second cancel is refused', () => {
    const m = new PartitionedMarket(DEFAULT_ENGINE_CONFIG, 4);
    m.upsertNode(node({ nodeId: 'n', region: 'eu-west', online: false }), 0);
    m.submitJob(job({ jobId: 'j' }));
    expect(m.cancelJob('j')).toBe(true);
    expect(m.cancelJob('j')).toBe(false);
    expect(queuedIn(m, 'j')).toEqual([]);
  });
});

describe('PartitionedMarket: no job matched twice, no node over capacity (property)', () => {
  const nodeArb = fc.record({
    model: fc.constantFrom(...MODELS),
    region: fc.constantFrom(...REGIONS.slice(0, 4)),
    gpuCount: fc.constantFrom(1, 1, 2, 4, 8),
  });
  const jobArb = fc.record({
    models: fc.subarray([...MODELS], { maxLength: 3 }),
    regions: fc.subarray(REGIONS.slice(0, 5), { maxLength: 3 }),
    gpuCount: fc.constantFrom(1, 1, 2, 4),
    runtimeSec: fc.integer({ min: 60, max: 4 * 3_600 }),
  });
  const stepArb = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('submit' as const), job: jobArb }), weight: 6 },
    { arbitrary: fc.record({ kind: fc.constant('pass' as const), max: fc.integer({ min: 1, max: 6 }) }), weight: 3 },
    { arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }), weight: 1 },
  );

  it('given random nodes, jobs, passes, releases and cancels over 1-5 partitions, when run, then every queued job is in exactly one partition, none is matched twice, and no node holds more GPUs than it has', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(nodeArb, { minLength: 1, maxLength: 12 }), fc.array(stepArb, { maxLength: 80 }), (partitions, nodeRows, steps) => {
        const m = new PartitionedMarket(DEFAULT_ENGINE_CONFIG, partitions);
        const nodes: NodeSpec[] = nodeRows.map((r, i) => node({ nodeId: `n${i}`, gpuModel: r.model, vramGiB: VRAM[r.model], region: r.region, gpuCount: r.gpuCount }));
        for (const n of nodes) m.upsertNode(n, 0);
        const submitted: JobSpec[] = [];
        const everMatched = new Set<string>();
        const running = new Map<string, { nodeId: string; gpuCount: number }>();
        let atMs = 0;
        for (const step of steps) {
          atMs += 1_000;
          if (step.kind === 'submit') {
            const j = job({
              jobId: `j${submitted.length}`,
              submittedAtMs: atMs,
              expectedRuntimeSec: step.job.runtimeSec,
              requirements: { gpuModels: step.job.models, regions: step.job.regions, gpuCount: step.job.gpuCount },
            });
            submitted.push(j);
            m.submitJob(j);
          } else if (step.kind === 'pass') {
            for (const x of m.matchPending(atMs, step.max)) {
              expect(everMatched.has(x.jobId)).toBe(false);
              everMatched.add(x.jobId);
              running.set(x.jobId, { nodeId: x.nodeId, gpuCount: x.gpuCount });
            }
          } else if (step.kind === 'release' && running.size > 0) {
            const jobId = [...running.keys()][step.pick % running.size]!;
            running.delete(jobId);
            m.release(jobId, atMs);
          } else if (step.kind === 'cancel' && submitted.length > 0) {
            m.cancelJob(submitted[step.pick % submitted.length]!.jobId);
          }
          for (const j of submitted) {
            const where = queuedIn(m, j.jobId);
            const recorded = m.partitionOfJob(j.jobId);
            expect(where).toEqual(recorded === undefined ? [] : [recorded]);
          }
          const used = new Map<string, number>();
          for (const r of running.values()) used.set(r.nodeId, (used.get(r.nodeId) ?? 0) + r.gpuCount);
          for (const n of nodes) {
            const p = m.partitionOfNode(n.nodeId)!;
            expect(used.get(n.nodeId) ?? 0).toBeLessThanOrEqual(n.gpuCount);
            expect(m.engine(p).getNode(n.nodeId)!.reservedGpus).toBe(used.get(n.nodeId) ?? 0);
            for (let q = 0; q < partitions; q++) if (q !== p) expect(m.engine(q).getNode(n.nodeId)).toBeUndefined();
          }
        }
      }),
      { seed: 13, numRuns: 150 },
    );
  });
});
