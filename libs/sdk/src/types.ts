/** Wire shapes of the gateway's v1 API (docs/SERVICE-CONTRACT.md). Amounts are decimal strings of AGPU base units. */

export const JOB_STATUSES = ['queued', 'matched', 'contracted', 'running', 'completed', 'settled', 'refunded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** Statuses a job never leaves. */
export const FINAL_JOB_STATUSES: readonly JobStatus[] = ['settled', 'refunded', 'cancelled'];

export type Category = 'ai-training' | 'inference' | 'rendering' | 'simulation';
export type Urgency = 'low' | 'normal' | 'high' | 'critical';
export type LatencyPreference = 'relaxed' | 'normal' | 'low';

export type WorkloadSpec =
  | { kind: 'hash-chain'; seed: string; iterations: number }
  | { kind: 'matmul'; seed: string; size: number }
  | { kind: 'command'; image?: string; command: string[] };

export interface Requirements {
  gpuModels: string[];
  gpuCount: number;
  minVramGiB: number;
  tee: boolean;
  regions: string[];
  maxLatencyMs?: number;
}

export interface SubmitJobRequest {
  category: Category;
  budgetWei: string;
  urgency: Urgency;
  latencyPreference: LatencyPreference;
  requirements: Requirements;
  expectedRuntimeSec: number;
  deadlineSec?: number;
  green?: boolean;
  workload: WorkloadSpec;
}

export interface Org {
  orgId: string;
  name: string;
  apiKey: string;
  accountAddress: `0x${string}`;
}

export interface FaucetResponse {
  txHash: `0x${string}`;
  balanceWei: string;
}

export interface Job {
  jobId: string;
  status: JobStatus;
  category: Category;
  budgetWei: string;
  nodeId: string | null;
  priceWeiPerHour: string | null;
  costWei: string | null;
  /** the price as quoted at match time: base, tier, utilization multiplier, total */
  quote?: Record<string, unknown> | null;
  /** why this node: candidates considered, winner and runner-up score term by term, engine version */
  receipt?: Record<string, unknown> | null;
  contractAddress: `0x${string}` | null;
  deadlineUnixSec?: number | null;
  txHashes: { open: string | null; settle: string | null };
  result: { output: string; resultHash: string } | null;
  waitingReason: string | null;
  failure: { code: string | null; reason: string | null } | null;
  submittedAt?: string;
  updatedAt?: string;
}

export interface JobList {
  jobs: Job[];
  nextCursor: string | null;
}

export interface NodeList {
  nodes: Record<string, unknown>[];
  nextCursor: string | null;
}

export interface Queues {
  queues: Record<Category, number>;
}

/** One market of the price board; amounts are base units (18 decimals) as decimal strings. */
export interface MarketPrice {
  gpuClass: string;
  region: string;
  basePriceWeiPerGpuHour: string;
  /** 10,000 = 1.0; moves with the market's smoothed utilization */
  utilizationMultiplierBps: number;
  utilizationBps: number | null;
  changedAt: string | null;
  tiers: { tier: 'priority' | 'standard' | 'economy'; urgencies: Urgency[]; tierMultiplierBps: number; priceWeiPerGpuHour: string }[];
}

export interface PriceBoard {
  markets: MarketPrice[];
  nextCursor: string | null;
}

export interface Account {
  orgId: string;
  name?: string;
  accountAddress: `0x${string}`;
  balanceWei: string;
}

/** What the provider agent sends and receives. */
export interface NodeRegistration {
  nodeId: string;
  providerId: string;
  gpuModel: string;
  gpuCount: number;
  vramGiB: number;
  region: string;
  latencyMs: number;
  tee: boolean;
  energy: { carbonGPerKwh: number; renewableShare: number };
  benchmark: { kind: string; score: number; measuredAt: string };
  stakeWei: string;
  runtimes: ('hash-chain' | 'matmul' | 'command')[];
}

export interface Assignment {
  jobId: string;
  status: 'contracted' | 'running';
  workload: WorkloadSpec;
  expectedRuntimeSec: number;
  deadlineUnixSec: number | null;
  costWei: string | null;
  contractAddress: `0x${string}` | null;
  market: { chainId: number; addresses: Record<string, `0x${string}`> };
}

export interface ResultSubmission {
  output: string;
  resultHash: `0x${string}`;
  proofHash: `0x${string}`;
  signature: `0x${string}`;
}
