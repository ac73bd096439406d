/**
 * Partitioned matching, a pure simulation (issue 13, item 4): the engine without I/O, many
 * partitions (libs/matching/src/partitions.ts), one process, simulated time (no sleeping).
 *
 * `node --expose-gc --max-old-space-size=10240 -r ./tools/stack/register.cjs tools/bench/partitions.ts
 *   [--nodes N] [--partitions P] [--rate R] [--seconds S] [--pass-ms M] [--lifetime-sec L]
 *   [--patience-ms W] [--baseline-nodes B]`
 *
 * 1. Builds N nodes (default 1,000,000; the supply mix of tools/bench/matching.ts: 17 GPU models,
 *    10 regions, 1/2/4/8 GPUs) into P partitions (default 64), one node at a time (no node list
 *    is kept: the engines hold the only copy), and measures heap and RSS per node.
 * 2. Drives R jobs/s (default 10,000) of simulated arrivals for S simulated seconds (default 10):
 *    every M simulated ms (default 10) the jobs of that slice arrive (intake's admission check,
 *    then `submitJob`: routed to a home partition), every partition runs its share of the pass
 *    (`matchPartition`, at most MAX_MATCHES_PER_PARTITION_PASS), then due jobs spill (`endPass`).
 *    A matched job frees its GPUs after a simulated run of 0.5-1.5 × L s (default 5); a job still
 *    queued W simulated ms after it arrived (default 1,000) is cancelled by its requester.
 * 3. Baseline in the same run, first (after a throwaway warm-up run for the JIT): 1 partition
 *    over the first B nodes (default 100,000) of the same fleet, at R × B / N jobs/s (the same
 *    load per node).
 *
 * A decision is one placement (a job matched: its GPUs reserved). Latency is measured per
 * `matchPartition` call (one partition's share of a pass) and per decision (a call's time over its
 * matches, one figure per call that matched); the router's cost per job is `submitJob` timed alone.
 * Decisions/s per partition = its matches / the time spent in its own calls (wall, and process
 * CPU time, which other processes on a shared machine do not inflate): what a replica that runs
 * that partition alone reaches (over the partitions that matched at least once: with ~170 markets,
 * a partition count near or above that leaves partitions without a market). Per-call latency
 * counts the calls of partitions that hold nodes. Prints the figures and, last, one JSON line.
 * `--partitions 1 --baseline-nodes 0` runs the same fleet and load unpartitioned.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DEFAULT_ENGINE_CONFIG, PartitionedMarket } from '@starminer/matching';
import { seededRandom as rng } from '@starminer/testing';
import { numberOption } from '../cli-options';
import { jobSource, nodeSource } from './market-mix';

const MIB = 1024 * 1024;
const NODES_DEFAULT = 1_000_000;
/** ~10 GiB of heap holds about this many nodes, with room for the run */
const NODES_MAX = 2_000_000;
const PARTITIONS_DEFAULT = 64;
const RATE_DEFAULT = 10_000;
const RATE_MAX = 100_000;
const SECONDS_DEFAULT = 10;
const SECONDS_MAX = 60;
const PASS_MS_DEFAULT = 10;
const LIFETIME_SEC_DEFAULT = 5;
const PATIENCE_MS_DEFAULT = 1_000;
const BASELINE_NODES_DEFAULT = 100_000;
/** a partition's share of one pass places at most this many jobs (the service's round size) */
const MAX_MATCHES_PER_PARTITION_PASS = 1_024;
const WARMUP_NODES = 20_000;
const WARMUP_PARTITIONS = 4;
const WARMUP_RATE = 2_000;
const WARMUP_SECONDS = 2;
const NODE_SEED = 42;
const JOB_SEED = 7;

const OPTIONS = {
  nodes: { type: 'string' },
  partitions: { type: 'string' },
  rate: { type: 'string' },
  seconds: { type: 'string' },
  'pass-ms': { type: 'string' },
  'lifetime-sec': { type: 'string' },
  'patience-ms': { type: 'string' },
  'baseline-nodes': { type: 'string' },
} as const;


const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const sortedOf = (xs: ArrayLike<number>, n = xs.length): Float64Array => Float64Array.from({ length: n }, (_, i) => xs[i]!).sort();
const spread = (xs: ArrayLike<number>) => {
  const s = sortedOf(xs);
  return { min: s[0] ?? NaN, median: percentile(s, 50), max: s[s.length - 1] ?? NaN };
};
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const heapUsed = (): number => {
  gc();
  return process.memoryUsage().heapUsed;
};

interface Settings {
  nodes: number;
  partitions: number;
  rate: number;
  seconds: number;
  passMs: number;
  lifetimeSec: number;
  patienceMs: number;
}

/** A growable Float64Array (latency samples without boxing). */
class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;
  push(x: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = x;
  }
  stats() {
    const s = sortedOf(this.data, this.length);
    return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN };
  }
}

function simulate(s: Settings, label: string, log = true) {
  const heapBefore = heapUsed();
  const market = new PartitionedMarket(DEFAULT_ENGINE_CONFIG, s.partitions);
  const nextNode = nodeSource(NODE_SEED, 7);
  const nodesPerPartition = new Float64Array(s.partitions);
  let gpus = 0;
  const b0 = performance.now();
  for (let i = 0; i < s.nodes; i++) {
    const node = nextNode(i);
    market.upsertNode(node, 0);
    nodesPerPartition[market.partitionOfNode(node.nodeId)!]!++;
    gpus += node.gpuCount;
    if (log && (i + 1) % 250_000 === 0) process.stderr.write(`  ${label}: ${i + 1} nodes…\n`);
  }
  const buildSec = (performance.now() - b0) / 1000;
  const heapAfterBuild = heapUsed();
  const rssAfterBuild = process.memoryUsage().rss;
  const bytesPerNode = (heapAfterBuild - heapBefore) / s.nodes;
  if (log) {
    console.log(
      `${label}: built ${s.nodes} nodes (${gpus} GPUs) into ${s.partitions} partition(s) in ${round(buildSec, 1)} s; heap ${round(heapAfterBuild / MIB, 0)} MiB, ` +
        `RSS ${round(rssAfterBuild / MIB, 0)} MiB, ${round(bytesPerNode, 0)} heap bytes per node${(globalThis as { gc?: unknown }).gc ? '' : ' (no --expose-gc: heap not collected before measuring)'}`,
    );
  }

  const passes = Math.ceil((s.seconds * 1000) / s.passMs);
  const nextJob = jobSource(JOB_SEED, 8);
  const releaseAt: string[][] = Array.from({ length: passes + 1 }, () => []);
  const giveUpAt: string[][] = Array.from({ length: passes + 1 }, () => []);
  const lifetime = rng(JOB_SEED + 1);
  const busyMs = new Float64Array(s.partitions);
  /** process CPU time (user + system) in each partition's calls: robust to other processes on a shared machine */
  const busyCpuUs = new Float64Array(s.partitions);
  const matchesOf = new Float64Array(s.partitions);
  const callUs = new Samples();
  const decisionUs = new Samples();
  const submitUs = new Samples();
  const waitMs = new Samples();
  let submitted = 0;
  let refused = 0;
  let matched = 0;
  let expired = 0;
  let spillUsTotal = 0;
  let arrived = 0;
  const loadBefore = loadavg()[0]!;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let pass = 0; pass < passes; pass++) {
    // pass p runs at the end of its slice [p × passMs, (p + 1) × passMs), whose jobs arrive first
    const sliceMs = pass * s.passMs;
    const atMs = sliceMs + s.passMs;
    for (const jobId of releaseAt[pass]!) market.release(jobId, atMs);
    for (const jobId of giveUpAt[pass]!) if (market.cancelJob(jobId)) expired++;
    // the slice's arrivals, spread evenly over it
    const due = Math.round((s.rate * atMs) / 1000) - arrived;
    for (let k = 0; k < due; k++) {
      const job = nextJob(arrived, sliceMs + Math.floor((k * s.passMs) / due));
      arrived++;
      if (!market.engine(0).checkAdmissible(job).ok) {
        refused++; // intake refuses it: config-only checks, the same in every partition
        continue;
      }
      const c = performance.now();
      market.submitJob(job);
      submitUs.push((performance.now() - c) * 1000);
      submitted++;
      const at = pass + Math.ceil(s.patienceMs / s.passMs);
      if (at <= passes) giveUpAt[at]!.push(job.jobId);
    }
    for (let p = 0; p < s.partitions; p++) {
      const c = performance.now();
      const cpuAt = process.cpuUsage();
      const ms = market.matchPartition(p, atMs, MAX_MATCHES_PER_PARTITION_PASS);
      const cpuUsed = process.cpuUsage(cpuAt);
      const dt = performance.now() - c;
      busyMs[p]! += dt;
      busyCpuUs[p]! += cpuUsed.user + cpuUsed.system;
      if (nodesPerPartition[p]! > 0) callUs.push(dt * 1000); // a partition holding no market is no replica
      if (ms.length === 0) continue;
      matchesOf[p]! += ms.length;
      matched += ms.length;
      decisionUs.push((dt * 1000) / ms.length);
      for (const m of ms) {
        waitMs.push(atMs - m.submittedAtMs);
        const runPasses = Math.ceil(((0.5 + lifetime()) * s.lifetimeSec * 1000) / s.passMs);
        if (pass + runPasses <= passes) releaseAt[pass + runPasses]!.push(m.jobId);
      }
    }
    const c = performance.now();
    market.endPass();
    spillUsTotal += (performance.now() - c) * 1000;
    if (atMs > 0 && atMs % DEFAULT_ENGINE_CONFIG.pricing.repriceIntervalMs === 0) market.repriceTick(atMs);
  }
  const wallSec = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const counts = market.counts();
  const perPartitionRate = Array.from(busyMs, (ms, p) => (ms > 0 && matchesOf[p]! > 0 ? matchesOf[p]! / (ms / 1000) : NaN)).filter((x) => !Number.isNaN(x));
  const rates = spread(perPartitionRate);
  const cpuRates = spread(Array.from(busyCpuUs, (us, p) => (us > 0 && matchesOf[p]! > 0 ? matchesOf[p]! / (us / 1e6) : NaN)).filter((x) => !Number.isNaN(x)));
  const busiestSec = Math.max(...busyMs) / 1000;
  const engineSec = busyMs.reduce((a, b) => a + b, 0) / 1000;
  const usedGpus = Array.from({ length: s.partitions }, (_, p) => [...market.engine(p).allMarkets()].reduce((a, m) => a + m.usedGpus, 0)).reduce((a, b) => a + b, 0);
  const call = callUs.stats();
  const decision = decisionUs.stats();
  const submit = submitUs.stats();
  const wait = waitMs.stats();
  const mem = process.memoryUsage();
  // spreads over the partitions that hold nodes (the replicas there would be)
  const nodeSpread = spread(nodesPerPartition.filter((n) => n > 0));
  const matchSpread = spread(matchesOf.filter((_, p) => nodesPerPartition[p]! > 0));
  const result = {
    nodes: s.nodes,
    gpus,
    partitions: s.partitions,
    partitionsWithNodes: nodesPerPartition.filter((n) => n > 0).length,
    nodesPerPartitionMin: nodeSpread.min,
    nodesPerPartitionMedian: nodeSpread.median,
    nodesPerPartitionMax: nodeSpread.max,
    rate: s.rate,
    simulatedSec: s.seconds,
    passMs: s.passMs,
    lifetimeSec: s.lifetimeSec,
    patienceMs: s.patienceMs,
    arrived,
    refusedAtIntake: refused,
    submitted,
    matched,
    matchedShare: round(matched / Math.max(1, submitted), 4),
    expired,
    queuedAtEnd: counts.queued,
    spills: counts.spills,
    usedGpusAtEnd: usedGpus,
    buildSec: round(buildSec, 1),
    wallSec: round(wallSec, 2),
    cpuSec: round((cpu.user + cpu.system) / 1e6, 2),
    decisionsPerSecWall: Math.round(matched / wallSec),
    decisionsPerSecEngine: Math.round(matched / engineSec),
    decisionsPerSecPerPartitionMin: Math.round(rates.min),
    decisionsPerSecPerPartitionMedian: Math.round(rates.median),
    decisionsPerSecPerPartitionMax: Math.round(rates.max),
    decisionsPerSecPerPartitionCpuMin: Math.round(cpuRates.min),
    decisionsPerSecPerPartitionCpuMedian: Math.round(cpuRates.median),
    decisionsPerSecPerPartitionCpuMax: Math.round(cpuRates.max),
    matchesPerPartitionMin: matchSpread.min,
    matchesPerPartitionMedian: matchSpread.median,
    matchesPerPartitionMax: matchSpread.max,
    busiestPartitionSec: round(busiestSec, 2),
    callP50Us: round(call.p50),
    callP99Us: round(call.p99),
    callMaxUs: round(call.max),
    decisionP50Us: round(decision.p50),
    decisionP99Us: round(decision.p99),
    submitP50Us: round(submit.p50),
    submitP99Us: round(submit.p99),
    spillSec: round(spillUsTotal / 1e6, 3),
    waitP50Ms: wait.p50,
    waitP99Ms: wait.p99,
    heapMiBAfterBuild: round(heapAfterBuild / MIB, 0),
    heapMiBAtEnd: round(mem.heapUsed / MIB, 0),
    rssMiBAtEnd: round(mem.rss / MIB, 0),
    heapBytesPerNode: Math.round(bytesPerNode),
    loadAverage: round(loadBefore),
  };
  if (!log) return { market, result };
  console.log(
    `${label}: ${arrived} jobs arrived over ${s.seconds} simulated s (${refused} refused at intake), ${matched} matched (${round(result.matchedShare * 100, 1)} % of submitted), ` +
      `${expired} given up after ${s.patienceMs} ms, ${counts.queued} queued at the end, ${counts.spills} spills; ${usedGpus} of ${gpus} GPUs busy at the end`,
  );
  console.log(
    `${label}: ${round(wallSec, 1)} s wall (${result.cpuSec} s CPU): ${result.decisionsPerSecWall} decisions/s wall (everything), ${result.decisionsPerSecEngine} decisions/s in the engines; ` +
      `per partition ${result.decisionsPerSecPerPartitionMin} / ${result.decisionsPerSecPerPartitionMedian} / ${result.decisionsPerSecPerPartitionMax} decisions/s (min / median / max; on CPU time ` +
      `${result.decisionsPerSecPerPartitionCpuMin} / ${result.decisionsPerSecPerPartitionCpuMedian} / ${result.decisionsPerSecPerPartitionCpuMax}), ` +
      `${result.partitionsWithNodes} partitions hold nodes, and among them matches per partition ${matchSpread.min} / ${matchSpread.median} / ${matchSpread.max}, nodes per partition ${nodeSpread.min} / ${nodeSpread.median} / ${nodeSpread.max}; ` +
      `the busiest partition spent ${round(busiestSec, 2)} s in its calls for ${s.seconds} simulated s`,
  );
  console.log(
    `${label}: per call (one partition's share of a pass) p50 ${result.callP50Us} µs, p99 ${result.callP99Us} µs, max ${result.callMaxUs} µs; per decision p50 ${result.decisionP50Us} µs, p99 ${result.decisionP99Us} µs; ` +
      `router submit p50 ${result.submitP50Us} µs, p99 ${result.submitP99Us} µs; spills ${result.spillSec} s in all; simulated wait p50 ${wait.p50} ms, p99 ${wait.p99} ms`,
  );
  return { market, result };
}

function main(): void {
  const { values } = parseArgs({ options: OPTIONS });
  const settings: Settings = {
    nodes: numberOption(values, 'nodes', NODES_DEFAULT, { min: 1, max: NODES_MAX }),
    partitions: numberOption(values, 'partitions', PARTITIONS_DEFAULT, { min: 1, max: 1_024 }),
    rate: numberOption(values, 'rate', RATE_DEFAULT, { min: 1, max: RATE_MAX }),
    seconds: numberOption(values, 'seconds', SECONDS_DEFAULT, { min: 1, max: SECONDS_MAX }),
    passMs: numberOption(values, 'pass-ms', PASS_MS_DEFAULT, { min: 1, max: 1_000 }),
    lifetimeSec: numberOption(values, 'lifetime-sec', LIFETIME_SEC_DEFAULT, { min: 0.01, max: 3_600, integer: false }),
    patienceMs: numberOption(values, 'patience-ms', PATIENCE_MS_DEFAULT, { min: 1, max: 600_000 }),
  };
  const baselineNodes = Math.min(settings.nodes, numberOption(values, 'baseline-nodes', BASELINE_NODES_DEFAULT, { min: 0, max: NODES_MAX }));
  console.log(
    `partitioned matching simulation: ${settings.nodes} nodes, ${settings.partitions} partitions, ${settings.rate} jobs/s for ${settings.seconds} simulated s, a pass every ${settings.passMs} ms; ` +
      `node ${process.version}, ${DEFAULT_ENGINE_CONFIG.engineVersion}, ${cpus().length} cores, load average ${round(loadavg()[0]!)}`,
  );
  // warm the JIT on a throwaway run (the shapes of both runs), so neither measured run starts cold
  simulate({ ...settings, nodes: Math.min(settings.nodes, WARMUP_NODES), partitions: Math.min(settings.partitions, WARMUP_PARTITIONS), rate: WARMUP_RATE, seconds: WARMUP_SECONDS }, 'warm-up', false);
  // baseline first: one partition, a subset of the same fleet, the same load per node
  let baseline: ReturnType<typeof simulate>['result'] | null = null;
  if (baselineNodes > 0) {
    const rate = Math.max(1, Math.round((settings.rate * baselineNodes) / settings.nodes));
    baseline = simulate({ ...settings, nodes: baselineNodes, partitions: 1, rate }, `baseline (1 partition, ${baselineNodes} nodes, ${rate} jobs/s)`).result;
  }
  const { result } = simulate(settings, `partitioned (${settings.partitions} partitions)`);
  const peakRssMiB = round(process.resourceUsage().maxRSS / 1024, 0);
  const ratio = (a: number, b: number | undefined) => (b ? round(a / b, 2) : null);
  console.log(
    `peak RSS ${peakRssMiB} MiB` +
      (baseline
        ? `; against the 1-partition baseline: median partition ${ratio(result.decisionsPerSecPerPartitionMedian, baseline.decisionsPerSecEngine)}× its decisions/s, ` +
          `p99 per decision ${ratio(result.decisionP99Us, baseline.decisionP99Us)}×, heap bytes per node ${ratio(result.heapBytesPerNode, baseline.heapBytesPerNode)}×`
        : ''),
  );
  console.log(
    JSON.stringify({
      bench: 'partitions',
      engineVersion: DEFAULT_ENGINE_CONFIG.engineVersion,
      node: process.version,
      cores: cpus().length,
      ...result,
      peakRssMiB,
      baseline,
      medianPartitionVsBaselineDecisionsPerSec: baseline ? ratio(result.decisionsPerSecPerPartitionMedian, baseline.decisionsPerSecEngine) : null,
      decisionP99VsBaseline: baseline ? ratio(result.decisionP99Us, baseline.decisionP99Us) : null,
    }),
  );
}

main();
