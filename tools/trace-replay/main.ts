/**
 * Trace replay (`npm run trace-replay -- --pods FILE --nodes FILE [--start I] [--limit N] [--node-every K] [--speedup X]
 * [--map-model FROM=TO ...] [--schedulers a,b,...] [--set PATH=NUMBER ...] [--staked-every K]`).
 * --start/--limit take a slice of the pods in arrival order; --node-every K keeps every K-th node;
 * --speedup X divides arrival times by X (runtimes unchanged): a load factor for a lightly loaded trace.
 * --map-model names a GPU model of the trace that the price book lacks (the replay refuses such a
 * trace otherwise); --schedulers picks among the engine, the engine without holds and the baselines;
 * --set changes one numeric engine setting for the replay (queue.runtimeStepMs=0, weights.packFit=0.1).
 * --staked-every K makes every K-th node (after --node-every) a staked pool's node, and prints for the engine
 * the staked share of its matches inside and outside surges (issue 16).
 * Replays a cluster trace in the Alibaba 2023 column format (the real one or one from
 * generate.ts) in simulated time; prints p50/p95/p99/max wait, GPU utilization, 2+ GPU waits and
 * pods never placed for each scheduler, with its replay time, then one JSON line.
 * Data: ../shared/data/traces/ (Alibaba cluster-trace-gpu-v2023; cite Weng et al., ATC '23).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { numberOption } from '../cli-options';
import { engineConfigWith, mapModels, parseNodes, parsePods, replay, scaleArrivals, SCHEDULERS, type SchedulerName } from './replay';

const USAGE =
  'usage: npm run trace-replay -- --pods FILE --nodes FILE [--start I] [--limit N] [--node-every K] [--speedup X] [--map-model FROM=TO ...] [--schedulers ' +
  SCHEDULERS.join(',') +
  '] [--set PATH=NUMBER ...] [--staked-every K]';

function modelMap(pairs: string[]): Map<string, string> {
  return new Map(
    pairs.map((pair) => {
      const [from, to, ...rest] = pair.split('=');
      if (!from || !to || rest.length) throw new Error(`--map-model takes FROM=TO (got ${pair})`);
      return [from, to];
    }),
  );
}

function schedulersOf(list: string | undefined): SchedulerName[] {
  if (list === undefined) return [...SCHEDULERS];
  const names = list.split(',');
  const bad = names.filter((n) => !(SCHEDULERS as readonly string[]).includes(n));
  if (bad.length) throw new Error(`unknown scheduler ${bad.join(', ')}: pick among ${SCHEDULERS.join(', ')}`);
  return names as SchedulerName[];
}

function main(): void {
  const { values } = parseArgs({
    options: {
      pods: { type: 'string' },
      nodes: { type: 'string' },
      start: { type: 'string' },
      limit: { type: 'string' },
      'node-every': { type: 'string' },
      speedup: { type: 'string' },
      'map-model': { type: 'string', multiple: true },
      schedulers: { type: 'string' },
      set: { type: 'string', multiple: true },
      'staked-every': { type: 'string' },
    },
  });
  const podsFile = values.pods;
  const nodesFile = values.nodes;
  if (!podsFile || !nodesFile) {
    console.error(USAGE);
    process.exit(2);
  }
  const limit = numberOption(values, 'limit', Infinity, { min: 1, max: Number.MAX_SAFE_INTEGER });
  const nodeEvery = numberOption(values, 'node-every', 1, { min: 1, max: 1_000_000 });
  const start = numberOption(values, 'start', 0, { min: 0, max: Number.MAX_SAFE_INTEGER });
  const speedup = numberOption(values, 'speedup', 1, { min: 1e-6, max: 1e6, integer: false });
  const schedulers = schedulersOf(values.schedulers);
  const stakedEvery = values['staked-every'] === undefined ? undefined : numberOption(values, 'staked-every', 1, { min: 1, max: 1_000_000 });
  const { pods: allPods, skippedCpuOnly } = parsePods(readFileSync(podsFile, 'utf8'));
  const sliced = scaleArrivals(allPods.slice(start, Number.isFinite(limit) ? start + limit : allPods.length), speedup);
  const { pods, nodes } = mapModels(
    sliced,
    parseNodes(readFileSync(nodesFile, 'utf8')).filter((_, i) => i % nodeEvery === 0),
    modelMap(values['map-model'] ?? []),
  );
  const gpus = nodes.reduce((s, n) => s + n.gpus, 0);
  console.log(`trace replay: ${pods.length} GPU pods from #${start}, arrivals ×${speedup} faster, (${skippedCpuOnly} CPU-only skipped) on ${nodes.length} nodes / ${gpus} GPUs`);
  const t0 = performance.now();
  const reports = replay(pods, nodes, { schedulers, config: engineConfigWith(values.set ?? []), ...(stakedEvery !== undefined ? { stakedEvery } : {}) });
  for (const r of reports) {
    console.log(
      `${r.scheduler.padEnd(20)} wait p50 ${r.waitP50Sec.toFixed(0).padStart(8)} s  p95 ${r.waitP95Sec.toFixed(0).padStart(9)} s  p99 ${r.waitP99Sec.toFixed(0).padStart(9)} s  max ${r.waitMaxSec.toFixed(0).padStart(9)} s  ` +
        `GPU utilization ${(r.gpuUtilization * 100).toFixed(1)} %  never placed ${r.neverPlaced}/${r.jobs}  ` +
        `| ${r.multiGpu.jobs} pods of 2+ GPUs: p95 ${r.multiGpu.waitP95Sec.toFixed(0)} s, max ${r.multiGpu.waitMaxSec.toFixed(0)} s  | replayed in ${r.replaySec.toFixed(1)} s`,
    );
    const st = r.staked;
    if (st) {
      const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
      console.log(
        `${''.padEnd(20)} staked (every ${st.stakedEvery}th node, ${pct(st.fleetGpuShare)} of GPUs), ${st.surgesStarted} surges started: ` +
          `in surge ${pct(st.inSurge.stakedMatchShare)} of ${st.inSurge.matches} matches (${pct(st.inSurge.stakedGpuShare)} of GPUs placed), ` +
          `outside ${pct(st.outsideSurge.stakedMatchShare)} of ${st.outsideSurge.matches} (${pct(st.outsideSurge.stakedGpuShare)})`,
      );
    }
  }
  console.log(JSON.stringify({ replay: 'alibaba-v2023-columns', podsFile, nodesFile, start, speedup, nodeEvery, stakedEvery, pods: pods.length, nodes: nodes.length, gpus, seconds: Math.round((performance.now() - t0) / 100) / 10, reports }));
}

main();
