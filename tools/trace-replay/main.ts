/**
 * Trace replay (`npm run trace-replay -- --pods FILE --nodes FILE [--start I] [--limit N] [--node-every K] [--speedup X]`).
 * --start/--limit take a slice of the pods in arrival order; --node-every K keeps every K-th node;
 * --speedup X divides arrival times by X (runtimes unchanged): a load factor for a lightly loaded trace.
 * Replays a cluster trace in the Alibaba 2023 column format through the matching engine and
 * through FIFO first-fit in simulated time; prints p50/p95 wait, GPU utilization and jobs never
 * placed for each, then one JSON line. See replay.ts for the modelling choices.
 * Data: ../shared/data/traces/ (Alibaba cluster-trace-gpu-v2023; cite Weng et al., ATC '23).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { numberOption } from '../cli-options';
import { parseNodes, parsePods, replay, scaleArrivals } from './replay';

const USAGE = 'usage: npm run trace-replay -- --pods FILE --nodes FILE [--start I] [--limit N] [--node-every K] [--speedup X]';

function main(): void {
  const { values } = parseArgs({
    options: { pods: { type: 'string' }, nodes: { type: 'string' }, start: { type: 'string' }, limit: { type: 'string' }, 'node-every': { type: 'string' }, speedup: { type: 'string' } },
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
  const { pods: allPods, skippedCpuOnly } = parsePods(readFileSync(podsFile, 'utf8'));
  const pods = scaleArrivals(allPods.slice(start, Number.isFinite(limit) ? start + limit : allPods.length), speedup);
  const nodes = parseNodes(readFileSync(nodesFile, 'utf8')).filter((_, i) => i % nodeEvery === 0);
  const gpus = nodes.reduce((s, n) => s + n.gpus, 0);
  console.log(`trace replay: ${pods.length} GPU pods from #${start}, arrivals ×${speedup} faster, (${skippedCpuOnly} CPU-only skipped) on ${nodes.length} nodes / ${gpus} GPUs`);
  const t0 = performance.now();
  const reports = replay(pods, nodes, { schedulers: ['engine', 'engine-no-holds', 'fifo-strict', 'fifo-skip'] });
  for (const r of reports) {
    console.log(
      `${r.scheduler.padEnd(22)} wait p50 ${r.waitP50Sec.toFixed(0).padStart(8)} s  p95 ${r.waitP95Sec.toFixed(0).padStart(9)} s  max ${r.waitMaxSec.toFixed(0).padStart(9)} s  ` +
        `GPU utilization ${(r.gpuUtilization * 100).toFixed(1)} %  placed ${r.placed}/${r.jobs}  never placed ${r.neverPlaced}  ` +
        `| ${r.multiGpu.jobs} pods of 2+ GPUs: p95 ${r.multiGpu.waitP95Sec.toFixed(0)} s, max ${r.multiGpu.waitMaxSec.toFixed(0)} s`,
    );
  }
  console.log(JSON.stringify({ replay: 'alibaba-v2023', podsFile, nodesFile, start, speedup, nodeEvery, pods: pods.length, nodes: nodes.length, gpus, seconds: Math.round((performance.now() - t0) / 100) / 10, reports }));
}

main();
