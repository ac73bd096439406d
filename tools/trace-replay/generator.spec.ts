import { generateTrace, SHAPES } from './generator';
import { parseNodes, parsePods, replay } from './replay';

describe('seeded trace generator (Alibaba 2023 columns)', () => {
  it('given the same shape, jobs and seed, when generated twice, then the traces are identical; another seed gives another trace', () => {
    for (const shape of SHAPES) {
      const a = generateTrace({ shape, jobs: 500, seed: 7 });
      expect(generateTrace({ shape, jobs: 500, seed: 7 })).toEqual(a);
      expect(generateTrace({ shape, jobs: 500, seed: 8 }).podsCsv).not.toBe(a.podsCsv);
    }
  });

  it('given each shape, when read back by the replay, then every pod is a GPU pod in arrival order and its job-size mix is the shape\'s', () => {
    const shareOf = (shape: (typeof SHAPES)[number]) => {
      const { pods, skippedCpuOnly } = parsePods(generateTrace({ shape, jobs: 4_000, seed: 1 }).podsCsv);
      expect(pods).toHaveLength(4_000);
      expect(skippedCpuOnly).toBe(0);
      expect(pods.every((p, i) => i === 0 || p.arrivalSec >= pods[i - 1]!.arrivalSec)).toBe(true);
      return (g: number) => pods.filter((p) => p.gpus === g).length / pods.length;
    };
    const alibaba = shareOf('alibaba');
    const philly = shareOf('philly');
    const helios = shareOf('helios');
    expect(alibaba(1)).toBeGreaterThan(0.98); // 98.9 % in the real trace
    expect(philly(1)).toBeGreaterThan(0.65);
    expect(philly(1)).toBeLessThan(0.75);
    expect(helios(8)).toBeGreaterThan(0.15);
    expect(helios(8)).toBeGreaterThan(philly(8));
  });

  it('given each shape at load 1.5, when replayed by every baseline, then every pod can be placed somewhere and the cluster queues', () => {
    for (const shape of SHAPES) {
      const trace = generateTrace({ shape, jobs: 2_000, seed: 3, load: 1.5 });
      const reports = replay(parsePods(trace.podsCsv).pods, parseNodes(trace.nodesCsv), { schedulers: ['fifo-strict', 'first-fit-backfill', 'easy-backfill', 'best-fit'] });
      for (const r of reports) expect(r.neverPlaced).toBe(0);
      expect(reports[0]!.waitMaxSec).toBeGreaterThan(0); // strict FIFO: some pod waited
    }
  });

  it('given bad options, when generating, then it refuses naming the range', () => {
    expect(() => generateTrace({ shape: 'philly', jobs: 0, seed: 1 })).toThrow('jobs must be an integer in 1..10000000');
    expect(() => generateTrace({ shape: 'philly', jobs: 10, seed: 1, load: 0 })).toThrow('load must be in 0.01..100');
  });
});
