/**
 * Replays a GPU cluster trace in the Alibaba 2023 column format (cluster-trace-gpu-v2023, Weng et
 * al., "Beware of Fragmentation", USENIX ATC '23; or one from generate.ts) in simulated time,
 * through the matching engine and the baselines of baselines.ts, and measures all the same way.
 *
 * Modelling choices (the same for every scheduler):
 * - a pod with num_gpu = 0 is CPU-only and skipped; a fractional pod (gpu_milli < 1000) takes one
 *   whole GPU: the exchange rents whole GPUs;
 * - arrival = creation_time; runtime = deletion_time − scheduled_time (or − creation_time for a
 *   pod that never ran in the original cluster), at least 1 s;
 * - gpu_spec ("T4|P100") becomes the accepted GPU models; empty = any;
 * - qos LS → urgency high, latency preference low, category inference; BE → urgency low,
 *   relaxed, ai-training; Guaranteed / Burstable → normal, relaxed, ai-training;
 * - one region; budgets never bind (the trace has no prices).
 * Wait = start − arrival. GPU utilization = busy GPU-seconds / (GPUs × seconds) over the arrival
 * window [first arrival, last arrival]. Never placed = still waiting when nothing else can happen.
 */
import { performance } from 'node:perf_hooks';
import {
  BinaryHeap,
  DEFAULT_ENGINE_CONFIG,
  MatchingEngine,
  parseCsv,
  type EngineConfig,
  type PricingConfig,
  type JobSpec,
  type NodeSpec,
  type Urgency,
} from '@starminer/matching';
import { BASELINES, baselineScheduler, type BaselineKind, type Scheduler } from './baselines';

export interface TracePod {
  name: string;
  gpus: number;
  models: string[];
  qos: string;
  arrivalSec: number;
  runtimeSec: number;
}

export interface TraceNode {
  name: string;
  gpus: number;
  model: string;
}

export interface ParseResult {
  pods: TracePod[];
  skippedCpuOnly: number;
}

const MILLIS_PER_SEC = 1000;
/** per-GPU VRAM of the trace's models (G2, G3 are undisclosed; see libs/domain gpu-catalogue) */
const TRACE_VRAM_GIB: Record<string, number> = { T4: 16, P100: 16, V100M16: 16, V100M32: 32, A10: 24, G2: 24, G3: 32 };
/** never binding: the trace has no prices */
const UNBOUNDED_BUDGET_WEI = 10n ** 40n;

export function parsePods(csv: string): ParseResult {
  const pods: TracePod[] = [];
  let skippedCpuOnly = 0;
  for (const row of parseCsv(csv)) {
    const numGpu = Number(row.num_gpu);
    if (!(numGpu > 0)) {
      skippedCpuOnly++;
      continue;
    }
    const arrivalSec = Number(row.creation_time);
    const deletion = Number(row.deletion_time);
    const scheduled = row.scheduled_time === '' ? NaN : Number(row.scheduled_time);
    const start = Number.isFinite(scheduled) ? scheduled : arrivalSec;
    pods.push({
      name: row.name!,
      gpus: numGpu,
      models: row.gpu_spec ? row.gpu_spec.split('|').filter(Boolean) : [],
      qos: row.qos ?? 'BE',
      arrivalSec,
      runtimeSec: Math.max(1, Number.isFinite(deletion) ? deletion - start : 1),
    });
  }
  pods.sort((a, b) => a.arrivalSec - b.arrivalSec || (a.name < b.name ? -1 : 1));
  return { pods, skippedCpuOnly };
}

/** Arrival times divided by `speedup`, measured from the first arrival (runtimes unchanged). */
export function scaleArrivals(pods: TracePod[], speedup: number): TracePod[] {
  if (pods.length === 0 || speedup === 1) return pods;
  const origin = pods[0]!.arrivalSec;
  return pods.map((p) => ({ ...p, arrivalSec: Math.round(origin + (p.arrivalSec - origin) / speedup) }));
}

export function parseNodes(csv: string): TraceNode[] {
  return parseCsv(csv)
    .map((row) => ({ name: row.sn!, gpus: Number(row.gpu), model: row.model! }))
    .filter((n) => n.gpus > 0);
}

export interface SchedulerReport {
  scheduler: string;
  jobs: number;
  placed: number;
  neverPlaced: number;
  waitP50Sec: number;
  waitP95Sec: number;
  waitP99Sec: number;
  waitMeanSec: number;
  waitMaxSec: number;
  /** pods asking 2+ GPUs (all on one node): the ones fragmentation starves */
  multiGpu: { jobs: number; placed: number; waitP95Sec: number; waitMaxSec: number };
  gpuUtilization: number;
  /** wall-clock seconds this scheduler's replay took (a measurement, never asserted) */
  replaySec: number;
  /** the engine with part of the fleet staked (ReplayOptions.stakedEvery): who got the matches inside and outside surges */
  staked?: StakedShare;
}

/**
 * Staked capacity's share of the engine's matches, inside surges (the winner's market in surge, as
 * its receipt says) and outside them, by pods and by GPUs placed; and the staked share of the
 * fleet's GPUs, what an indifferent router would give them on average.
 */
export interface StakedShare {
  stakedEvery: number;
  fleetGpuShare: number;
  surgesStarted: number;
  inSurge: { matches: number; stakedMatchShare: number; stakedGpuShare: number };
  outsideSurge: { matches: number; stakedMatchShare: number; stakedGpuShare: number };
}

class StakedTally {
  private readonly counts = { in: [0, 0, 0, 0], out: [0, 0, 0, 0] }; // matches, staked matches, GPUs, staked GPUs
  surgesStarted = 0;
  add(surge: boolean, staked: boolean, gpus: number): void {
    const c = surge ? this.counts.in : this.counts.out;
    c[0]! += 1;
    c[2]! += gpus;
    if (staked) {
      c[1]! += 1;
      c[3]! += gpus;
    }
  }
  report(stakedEvery: number, fleetGpuShare: number): StakedShare {
    const of = (c: number[]) => ({ matches: c[0]!, stakedMatchShare: c[0] ? c[1]! / c[0] : 0, stakedGpuShare: c[2] ? c[3]! / c[2] : 0 });
    return { stakedEvery, fleetGpuShare, surgesStarted: this.surgesStarted, inSurge: of(this.counts.in), outsideSurge: of(this.counts.out) };
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** completions, earliest first: [timeSec, podIndex], ties by pod index */
const completionBefore = (a: [number, number], b: [number, number]): boolean => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

function simulate(pods: TracePod[], totalGpus: number, scheduler: Scheduler & { staked?: () => StakedShare }): { report: SchedulerReport; startSec: number[] } {
  const t0 = performance.now();
  const startSec = new Array<number>(pods.length).fill(NaN);
  const completions = new BinaryHeap<[number, number]>(completionBefore);
  const windowStart = pods.length ? pods[0]!.arrivalSec : 0;
  const windowEnd = pods.length ? pods[pods.length - 1]!.arrivalSec : 0;
  let busyGpuSec = 0;
  let next = 0;
  for (;;) {
    const nextArrival = next < pods.length ? pods[next]!.arrivalSec : Infinity;
    const nextCompletion = completions.peek()?.[0] ?? Infinity;
    const t = Math.min(nextArrival, nextCompletion);
    if (t === Infinity) break;
    while (completions.size && completions.peek()![0] === t) scheduler.complete(completions.pop()![1], t);
    while (next < pods.length && pods[next]!.arrivalSec === t) {
      scheduler.submit(pods[next]!, next, t);
      next++;
    }
    for (const i of scheduler.place(t)) {
      const pod = pods[i]!;
      startSec[i] = t;
      completions.push([t + pod.runtimeSec, i]);
      const from = Math.max(t, windowStart);
      const to = Math.min(t + pod.runtimeSec, windowEnd);
      if (to > from) busyGpuSec += pod.gpus * (to - from);
    }
  }
  const waits: number[] = [];
  const multiWaits: number[] = [];
  pods.forEach((p, i) => {
    if (!Number.isFinite(startSec[i])) return;
    waits.push(startSec[i]! - p.arrivalSec);
    if (p.gpus >= 2) multiWaits.push(startSec[i]! - p.arrivalSec);
  });
  waits.sort((a, b) => a - b);
  multiWaits.sort((a, b) => a - b);
  const windowSec = Math.max(1, windowEnd - windowStart);
  const report: SchedulerReport = {
    scheduler: scheduler.name,
    jobs: pods.length,
    placed: waits.length,
    neverPlaced: pods.length - waits.length,
    waitP50Sec: percentile(waits, 50),
    waitP95Sec: percentile(waits, 95),
    waitP99Sec: percentile(waits, 99),
    waitMeanSec: waits.length ? waits.reduce((s, x) => s + x, 0) / waits.length : 0,
    waitMaxSec: waits.length ? waits[waits.length - 1]! : 0,
    multiGpu: {
      jobs: pods.filter((p) => p.gpus >= 2).length,
      placed: multiWaits.length,
      waitP95Sec: percentile(multiWaits, 95),
      waitMaxSec: multiWaits.length ? multiWaits[multiWaits.length - 1]! : 0,
    },
    gpuUtilization: busyGpuSec / (totalGpus * windowSec),
    replaySec: (performance.now() - t0) / 1000,
    ...(scheduler.staked ? { staked: scheduler.staked() } : {}),
  };
  return { report, startSec };
}

const urgencyOf = (qos: string): Urgency => (qos === 'LS' ? 'high' : qos === 'BE' ? 'low' : 'normal');

/** The node a trace node becomes; with `stakedEvery` K, every K-th node is a staked pool's node. */
const isStakedNode = (i: number, stakedEvery: number | undefined): boolean => stakedEvery !== undefined && i % stakedEvery === 0;

function engineScheduler(nodes: TraceNode[], config: EngineConfig, name = 'engine', stakedEvery?: number): Scheduler & { staked?: () => StakedShare } {
  const engine = new MatchingEngine(config);
  const stakedNodes = new Set<string>();
  let stakedGpus = 0;
  // the engine breaks score ties by nodeId, the baselines by trace order: node ids that sort in
  // trace order give both the same tie-break (with the trace's names, "node-10" < "node-2", the
  // tie-break alone moved the engine's utilization by up to a point on the generated traces)
  const width = String(nodes.length).length;
  nodes.forEach((n, i) => {
    const spec: NodeSpec = {
      nodeId: `${String(i).padStart(width, '0')}:${n.name}`,
      providerAddress: '0x0',
      gpuModel: n.model,
      gpuCount: n.gpus,
      vramGiB: TRACE_VRAM_GIB[n.model] ?? 16,
      region: 'trace',
      latencyMs: 10,
      tee: false,
      carbonGPerKwh: 400,
      renewableShare: 0.3,
      benchmarkScore: 100,
      reputation: 0.9,
      stakeWei: 0n,
      online: true,
    };
    if (isStakedNode(i, stakedEvery)) {
      spec.poolId = 'trace-pool';
      spec.stakeWei = 10n ** 18n;
      stakedNodes.add(spec.nodeId);
      stakedGpus += n.gpus;
    }
    engine.upsertNode(spec, 0);
  });
  const byJob = new Map<string, number>();
  const tally = new StakedTally();
  const totalGpus = nodes.reduce((s, n) => s + n.gpus, 0);
  return {
    name,
    ...(stakedEvery !== undefined ? { staked: () => tally.report(stakedEvery, totalGpus ? stakedGpus / totalGpus : 0) } : {}),
    submit(pod, index, atSec) {
      const job: JobSpec = {
        jobId: `p${index}`,
        category: pod.qos === 'LS' ? 'inference' : 'ai-training',
        budgetWei: UNBOUNDED_BUDGET_WEI,
        urgency: urgencyOf(pod.qos),
        latencyPreference: pod.qos === 'LS' ? 'low' : 'relaxed',
        requirements: { gpuModels: pod.models, gpuCount: pod.gpus, minVramGiB: 0, tee: false, regions: [] },
        expectedRuntimeSec: pod.runtimeSec,
        green: false,
        submittedAtMs: atSec * MILLIS_PER_SEC,
      };
      byJob.set(job.jobId, index);
      engine.submitJob(job);
    },
    complete(index, atSec) {
      engine.release(`p${index}`, atSec * MILLIS_PER_SEC);
    },
    place(atSec) {
      // prices and surges follow utilization and the queue, as in the matching service
      tally.surgesStarted += engine.marketTick(atSec * MILLIS_PER_SEC).surgeChanges.filter((c) => c.type === 'SurgeStarted').length;
      return engine.matchPending(atSec * MILLIS_PER_SEC, Number.MAX_SAFE_INTEGER).map((m) => {
        tally.add(m.receipt.surge, stakedNodes.has(m.nodeId), m.gpuCount);
        return byJob.get(m.jobId)!;
      });
    },
  };
}

/** A trace names a GPU model the engine's price book lacks (and --map-model does not map). */
export class UnknownTraceModelError extends Error {
  override readonly name = 'UnknownTraceModelError';
  constructor(readonly models: Map<string, { nodes: number; pods: number }>) {
    super(
      `the trace names GPU models the price book lacks: ${[...models].map(([m, c]) => `'${m}' (${c.nodes} nodes, ${c.pods} pods)`).join(', ')}; ` +
        'name them with --map-model MODEL=KNOWN_MODEL',
    );
  }
}

/** Renames GPU models (`--map-model`) in nodes and pods' accepted models. */
export function mapModels(pods: TracePod[], nodes: TraceNode[], map: ReadonlyMap<string, string>): { pods: TracePod[]; nodes: TraceNode[] } {
  if (map.size === 0) return { pods, nodes };
  const to = (m: string) => map.get(m) ?? m;
  return { pods: pods.map((p) => ({ ...p, models: [...new Set(p.models.map(to))] })), nodes: nodes.map((n) => ({ ...n, model: to(n.model) })) };
}

/**
 * Refuses a trace with a GPU model the price book lacks, naming each: the engine refuses such
 * nodes, and a replay that went on without them would measure a smaller cluster than the baselines.
 */
export function assertKnownModels(pods: TracePod[], nodes: TraceNode[], pricing: PricingConfig): void {
  const known = (m: string) => Object.prototype.hasOwnProperty.call(pricing.basePricesWeiPerGpuHour, m);
  const unknown = new Map<string, { nodes: number; pods: number }>();
  const count = (m: string) => unknown.get(m) ?? unknown.set(m, { nodes: 0, pods: 0 }).get(m)!;
  for (const n of nodes) if (!known(n.model)) count(n.model).nodes++;
  for (const p of pods) for (const m of p.models) if (!known(m)) count(m).pods++;
  if (unknown.size > 0) throw new UnknownTraceModelError(unknown);
}

export type SchedulerName = 'engine' | 'engine-no-holds' | BaselineKind;
export const SCHEDULERS: readonly SchedulerName[] = ['engine', 'engine-no-holds', ...BASELINES];

export interface ReplayOptions {
  config?: EngineConfig;
  /** 'engine-no-holds': the engine with holds off (maxHolds 0), to see what holds change */
  schedulers?: readonly SchedulerName[];
  /** every K-th node (trace order) is a staked pool's node, for the engine schedulers; the reports then carry `staked` */
  stakedEvery?: number;
}

/** The replay's engine configuration: the default, every waiting job looked at per pass. */
export const REPLAY_ENGINE_CONFIG: EngineConfig = { ...DEFAULT_ENGINE_CONFIG, queue: { ...DEFAULT_ENGINE_CONFIG.queue, maxScanPerCall: 100_000 } };

/**
 * REPLAY_ENGINE_CONFIG with numeric settings changed by path ("queue.runtimeStepMs=0",
 * "weights.packFit=0.1"): for tuning against traces. An unknown path or a non-number is refused.
 */
/** `base` (the replay's configuration unless given) with each PATH=NUMBER of `settings` set (`--set`). */
export function engineConfigWith(settings: readonly string[], base: EngineConfig = REPLAY_ENGINE_CONFIG): EngineConfig {
  const config = structuredClone(base);
  for (const setting of settings) {
    const [path, raw, ...rest] = setting.split('=');
    const value = Number(raw);
    if (!path || raw === undefined || rest.length || raw.trim() === '' || !Number.isFinite(value)) throw new Error(`--set takes PATH=NUMBER (got ${setting})`);
    const keys = path.split('.');
    let at: Record<string, unknown> = config as unknown as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) {
      const next = Object.prototype.hasOwnProperty.call(at, key) ? at[key] : undefined;
      if (typeof next !== 'object' || next === null) throw new Error(`--set: no engine setting ${path}`);
      at = next as Record<string, unknown>;
    }
    const last = keys[keys.length - 1]!;
    if (!Object.prototype.hasOwnProperty.call(at, last) || typeof at[last] !== 'number') throw new Error(`--set: no numeric engine setting ${path}`);
    at[last] = value;
  }
  return config;
}

export function replay(pods: TracePod[], nodes: TraceNode[], options: ReplayOptions = {}): SchedulerReport[] {
  const totalGpus = nodes.reduce((s, n) => s + n.gpus, 0);
  const config = options.config ?? REPLAY_ENGINE_CONFIG;
  assertKnownModels(pods, nodes, config.pricing);
  const which = options.schedulers ?? ['engine', ...BASELINES];
  return which.map((s) => simulate(pods, totalGpus, schedulerOf(s, pods, nodes, config, options.stakedEvery)).report);
}

/** Each pod's start (NaN: never placed) under one scheduler: what the specs check by hand. */
export function startTimes(pods: TracePod[], nodes: TraceNode[], scheduler: SchedulerName, config: EngineConfig = DEFAULT_ENGINE_CONFIG): number[] {
  assertKnownModels(pods, nodes, config.pricing);
  return simulate(pods, nodes.reduce((s, n) => s + n.gpus, 0), schedulerOf(scheduler, pods, nodes, config)).startSec;
}

function schedulerOf(s: SchedulerName, pods: TracePod[], nodes: TraceNode[], config: EngineConfig, stakedEvery?: number): Scheduler {
  if (s === 'engine') return engineScheduler(nodes, config, 'engine', stakedEvery);
  if (s === 'engine-no-holds') return engineScheduler(nodes, { ...config, queue: { ...config.queue, maxHolds: 0 } }, 'engine-no-holds', stakedEvery);
  return baselineScheduler(s, pods, nodes);
}
