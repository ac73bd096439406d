/**
 * Matching engine benchmark (`npm run bench:matching [-- --nodes N --jobs N --scan-jobs N --quality-instances N --set PATH=NUMBER ...]`).
 * `--set` changes one numeric engine setting, as the trace replay's does (`--set weights.reservedLiquidity=0`).
 *
 * 1. Routing: N nodes (default 100,000) and M jobs (default 200,000; the issue's 1,000,000 with --jobs) of a realistic mix through
 *    the indexed engine on one core, one routing decision at a time (submit, matchPending(t, 1),
 *    and a job that cannot be placed right now is withdrawn and counted as waiting). Matched jobs
 *    release their GPUs after a fixed number of later arrivals, so the market stays ~busy.
 *    Reports p50/p99/max per decision and matches/s.
 * 2. The same nodes and the first S jobs (default 500) through the plain full-scan scorer in the
 *    same run, against the indexed engine's figures on the same S jobs: speed ratio, and whether
 *    both chose the same node for every job.
 * 3. Quality: random 200 jobs × 200 single-GPU nodes; the engine's total score against the optimal
 *    assignment of the same score matrix (Hungarian algorithm, munkres-js).
 * Prints the figures and, last, one JSON line with all of them.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  DEFAULT_ENGINE_CONFIG,
  MatchingEngine,
  type EngineConfig,
  type JobSpec,
  type NodeSpec,
} from '@starminer/matching';
import { numberOption } from '../cli-options';
import { engineConfigWith } from '../trace-replay/replay';
import { CATEGORY_MIX, jobSource, LATENCY_MIX, nodeSource, pick, REGIONS, URGENCY_MIX, weighted } from './market-mix';
// the same seeded PRNG as the trace generator, so every run sees the same market
import { seededRandom as rng } from '@starminer/testing';

// munkres-js ships no types: computeMunkres(costMatrix) -> [row, col][]
// eslint-disable-next-line @typescript-eslint/no-require-imports
const munkres: (cost: number[][]) => [number, number][] = require('munkres-js');

const WEI = 10n ** 18n;
const NODES_DEFAULT = 100_000;
/**
 * The issue asks for 1,000,000 jobs; on this shared 2-core machine that takes ~10 minutes, so the
 * default is 200,000 and `--jobs 1000000` runs the full figure.
 */
const JOBS_DEFAULT = 200_000;
const SCAN_JOBS_DEFAULT = 500;
const QUALITY_INSTANCES_DEFAULT = 10;
const WARMUP_JOBS = 5_000;
const QUALITY_SIZE = 200;
/** a matched job releases its GPUs after this many later arrivals (steady-state load) */
const LIFETIME_ARRIVALS = 60_000;
const ARRIVAL_GAP_MS = 1;

const OPTIONS = {
  nodes: { type: 'string' },
  jobs: { type: 'string' },
  'scan-jobs': { type: 'string' },
  'quality-instances': { type: 'string' },
  set: { type: 'string', multiple: true },
} as const;


function makeNodes(count: number, seed: number): NodeSpec[] {
  const next = nodeSource(seed, 6);
  return Array.from({ length: count }, (_, i) => next(i));
}


function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface RoutingRun {
  decisions: number;
  matched: number;
  waiting: number;
  micros: Float64Array;
  /** process CPU time per decision (user + system): robust to other processes on a shared machine */
  cpuMicros: Float64Array;
  wallSec: number;
  chosen: string[];
  /** per decision: 1 when matched */
  matchedFlags: Uint8Array;
}

/** Route `jobs` jobs one decision at a time; optionally record the chosen node of the first `record` jobs. */
function routeAll(engine: MatchingEngine, jobs: number, record: number, seed: number, progress: boolean): RoutingRun {
  const next = jobSource(seed, 7);
  const micros = new Float64Array(jobs);
  const cpuMicros = new Float64Array(jobs);
  const releaseAt: (string | undefined)[] = new Array(LIFETIME_ARRIVALS).fill(undefined);
  const chosen: string[] = [];
  const matchedFlags = new Uint8Array(jobs);
  let matched = 0;
  const start = performance.now();
  for (let i = 0; i < jobs; i++) {
    const atMs = i * ARRIVAL_GAP_MS;
    const slot = i % LIFETIME_ARRIVALS;
    const due = releaseAt[slot];
    if (due !== undefined) {
      engine.release(due, atMs);
      releaseAt[slot] = undefined;
    }
    if (i > 0 && atMs % DEFAULT_ENGINE_CONFIG.pricing.repriceIntervalMs === 0) engine.repriceTick(atMs);
    const job = next(i, atMs);
    engine.submitJob(job);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const [m] = engine.matchPending(atMs, 1);
    micros[i] = (performance.now() - t0) * 1000;
    const c1 = process.cpuUsage(c0);
    cpuMicros[i] = c1.user + c1.system;
    if (m) {
      matched++;
      matchedFlags[i] = 1;
      releaseAt[slot] = m.jobId;
    } else engine.cancelJob(job.jobId);
    if (i < record) chosen.push(m ? `${m.nodeId}/${m.gpuCount}/${m.quote.costWei}` : '-');
    if (progress && (i + 1) % 200_000 === 0) process.stderr.write(`  ${i + 1} decisions…\n`);
  }
  const wallSec = (performance.now() - start) / 1000;
  return { decisions: jobs, matched, waiting: jobs - matched, micros, cpuMicros, wallSec, chosen, matchedFlags };
}

function stats(micros: Float64Array) {
  const sorted = Float64Array.from(micros).sort();
  const sum = sorted.reduce((s, x) => s + x, 0);
  return { p50Us: percentile(sorted, 50), p99Us: percentile(sorted, 99), maxUs: sorted[sorted.length - 1] ?? NaN, meanUs: sum / sorted.length };
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Quality on one random instance: engine total score vs the Hungarian optimum of the same scores. */
function qualityInstance(seed: number, cfg: EngineConfig) {
  const r = rng(seed);
  const engine = new MatchingEngine(cfg);
  const models = ['T4', 'A10', 'RTX4090', 'A100', 'H100'];
  const vram: Record<string, number> = { T4: 16, A10: 24, RTX4090: 24, A100: 80, H100: 80 };
  const regions = REGIONS.slice(0, 4);
  for (let i = 0; i < QUALITY_SIZE; i++) {
    const gpuModel = pick(r, models);
    engine.upsertNode(
      {
        nodeId: `q-${String(i).padStart(3, '0')}`,
        providerAddress: '0x01',
        gpuModel,
        gpuCount: 1,
        vramGiB: vram[gpuModel]!,
        region: pick(r, regions),
        latencyMs: Math.round(5 + r() * 245),
        tee: r() < 0.2,
        carbonGPerKwh: Math.round(r() * 800),
        renewableShare: r(),
        benchmarkScore: Math.round(50 + r() * 250),
        reputation: r(),
        stakeWei: 0n,
        online: true,
      },
      0,
    );
  }
  const jobs: JobSpec[] = [];
  for (let j = 0; j < QUALITY_SIZE; j++) {
    jobs.push({
      jobId: `qj-${String(j).padStart(3, '0')}`,
      category: weighted(r, CATEGORY_MIX),
      budgetWei: 100n * WEI,
      urgency: weighted(r, URGENCY_MIX),
      latencyPreference: weighted(r, LATENCY_MIX),
      requirements: {
        gpuModels: r() < 0.5 ? [] : [pick(r, models), pick(r, models)],
        gpuCount: 1,
        minVramGiB: r() < 0.2 ? 24 : 0,
        tee: r() < 0.1,
        regions: r() < 0.6 ? [] : [pick(r, regions), pick(r, regions)],
      },
      expectedRuntimeSec: Math.round(600 + r() * 4 * 3600),
      green: r() < 0.3,
      submittedAtMs: j,
    });
  }
  // score matrix of the initial market (single-GPU nodes: a pair's score does not depend on the rest)
  const index = new Map<string, number>();
  for (let i = 0; i < QUALITY_SIZE; i++) index.set(`q-${String(i).padStart(3, '0')}`, i);
  const score: (number | null)[][] = jobs.map((job) => {
    const row: (number | null)[] = new Array(QUALITY_SIZE).fill(null);
    for (const c of engine.candidates(job, QUALITY_SIZE)) row[index.get(c.nodeId)!] = c.score.total;
    return row;
  });
  for (const job of jobs) engine.submitJob(job);
  const matches = engine.matchPending(QUALITY_SIZE, QUALITY_SIZE);
  // the engine's assignment valued with the same matrix (headroom moves as nodes fill; the optimum is taken on the initial scores)
  const jobIndex = new Map(jobs.map((j, i) => [j.jobId, i]));
  const engineTotal = matches.reduce((s, m) => s + (score[jobIndex.get(m.jobId)!]![index.get(m.nodeId)!] ?? 0), 0);
  // Hungarian: maximise total score; infeasible pairs cost more than leaving both unassigned
  const big = 1e6;
  const cost = score.map((row) => row.map((s) => (s === null ? big : 10 - s)));
  let optimalTotal = 0;
  let optimalMatched = 0;
  for (const [j, n] of munkres(cost)) {
    const s = score[j]![n];
    if (s !== null && s !== undefined) {
      optimalTotal += s;
      optimalMatched++;
    }
  }
  return { engineTotal, optimalTotal, engineMatched: matches.length, optimalMatched };
}

function main(): void {
  const { values } = parseArgs({ options: OPTIONS });
  const nodeCount = numberOption(values, 'nodes', NODES_DEFAULT, { min: 1, max: 10_000_000 });
  const jobCount = numberOption(values, 'jobs', JOBS_DEFAULT, { min: 1, max: 100_000_000 });
  const scanJobs = Math.min(numberOption(values, 'scan-jobs', SCAN_JOBS_DEFAULT, { min: 0, max: 1_000_000 }), jobCount);
  const qualityInstances = numberOption(values, 'quality-instances', QUALITY_INSTANCES_DEFAULT, { min: 0, max: 1_000 });
  const cfg = engineConfigWith(values.set ?? [], DEFAULT_ENGINE_CONFIG);
  const loadBefore = loadavg()[0]!;
  console.log(`matching benchmark: ${nodeCount} nodes, ${jobCount} jobs (full scan on the first ${scanJobs}), node ${process.version}, ${cfg.engineVersion}${values.set?.length ? `, with ${values.set.join(' ')}` : ''}`);

  const nodes = makeNodes(nodeCount, 42);
  const build = (strategy: 'indexed' | 'full-scan') => {
    const t0 = performance.now();
    const e = new MatchingEngine(cfg, { strategy });
    for (const n of nodes) e.upsertNode(n, 0);
    return { engine: e, loadMs: performance.now() - t0 };
  };
  const totalGpus = nodes.reduce((s, n) => s + n.gpuCount, 0);

  // 2. full scan first (small), then the indexed engine on everything
  const scan = build('full-scan');
  const scanRun = routeAll(scan.engine, scanJobs, scanJobs, 7, false);
  const scanStats = stats(scanRun.micros);
  console.log(`full scan: ${scanJobs} decisions, p50 ${round(scanStats.p50Us)} µs, p99 ${round(scanStats.p99Us)} µs, mean ${round(scanStats.meanUs)} µs`);

  // warm the JIT on a throwaway engine (another job seed), so the measured run starts warm
  routeAll(build('indexed').engine, Math.min(WARMUP_JOBS, jobCount), 0, 99, false);
  const indexed = build('indexed');
  console.log(`indexed: loaded ${nodeCount} nodes (${totalGpus} GPUs) in ${round(indexed.loadMs)} ms`);
  const run = routeAll(indexed.engine, jobCount, scanJobs, 7, true);
  const all = stats(run.micros);
  const cpu = stats(run.cpuMicros);
  const split = (flag: number) => stats(Float64Array.from(run.cpuMicros.filter((_, i) => run.matchedFlags[i] === flag)));
  const cpuMatched = split(1);
  const cpuWaiting = split(0);
  const firstS = stats(run.micros.subarray(0, scanJobs));
  const agree = run.chosen.every((c, i) => c === scanRun.chosen[i]);
  const matchesPerSec = run.matched / run.micros.reduce((s, x) => s + x, 0) * 1e6;
  console.log(
    `indexed: ${jobCount} decisions, matched ${run.matched}, waiting ${run.waiting}; p50 ${round(all.p50Us)} µs, p99 ${round(all.p99Us)} µs, max ${round(all.maxUs)} µs; ` +
      `${Math.round(matchesPerSec)} matches/s (routing time), ${Math.round(run.matched / run.wallSec)} matches/s (wall, with releases and reprices)`,
  );
  console.log(`indexed, CPU time per decision: p50 ${round(cpu.p50Us)} µs, p99 ${round(cpu.p99Us)} µs, max ${round(cpu.maxUs)} µs (load average ${round(loadBefore)} → ${round(loadavg()[0]!)} on ${cpus().length} cores)`);
  console.log(
    `indexed, CPU time split: decisions that matched p50 ${round(cpuMatched.p50Us)} µs, p99 ${round(cpuMatched.p99Us)} µs; ` +
      `decisions left waiting (no node can take the job now) p50 ${round(cpuWaiting.p50Us)} µs, p99 ${round(cpuWaiting.p99Us)} µs`,
  );
  const ratioMean = scanStats.meanUs / firstS.meanUs;
  const ratioP50 = scanStats.p50Us / firstS.p50Us;
  console.log(`speed ratio vs full scan on the same first ${scanJobs} jobs: mean ${round(ratioMean, 1)}×, p50 ${round(ratioP50, 1)}×; same decisions: ${agree}`);

  // 3. quality
  const q = Array.from({ length: qualityInstances }, (_, i) => qualityInstance(1000 + i, cfg));
  const ratios = q.map((x) => x.engineTotal / x.optimalTotal);
  const qualityMean = ratios.reduce((s, x) => s + x, 0) / Math.max(1, ratios.length);
  const qualityMin = Math.min(...ratios);
  console.log(
    `quality: ${qualityInstances} instances of ${QUALITY_SIZE} jobs × ${QUALITY_SIZE} nodes, engine/optimal total score mean ${round(qualityMean, 4)}, min ${round(qualityMin, 4)}; ` +
      `matched engine ${q.reduce((s, x) => s + x.engineMatched, 0)} vs optimal ${q.reduce((s, x) => s + x.optimalMatched, 0)}`,
  );

  const result = {
    bench: 'matching',
    engineVersion: cfg.engineVersion,
    settings: values.set ?? [],
    node: process.version,
    nodes: nodeCount,
    gpus: totalGpus,
    jobs: jobCount,
    matched: run.matched,
    waiting: run.waiting,
    routingP50Us: round(all.p50Us),
    routingP99Us: round(all.p99Us),
    routingMaxUs: round(all.maxUs),
    routingMeanUs: round(all.meanUs),
    routingCpuP50Us: round(cpu.p50Us),
    routingCpuP99Us: round(cpu.p99Us),
    routingCpuMaxUs: round(cpu.maxUs),
    routingCpuMatchedP50Us: round(cpuMatched.p50Us),
    routingCpuMatchedP99Us: round(cpuMatched.p99Us),
    routingCpuWaitingP50Us: round(cpuWaiting.p50Us),
    routingCpuWaitingP99Us: round(cpuWaiting.p99Us),
    loadAverage: round(loadBefore),
    matchesPerSec: Math.round(matchesPerSec),
    matchesPerSecWall: Math.round(run.matched / run.wallSec),
    fullScanJobs: scanJobs,
    fullScanP50Us: round(scanStats.p50Us),
    fullScanP99Us: round(scanStats.p99Us),
    fullScanMeanUs: round(scanStats.meanUs),
    indexedSameJobsMeanUs: round(firstS.meanUs),
    speedRatioMean: round(ratioMean, 1),
    speedRatioP50: round(ratioP50, 1),
    sameDecisionsAsFullScan: agree,
    qualityInstances,
    qualityMean: round(qualityMean, 4),
    qualityMin: round(qualityMin, 4),
  };
  console.log(JSON.stringify(result));
}

main();
