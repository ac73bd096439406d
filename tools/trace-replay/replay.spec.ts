import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { engineConfigWith, parseNodes, parsePods, replay, scaleArrivals } from './replay';

/**
 * A slice of the real Alibaba 2023 GPU trace (../shared/data/traces, cite Weng et al., ATC '23):
 * pods #1000–2999 of the gpu_spec variant (a third of the pods constrained to GPU models), on every
 * 16th node (76 nodes, 414 GPUs), arrivals 50× faster so that the slice queues.
 */
const TRACES = join(__dirname, '../../../shared/data/traces');

describe('trace replay on a slice of the real Alibaba 2023 trace', () => {
  const { pods: all, skippedCpuOnly } = parsePods(readFileSync(join(TRACES, 'alibaba_v2023_openb_pod_list_gpuspec33.csv'), 'utf8'));
  const nodes = parseNodes(readFileSync(join(TRACES, 'alibaba_v2023_openb_node_list_gpu_node.csv'), 'utf8')).filter((_, i) => i % 16 === 0);
  const pods = scaleArrivals(all.slice(1000, 3000), 50);
  const [engine, fifoStrict, fifoSkip] = replay(pods, nodes);

  it('reads the Alibaba 2023 columns: GPU pods kept, CPU-only pods skipped, model constraints parsed', () => {
    expect(all.length + skippedCpuOnly).toBe(8152);
    expect(all.every((p) => p.gpus > 0 && p.runtimeSec >= 1)).toBe(true);
    expect(all.some((p) => p.models.length > 1)).toBe(true);
    expect(nodes.reduce((s, n) => s + n.gpus, 0)).toBe(414);
  });

  it('given contention, then the engine waits less at p95 and uses the GPUs better than FIFO first-fit', () => {
    expect(engine!.scheduler).toBe('engine');
    expect(engine!.placed).toBe(pods.length);
    // strict FIFO (head-of-line blocking)
    expect(fifoStrict!.waitP95Sec).toBeGreaterThan(0);
    expect(engine!.waitP95Sec).toBeLessThan(fifoStrict!.waitP95Sec);
    expect(engine!.gpuUtilization).toBeGreaterThan(fifoStrict!.gpuUtilization);
    // FIFO that lets later jobs pass (first-fit backfilling)
    expect(engine!.waitP95Sec).toBeLessThan(fifoSkip!.waitP95Sec);
    expect(engine!.gpuUtilization).toBeGreaterThanOrEqual(fifoSkip!.gpuUtilization);
    expect(engine!.neverPlaced).toBeLessThanOrEqual(Math.min(fifoStrict!.neverPlaced, fifoSkip!.neverPlaced));
    // pods of 2+ GPUs, which fragmentation starves under first-fit
    expect(engine!.multiGpu.waitMaxSec).toBeLessThan(fifoSkip!.multiGpu.waitMaxSec);
  });

  it('given every 4th node staked (issue 16), then staked capacity takes a larger share of the matches inside surges than outside them, and with the preference off the replay routes as without stake', () => {
    const [staked] = replay(pods, nodes, { schedulers: ['engine'], stakedEvery: 4 });
    const st = staked!.staked!;
    expect(st.surgesStarted).toBeGreaterThan(0);
    expect(st.inSurge.matches).toBeGreaterThan(0);
    expect(st.inSurge.stakedMatchShare).toBeGreaterThan(st.outsideSurge.stakedMatchShare);
    expect(engine!.staked).toBeUndefined();
    const [off] = replay(pods, nodes, { schedulers: ['engine'], stakedEvery: 4, config: engineConfigWith(['weights.reservedLiquidity=0']) });
    const { replaySec: _a, staked: _b, ...routedOff } = off!;
    const { replaySec: _c, ...routedPlain } = engine!;
    expect(routedOff).toEqual(routedPlain);
  });

  it('given overload (all GPU pods, every 8th node, arrivals 100x faster), then the engine waits less at p95 and uses the GPUs no worse than first-fit backfilling, its 2+ GPU pods wait less than under EASY, and its holds shorten their wait', () => {
    const overloaded = scaleArrivals(all, 100);
    const every8th = parseNodes(readFileSync(join(TRACES, 'alibaba_v2023_openb_node_list_gpu_node.csv'), 'utf8')).filter((_, i) => i % 8 === 0);
    const [withHolds, withoutHolds, firstFit, easy] = replay(overloaded, every8th, { schedulers: ['engine', 'engine-no-holds', 'first-fit-backfill', 'easy-backfill'] });
    expect(withHolds!.multiGpu.jobs).toBeGreaterThan(50);
    expect(withHolds!.waitP95Sec).toBeLessThan(firstFit!.waitP95Sec);
    expect(withHolds!.gpuUtilization).toBeGreaterThanOrEqual(firstFit!.gpuUtilization);
    expect(withHolds!.multiGpu.waitMaxSec).toBeLessThan(easy!.multiGpu.waitMaxSec);
    expect(withHolds!.multiGpu.waitP95Sec).toBeLessThan(withoutHolds!.multiGpu.waitP95Sec);
  });
});
