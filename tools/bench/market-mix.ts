/**
 * The market the matching benches draw from (bench:matching, bench:partitions): a supply mix of
 * nodes and a demand mix of jobs, seeded, so every run of either sees the same market and their
 * figures compare.
 */
import { DEFAULT_ENGINE_CONFIG, type Category, type JobSpec, type LatencyPreference, type NodeSpec, type Urgency } from '@starminer/matching';
// the same seeded PRNG as the trace generator
import { seededRandom as rng } from '@starminer/testing';

const WEI = 10n ** 18n;

export type Rand = () => number;
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
export function weighted<T>(r: Rand, table: readonly (readonly [T, number])[]): T {
  const total = table.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [v, w] of table) if ((x -= w) < 0) return v;
  return table[table.length - 1]![0];
}

/** supply mix: mostly consumer and mid-range cards, some datacenter GPUs (vast/skypilot-like) */
export const MODEL_MIX: readonly (readonly [string, number, number])[] = [
  // model, weight, VRAM GiB
  ['RTX4090', 22, 24],
  ['RTX3090', 10, 24],
  ['RTX5090', 6, 32],
  ['RTX3060', 4, 12],
  ['RTX4080', 3, 16],
  ['RTXA6000', 4, 48],
  ['RTXA5000', 3, 24],
  ['RTXA4000', 2, 16],
  ['RTX6000-Ada', 2, 48],
  ['L40S', 4, 48],
  ['A40', 3, 48],
  ['A10', 4, 24],
  ['T4', 8, 16],
  ['V100', 4, 32],
  ['A100', 9, 80],
  ['H100', 8, 80],
  ['H200', 2, 141],
];
export const REGIONS = ['us-east', 'us-west', 'eu-west', 'eu-central', 'asia-east', 'asia-south', 'sa-east', 'oc-south', 'me-central', 'af-south'];
export const GPU_COUNTS: readonly (readonly [number, number])[] = [
  [1, 35],
  [2, 25],
  [4, 20],
  [8, 20],
];

/** The i-th node of a seed's fleet (ids `node-` and i padded to `idDigits`); call in order i = 0, 1, 2, ... */
export function nodeSource(seed: number, idDigits: number): (i: number) => NodeSpec {
  const r = rng(seed);
  const modelTable = MODEL_MIX.map(([m, w, v]) => [[m, v] as const, w] as const);
  return (i) => {
    const [gpuModel, vramGiB] = weighted(r, modelTable);
    return {
      nodeId: `node-${String(i).padStart(idDigits, '0')}`,
      providerAddress: `0x${(i + 1).toString(16).padStart(40, '0')}`,
      gpuModel,
      gpuCount: weighted(r, GPU_COUNTS),
      vramGiB: gpuModel === 'A100' && r() < 0.3 ? 40 : vramGiB,
      region: pick(r, REGIONS),
      latencyMs: Math.round(5 + r() * 245),
      tee: r() < 0.2,
      carbonGPerKwh: Math.round(r() * 800),
      renewableShare: Math.round(r() * 100) / 100,
      benchmarkScore: Math.round(50 + r() * 250),
      reputation: Math.round((0.5 + 0.5 * Math.sqrt(r())) * 1000) / 1000,
      ...(r() < 0.3 ? { poolId: `pool-${Math.floor(r() * 50)}` } : {}),
      stakeWei: BigInt(Math.floor(r() * 1000)) * WEI,
      online: r() < 0.97,
    };
  };
}

export const CATEGORY_MIX: readonly (readonly [Category, number])[] = [
  ['inference', 40],
  ['ai-training', 30],
  ['rendering', 20],
  ['simulation', 10],
];
export const URGENCY_MIX: readonly (readonly [Urgency, number])[] = [
  ['low', 20],
  ['normal', 50],
  ['high', 20],
  ['critical', 10],
];
export const LATENCY_MIX: readonly (readonly [LatencyPreference, number])[] = [
  ['relaxed', 40],
  ['normal', 40],
  ['low', 20],
];
/** families of interchangeable models a requester typically accepts */
export const FAMILIES = [['H100', 'H200'], ['A100', 'H100'], ['A100'], ['RTX4090', 'RTX5090'], ['RTX4090', 'RTX3090'], ['L40S', 'A40', 'RTXA6000'], ['T4', 'A10'], ['V100', 'T4'], ['RTX3060', 'RTX4080']];

/** A generator of jobs (ids `job-` and i padded to `idDigits`): the i-th job is always the same for a seed. */
export function jobSource(seed: number, idDigits: number) {
  const r = rng(seed);
  const base = DEFAULT_ENGINE_CONFIG.pricing.basePricesWeiPerGpuHour;
  return (i: number, atMs: number): JobSpec => {
    const category = weighted(r, CATEGORY_MIX);
    const kind = r();
    const budgetOnly = kind < 0.05;
    const gpuModels = budgetOnly ? [] : kind < 0.3 ? [] : pick(r, FAMILIES);
    const gpuCount = budgetOnly ? 0 : category === 'ai-training' ? weighted(r, [[1, 30], [2, 25], [4, 25], [8, 20]] as const) : weighted(r, [[1, 75], [2, 15], [4, 10]] as const);
    const expectedRuntimeSec = Math.round(300 + r() * 8 * 3600);
    const priciest = (gpuModels.length ? gpuModels : ['H200']).reduce((m, g) => (base[g]! > m ? base[g]! : m), 0n);
    const fullCost = (priciest * BigInt(Math.max(gpuCount, 1)) * BigInt(expectedRuntimeSec) * 2n) / 3600n;
    const budgetWei = r() < 0.05 ? fullCost / 50n : fullCost + BigInt(Math.floor(r() * 1000)) * 10n ** 15n;
    return {
      jobId: `job-${String(i).padStart(idDigits, '0')}`,
      category,
      budgetWei,
      urgency: weighted(r, URGENCY_MIX),
      latencyPreference: weighted(r, LATENCY_MIX),
      requirements: {
        gpuModels,
        gpuCount,
        minVramGiB: r() < 0.1 ? pick(r, [24, 48, 80]) : 0,
        tee: r() < 0.08,
        regions: r() < 0.5 ? [] : r() < 0.7 ? [pick(r, REGIONS)] : [pick(r, REGIONS), pick(r, REGIONS)],
        ...(r() < 0.25 ? { maxLatencyMs: Math.round(30 + r() * 170) } : {}),
      },
      expectedRuntimeSec,
      green: r() < 0.2,
      submittedAtMs: atMs,
      ...(budgetOnly ? { deadlineAtMs: atMs + Math.round((1 + r() * 12) * 3600_000) } : {}),
    };
  };
}
