/**
 * `npm run bench:placement -- [--seeds 1,2,3] [--jobs N] [--load L] [--traces DIR] [--set PATH=NUMBER ...]`:
 * placement quality under load, issue 12's "done when". Replays, through the engine and the
 * baselines measured in the same run:
 * - the Alibaba 2023 trace (gpu_spec variant: a third of the pods constrained to GPU models) at
 *   three loads: every 8th node with arrivals 100× faster (overload), every 16th node 100× faster
 *   (heavy overload), every 16th node 50× faster;
 * - generated traces of the three shapes (philly, helios, alibaba) for each seed (N jobs, load L).
 * For each it prints the engine against first-fit backfilling (p95 wait, utilization) and EASY
 * backfilling (longest wait of 2+ GPU pods), says which of the three it wins, and ends with one
 * JSON line. Figures: docs/BENCHMARKS.md, "Placement quality under load".
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { numberOption } from '../cli-options';
import { GENERATE_LIMITS, generateTrace, SHAPES } from './generator';
import { engineConfigWith, parseNodes, parsePods, replay, scaleArrivals, type SchedulerReport, type TraceNode, type TracePod } from './replay';

interface Scenario {
  name: string;
  pods: TracePod[];
  nodes: TraceNode[];
}

export interface PlacementVerdict {
  scenario: string;
  engine: SchedulerReport;
  firstFit: SchedulerReport;
  easy: SchedulerReport;
  lowerP95: boolean;
  noLowerUtilization: boolean;
  lowerMultiGpuMax: boolean;
}

/** The engine against first-fit backfilling (p95, utilization) and EASY backfilling (2+ GPU max wait) on one trace. */
export function judge(s: Scenario, sets: readonly string[] = []): PlacementVerdict {
  const [engine] = replay(s.pods, s.nodes, { schedulers: ['engine'], config: engineConfigWith(sets) });
  const [firstFit, easy] = replay(s.pods, s.nodes, { schedulers: ['first-fit-backfill', 'easy-backfill'] });
  return {
    scenario: s.name,
    engine: engine!,
    firstFit: firstFit!,
    easy: easy!,
    lowerP95: engine!.waitP95Sec < firstFit!.waitP95Sec,
    noLowerUtilization: engine!.gpuUtilization >= firstFit!.gpuUtilization,
    lowerMultiGpuMax: engine!.multiGpu.waitMaxSec < easy!.multiGpu.waitMaxSec,
  };
}

/** The Alibaba trace at the three loads of the table (every k-th node, arrivals x times faster). */
export function alibabaScenarios(tracesDir: string): Scenario[] {
  const { pods } = parsePods(readFileSync(join(tracesDir, 'alibaba_v2023_openb_pod_list_gpuspec33.csv'), 'utf8'));
  const nodes = parseNodes(readFileSync(join(tracesDir, 'alibaba_v2023_openb_node_list_gpu_node.csv'), 'utf8'));
  return [
    [8, 100],
    [16, 100],
    [16, 50],
  ].map(([every, speedup]) => ({
    name: `alibaba-v2023 gpuspec33, every ${every}th node, x${speedup}`,
    pods: scaleArrivals(pods, speedup!),
    nodes: nodes.filter((_, i) => i % every! === 0),
  }));
}

function main(): void {
  const { values } = parseArgs({
    options: { seeds: { type: 'string' }, jobs: { type: 'string' }, load: { type: 'string' }, traces: { type: 'string' }, set: { type: 'string', multiple: true } },
  });
  const seeds = (values.seeds ?? '1,2,3').split(',').map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) throw new Error(`--seeds takes integers (got ${x})`);
    return n;
  });
  const jobs = numberOption(values, 'jobs', 10_000, { min: 1, max: GENERATE_LIMITS.jobsMax });
  const load = numberOption(values, 'load', 1.1, { min: GENERATE_LIMITS.loadMin, max: GENERATE_LIMITS.loadMax, integer: false });
  const tracesDir = values.traces ?? join(__dirname, '../../../shared/data/traces');
  const sets = values.set ?? [];
  const t0 = performance.now();
  const scenarios: Scenario[] = [];
  if (existsSync(join(tracesDir, 'alibaba_v2023_openb_pod_list_gpuspec33.csv'))) scenarios.push(...alibabaScenarios(tracesDir));
  else console.log(`bench:placement: no Alibaba trace in ${tracesDir}: generated traces only`);
  for (const seed of seeds)
    for (const shape of SHAPES) {
      const trace = generateTrace({ shape, jobs, seed, load });
      scenarios.push({ name: `${shape}, ${jobs} jobs, seed ${seed}, load ${load}`, pods: parsePods(trace.podsCsv).pods, nodes: parseNodes(trace.nodesCsv) });
    }
  const verdicts = scenarios.map((s) => judge(s, sets));
  const mark = (ok: boolean) => (ok ? 'wins' : 'LOSES');
  for (const v of verdicts) {
    const e = v.engine;
    console.log(
      `${v.scenario}\n  p95 wait ${e.waitP95Sec.toFixed(0)} s vs first-fit backfilling ${v.firstFit.waitP95Sec.toFixed(0)} s (${mark(v.lowerP95)}); ` +
        `utilization ${(e.gpuUtilization * 100).toFixed(2)} % vs ${(v.firstFit.gpuUtilization * 100).toFixed(2)} % (${v.noLowerUtilization ? 'no lower' : 'LOWER'}); ` +
        `2+ GPU max wait ${e.multiGpu.waitMaxSec.toFixed(0)} s vs EASY ${v.easy.multiGpu.waitMaxSec.toFixed(0)} s (${mark(v.lowerMultiGpuMax)}); ` +
        `engine p50/p99/max ${e.waitP50Sec.toFixed(0)}/${e.waitP99Sec.toFixed(0)}/${e.waitMaxSec.toFixed(0)} s, never placed ${e.neverPlaced}`,
    );
  }
  const all = verdicts.filter((v) => v.lowerP95 && v.noLowerUtilization && v.lowerMultiGpuMax).length;
  console.log(`all three won on ${all} of ${verdicts.length} traces (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  console.log(
    JSON.stringify({
      bench: 'placement',
      seeds,
      jobs,
      load,
      sets,
      allThreeWon: all,
      traces: verdicts.map((v) => ({
        scenario: v.scenario,
        lowerP95: v.lowerP95,
        noLowerUtilization: v.noLowerUtilization,
        lowerMultiGpuMax: v.lowerMultiGpuMax,
        engine: { p95: v.engine.waitP95Sec, utilization: v.engine.gpuUtilization, multiGpuMax: v.engine.multiGpu.waitMaxSec, max: v.engine.waitMaxSec },
        firstFitBackfill: { p95: v.firstFit.waitP95Sec, utilization: v.firstFit.gpuUtilization },
        easyBackfill: { multiGpuMax: v.easy.multiGpu.waitMaxSec },
      })),
    }),
  );
}

if (require.main === module) main();
