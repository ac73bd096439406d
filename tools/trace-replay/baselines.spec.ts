import { mapModels, replay, startTimes, UnknownTraceModelError, type TraceNode, type TracePod } from './replay';

/** Tiny hand-made traces whose right answer is worked out by hand in each test. */
const pod = (name: string, arrivalSec: number, gpus: number, runtimeSec: number, models: string[] = []): TracePod => ({ name, gpus, models, qos: 'BE', arrivalSec, runtimeSec });
const node = (name: string, gpus: number, model = 'T4'): TraceNode => ({ name, gpus, model });

describe('baseline schedulers on hand-made traces', () => {
  // one 4-GPU node. a (2 GPUs, 100 s) runs from 0; b asks the whole node at 1; c is short (2 GPUs,
  // 50 s, ends at 52 < 100); d is long (2 GPUs, 500 s)
  const oneNode = [node('n0', 4)];
  const headBlocked = [pod('a', 0, 2, 100), pod('b', 1, 4, 50), pod('c', 2, 2, 50), pod('d', 3, 2, 500)];

  it('given a blocked head, when strict FIFO runs, then nobody passes it: c and d wait for b to end at 150', () => {
    expect(startTimes(headBlocked, oneNode, 'fifo-strict')).toEqual([0, 100, 150, 150]);
  });

  it('given a blocked head, when EASY runs, then the short c jumps ahead without delaying b (reserved at 100), and the long d waits', () => {
    expect(startTimes(headBlocked, oneNode, 'easy-backfill')).toEqual([0, 100, 2, 150]);
  });

  it('given a blocked head, when first-fit backfilling runs, then d takes the GPUs c frees at 52 and delays b from 100 to 552', () => {
    expect(startTimes(headBlocked, oneNode, 'first-fit-backfill')).toEqual([0, 552, 2, 52]);
  });

  it('given a reservation on n0, when EASY runs, then a long pod backfills on n1 (not needed by the reservation) and on n0 only within the spare GPUs', () => {
    // n0: 8 GPUs, n1: 2. a (4 GPUs) runs on n0 to 100; head b (6 GPUs) is reserved on n0 at 100, when 8 are free: 2 spare.
    // c (2 GPUs, 1,000 s) takes the spare of n0; d (same) goes to n1; e (same) would eat b's GPUs on n0: waits until b
    // ends at 110; f (2 GPUs, 50 s) ends by 100, so it may use n0's GPUs now
    const nodes = [node('n0', 8), node('n1', 2)];
    const pods = [pod('a', 0, 4, 100), pod('b', 1, 6, 10), pod('c', 2, 2, 1_000), pod('d', 3, 2, 1_000), pod('e', 4, 2, 1_000), pod('f', 5, 2, 50)];
    expect(startTimes(pods, nodes, 'easy-backfill')).toEqual([0, 100, 2, 3, 110, 5]);
    // first-fit backfilling puts c, d on n0 and e on n1: b waits for c and d to end at 1,002
    expect(startTimes(pods, nodes, 'first-fit-backfill')[1]).toBe(1_002);
  });

  it('given a 4-GPU and a 2-GPU node, when best-fit places a 2-GPU pod, then it leaves the 4-GPU node whole for the 4-GPU pod; first-fit does not', () => {
    const nodes = [node('n0', 4), node('n1', 2)];
    const pods = [pod('x', 0, 2, 1_000), pod('y', 1, 4, 10)];
    expect(startTimes(pods, nodes, 'best-fit')).toEqual([0, 1]);
    expect(startTimes(pods, nodes, 'first-fit-backfill')).toEqual([0, 1_000]);
  });

  it('given a pod only a missing model could run, when any baseline runs, then it is never placed and blocks nobody', () => {
    const nodes = [node('n0', 2)];
    const pods = [pod('p100-only', 0, 1, 10, ['P100']), pod('any', 1, 1, 10)];
    for (const s of ['fifo-strict', 'first-fit-backfill', 'easy-backfill', 'best-fit'] as const) {
      const starts = startTimes(pods, nodes, s);
      expect(Number.isNaN(starts[0])).toBe(true);
      expect(starts[1]).toBe(1);
    }
  });

  it('given the first trace, when all baselines report, then each gives p50/p95/p99/max, utilization, 2+ GPU waits and pods never placed', () => {
    const reports = replay(headBlocked, oneNode, { schedulers: ['fifo-strict', 'first-fit-backfill', 'easy-backfill', 'best-fit'] });
    const easy = reports.find((r) => r.scheduler === 'easy-backfill')!;
    // waits 0, 99, 0, 147: p50 = 0 (2nd of 4), p95 = p99 = max = 147
    expect(easy).toMatchObject({ jobs: 4, placed: 4, neverPlaced: 0, waitP50Sec: 0, waitP95Sec: 147, waitP99Sec: 147, waitMaxSec: 147 });
    expect(easy.multiGpu).toEqual({ jobs: 4, placed: 4, waitP95Sec: 147, waitMaxSec: 147 });
    // busy GPU-seconds inside [0, 3]: a 2×3, c 2×1 → 8 of 4×3
    expect(easy.gpuUtilization).toBeCloseTo(8 / 12, 10);
    const ffb = reports.find((r) => r.scheduler === 'first-fit-backfill')!;
    expect(ffb.waitMaxSec).toBe(551);
  });
});

describe('a trace node whose GPU model the price book lacks', () => {
  const pods = [pod('a', 0, 1, 10)];
  const nodes = [node('n0', 2), node('n1', 8, 'B200'), node('n2', 8, 'B200')];

  it('given a B200 node, when replayed, then the replay fails naming the model and its count, and how to map it', () => {
    expect(() => replay(pods, nodes)).toThrow(UnknownTraceModelError);
    expect(() => replay(pods, nodes)).toThrow("GPU models the price book lacks: 'B200' (2 nodes, 0 pods); name them with --map-model MODEL=KNOWN_MODEL");
  });

  it('given --map-model B200=H200, when replayed, then every node is used', () => {
    const mapped = mapModels([pod('big', 0, 8, 10, ['B200'])], nodes, new Map([['B200', 'H200']]));
    expect(mapped.nodes.map((n) => n.model)).toEqual(['T4', 'H200', 'H200']);
    expect(mapped.pods[0]!.models).toEqual(['H200']);
    expect(startTimes(mapped.pods, mapped.nodes, 'engine')).toEqual([0]);
  });
});
