/**
 * `npm run bench:replay -- [--shape philly|helios|alibaba] [--jobs N] [--seed S] [--load L] [--schedulers a,b]`:
 * the replay's speed. Generates a seeded trace (default 100,000 alibaba-shaped pods at load 1.1)
 * and replays it through each scheduler, printing the seconds each took and the total; the target
 * is a 100,000-pod trace in under 5 minutes. Figures: docs/BENCHMARKS.md, "Trace replay".
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { numberOption } from '../cli-options';
import { GENERATE_LIMITS, generateTrace, SHAPES, type TraceShape } from './generator';
import { parseNodes, parsePods, replay, SCHEDULERS, type SchedulerName } from './replay';

const TARGET_SEC = 300;

function main(): void {
  const { values } = parseArgs({ options: { shape: { type: 'string' }, jobs: { type: 'string' }, seed: { type: 'string' }, load: { type: 'string' }, schedulers: { type: 'string' } } });
  const shape = (values.shape ?? 'alibaba') as TraceShape;
  if (!SHAPES.includes(shape)) throw new Error(`--shape must be one of ${SHAPES.join(', ')}`);
  const jobs = numberOption(values, 'jobs', 100_000, { min: 1, max: GENERATE_LIMITS.jobsMax });
  const seed = numberOption(values, 'seed', 1, { min: 0, max: 2 ** 32 - 1 });
  const load = numberOption(values, 'load', 1.1, { min: GENERATE_LIMITS.loadMin, max: GENERATE_LIMITS.loadMax, integer: false });
  const schedulers = (values.schedulers?.split(',') ?? SCHEDULERS) as SchedulerName[];
  const bad = schedulers.filter((s) => !SCHEDULERS.includes(s));
  if (bad.length) throw new Error(`unknown scheduler ${bad.join(', ')}: pick among ${SCHEDULERS.join(', ')}`);

  const t0 = performance.now();
  const trace = generateTrace({ shape, jobs, seed, load });
  const { pods } = parsePods(trace.podsCsv);
  const nodes = parseNodes(trace.nodesCsv);
  const prepSec = (performance.now() - t0) / 1000;
  console.log(`bench:replay: ${jobs} ${shape} pods (seed ${seed}, load ${load}) on ${nodes.length} nodes / ${nodes.reduce((s, n) => s + n.gpus, 0)} GPUs; generated and parsed in ${prepSec.toFixed(1)} s`);
  let total = prepSec;
  for (const s of schedulers) {
    const [r] = replay(pods, nodes, { schedulers: [s] });
    total += r!.replaySec;
    console.log(`${s.padEnd(20)} replayed in ${r!.replaySec.toFixed(1).padStart(7)} s  (wait p95 ${r!.waitP95Sec.toFixed(0)} s, utilization ${(r!.gpuUtilization * 100).toFixed(1)} %, never placed ${r!.neverPlaced})`);
  }
  console.log(`total ${total.toFixed(1)} s for ${schedulers.length} schedulers: ${total < TARGET_SEC ? 'under' : 'OVER'} the ${TARGET_SEC} s target`);
}

main();
