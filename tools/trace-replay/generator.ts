/**
 * Seeded synthetic GPU cluster traces in the Alibaba 2023 column format, of three published shapes,
 * so that placement is tuned against a distribution rather than one file. The same (shape, jobs,
 * seed, load) gives the same trace, byte for byte.
 *
 * The shapes follow the papers' published figures as read from them (approximate where marked):
 * - philly: Microsoft Philly, Jeon et al., "Analysis of Large-Scale Multi-Tenant GPU Clusters for
 *   DNN Training Workloads", USENIX ATC '19. Mostly 1-GPU jobs with a real tail of 4 and 8+ GPUs
 *   (their Fig. 3 job-size CDF: roughly 70 % 1 GPU; sizes above 8 folded to 8 here because a pod
 *   runs on one node); runtimes heavy-tailed over minutes to days (median tens of minutes, a few
 *   % over a day; lognormal, approximate); larger jobs run longer; diurnal arrivals. Servers of 8
 *   GPUs and some of 2 (P100 class; the paper's P40-class GPUs are mapped to V100M16, approximate).
 * - helios: SenseTime Helios, Hu et al., "Characterization and Prediction of Deep Learning
 *   Workloads in Large-Scale GPU Datacenters", SC '21. Many short (debug) jobs and a larger share
 *   of 8-GPU jobs than Philly (about half the jobs 1 GPU, large jobs taking most GPU time; their
 *   Figs. 4-5, approximate); strong diurnal pattern with bursts of submissions. 8-GPU V100 nodes
 *   (V100M32), with a 1080 Ti-class cluster stood in by RTX3090 (approximate).
 * - alibaba: Alibaba GPU cluster 2023, Weng et al., "Beware of Fragmentation", USENIX ATC '23,
 *   measured from its openb trace in ../shared/data/traces: 98.9 % 1-GPU pods (0.2 % 2, 0.2 % 4,
 *   0.6 % 8), half of the 1-GPU pods fractional, lifetime lognormal with median 491 s and p90
 *   6,090 s, qos LS 57 % / BE 42 % / other 1 %, a third of the pods constrained to GPU models;
 *   nodes as in its node list (2-GPU T4/P100, 8-GPU G2, a few V100 and G3).
 * The cluster is sized so that the offered load (GPU-seconds asked inside the arrival window /
 * GPU-seconds available in it) is `load`: above 1 the trace queues.
 */

import { seededRandom } from '@starminer/testing';

export const SHAPES = ['philly', 'helios', 'alibaba'] as const;
export type TraceShape = (typeof SHAPES)[number];

export interface GenerateOptions {
  shape: TraceShape;
  jobs: number;
  seed: number;
  /** offered load of the generated cluster; default 1.1 (a little over capacity) */
  load?: number;
}

export interface GeneratedTrace {
  podsCsv: string;
  nodesCsv: string;
}

export const GENERATE_LIMITS = { jobsMax: 10_000_000, loadMin: 0.01, loadMax: 100 } as const;

interface ShapeSpec {
  /** [GPUs, weight] */
  sizes: [number, number][];
  /** lognormal runtime: median seconds, sigma; scaled by gpus^sizeRuntimeExponent */
  runtimeMedianSec: number;
  runtimeSigma: number;
  sizeRuntimeExponent: number;
  runtimeMaxSec: number;
  /** mean seconds between arrivals at the mean rate */
  meanInterarrivalSec: number;
  /** arrival rate multiplier over a day: 1 + diurnal × sin */
  diurnal: number;
  /** chance per arrival of entering a burst, burst length (arrivals) and rate multiplier */
  burstChance: number;
  burstLength: number;
  burstRate: number;
  /** share of 1-GPU pods asking a fraction of a GPU */
  fractionalShare: number;
  qos: [string, number][];
  /** [model, GPUs per node, weight by GPUs] */
  nodes: [string, number, number][];
  /** share of pods constrained to models, and the accepted-model lists they draw from */
  constrainedShare: number;
  constraints: [string[], number][];
}

const SPECS: Record<TraceShape, ShapeSpec> = {
  philly: {
    sizes: [[1, 70], [2, 9], [4, 12], [8, 9]],
    runtimeMedianSec: 900,
    runtimeSigma: 2.0,
    sizeRuntimeExponent: 0.5,
    runtimeMaxSec: 14 * 86_400,
    meanInterarrivalSec: 20,
    diurnal: 0.5,
    burstChance: 0.002,
    burstLength: 40,
    burstRate: 5,
    fractionalShare: 0,
    qos: [['BE', 90], ['LS', 10]],
    nodes: [['P100', 8, 60], ['P100', 2, 10], ['V100M16', 8, 30]],
    constrainedShare: 0.3,
    constraints: [[['P100'], 2], [['V100M16'], 1]],
  },
  helios: {
    sizes: [[1, 55], [2, 10], [4, 15], [8, 20]],
    runtimeMedianSec: 600,
    runtimeSigma: 2.3,
    sizeRuntimeExponent: 0.6,
    runtimeMaxSec: 14 * 86_400,
    meanInterarrivalSec: 30,
    diurnal: 0.8,
    burstChance: 0.005,
    burstLength: 100,
    burstRate: 10,
    fractionalShare: 0,
    qos: [['BE', 85], ['LS', 15]],
    nodes: [['V100M32', 8, 75], ['RTX3090', 8, 25]],
    constrainedShare: 0.9,
    constraints: [[['V100M32'], 3], [['RTX3090'], 1]],
  },
  alibaba: {
    sizes: [[1, 6989], [2, 16], [4, 15], [8, 44]],
    runtimeMedianSec: 491,
    // ln(6090 / 491) / 1.2816 (z of p90)
    runtimeSigma: 1.965,
    sizeRuntimeExponent: 0,
    runtimeMaxSec: 149 * 86_400,
    meanInterarrivalSec: 8,
    diurnal: 0.3,
    burstChance: 0.003,
    burstLength: 50,
    burstRate: 8,
    fractionalShare: 0.5,
    qos: [['LS', 57], ['BE', 42], ['Burstable', 1]],
    nodes: [['T4', 2, 774], ['P100', 2, 262], ['G2', 8, 4392], ['G3', 8, 312], ['V100M32', 8, 204], ['V100M16', 8, 176], ['A10', 1, 2]],
    constrainedShare: 0.33,
    constraints: [[['T4'], 1291], [['P100'], 279], [['G2'], 331], [['G3'], 86], [['V100M16', 'V100M32'], 163], [['P100', 'V100M16', 'V100M32'], 103], [['P100', 'T4', 'V100M16', 'V100M32'], 33]],
  },
};


function weighted<T>(r: () => number, items: readonly [T, number][]): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [item, w] of items) if ((x -= w) < 0) return item;
  return items[items.length - 1]![0];
}

/** standard normal by Box-Muller */
function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

const DAY_SEC = 86_400;
const POD_HEADER = 'name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time';
const NODE_HEADER = 'sn,cpu_milli,memory_mib,gpu,model';

export function generateTrace(options: GenerateOptions): GeneratedTrace {
  const { shape, jobs, seed } = options;
  const load = options.load ?? 1.1;
  if (!SHAPES.includes(shape)) throw new Error(`unknown shape ${String(shape)}: pick among ${SHAPES.join(', ')}`);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > GENERATE_LIMITS.jobsMax) throw new Error(`jobs must be an integer in 1..${GENERATE_LIMITS.jobsMax}`);
  if (!(load >= GENERATE_LIMITS.loadMin && load <= GENERATE_LIMITS.loadMax)) throw new Error(`load must be in ${GENERATE_LIMITS.loadMin}..${GENERATE_LIMITS.loadMax}`);
  const spec = SPECS[shape];
  const r = seededRandom(seed);
  const pods: string[] = [POD_HEADER];
  let t = 0;
  let burstLeft = 0;
  const asked: [number, number, number][] = []; // [arrival, gpus, runtime]
  for (let i = 0; i < jobs; i++) {
    // a non-homogeneous Poisson process: diurnal rate, times a burst multiplier while one lasts
    if (burstLeft === 0 && r() < spec.burstChance) burstLeft = spec.burstLength;
    const rate = (1 + spec.diurnal * Math.sin((2 * Math.PI * t) / DAY_SEC)) * (burstLeft > 0 ? spec.burstRate : 1);
    if (burstLeft > 0) burstLeft--;
    t += Math.round((-Math.log(1 - r()) * spec.meanInterarrivalSec) / Math.max(0.05, rate));
    const gpus = weighted(r, spec.sizes);
    const median = spec.runtimeMedianSec * gpus ** spec.sizeRuntimeExponent;
    const runtime = Math.max(1, Math.min(spec.runtimeMaxSec, Math.round(median * Math.exp(spec.runtimeSigma * normal(r)))));
    const milli = gpus === 1 && r() < spec.fractionalShare ? 100 * (1 + Math.floor(r() * 9)) : 1000;
    // only constraints some node could hold: the traces tie large pods to the models with large nodes
    const fitting = spec.constraints.filter(([ms]) => spec.nodes.some(([m, perNode]) => perNode >= gpus && ms.includes(m)));
    const models = r() < spec.constrainedShare && fitting.length ? weighted(r, fitting).join('|') : '';
    const qos = weighted(r, spec.qos);
    asked.push([t, gpus, runtime]);
    pods.push(`${shape}-pod-${i},${4000 * gpus},${16384 * gpus},${gpus},${milli},${models},${qos},Succeeded,${t},${t + runtime},${t}`);
  }
  // GPUs so that the GPU-seconds asked inside the arrival window (as the replay counts utilization;
  // a heavy tail's weeks-long pods would otherwise size the cluster) are `load` times the capacity
  const windowSec = Math.max(1, t);
  const gpuSec = asked.reduce((sum, [at, gpus, runtime]) => sum + gpus * Math.min(runtime, windowSec - at), 0);
  const targetGpus = Math.max(8, Math.ceil(gpuSec / (windowSec * load)));
  const nodes: string[] = [NODE_HEADER];
  const perModelGpus = spec.nodes.reduce((s, [, , w]) => s + w, 0);
  let n = 0;
  for (const [model, perNode, weight] of spec.nodes) {
    const count = Math.max(1, Math.round((targetGpus * weight) / perModelGpus / perNode));
    for (let k = 0; k < count; k++) nodes.push(`${shape}-node-${n++},${perNode * 12_000},${perNode * 98_304},${perNode},${model}`);
  }
  return { podsCsv: pods.join('\n') + '\n', nodesCsv: nodes.join('\n') + '\n' };
}
