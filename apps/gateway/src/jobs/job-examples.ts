import type { z } from 'zod';
import type { jobAcceptedSchema, JobAnswer, submitJobRequestSchema } from '@starminer/events';

/** Examples of the job operations in the OpenAPI document (a spec validates each against its schema). */
export const SUBMIT_JOB_EXAMPLE: z.input<typeof submitJobRequestSchema> = {
  category: 'inference',
  budgetWei: '50000000000000000000',
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: ['RTX4090'], gpuCount: 1, minVramGiB: 16, tee: false, regions: ['eu-west'] },
  expectedRuntimeSec: 60,
  deadlineSec: 600,
  workload: { kind: 'hash-chain', seed: 'tour', iterations: 100000 },
};

export const JOB_QUEUED_EXAMPLE: z.input<typeof jobAcceptedSchema> = { jobId: '0190f5a3-1b2c-7d4e-8f90-a1b2c3d4e5f6', status: 'queued' };

const price = {
  gpuModel: 'RTX4090',
  region: 'eu-west',
  tier: 'standard',
  basePriceWeiPerGpuHour: '1200000000000000000',
  tierMultiplierBps: 10_000,
  utilizationMultiplierBps: 10_000,
  priceWeiPerGpuHour: '1200000000000000000',
  gpuCount: 1,
  runtimeSec: 60,
  costWei: '20000000000000000',
} as const;

export const JOB_EXAMPLE: JobAnswer = {
  jobId: JOB_QUEUED_EXAMPLE.jobId,
  status: 'settled',
  category: 'inference',
  urgency: 'normal',
  budgetWei: '50000000000000000000',
  expectedRuntimeSec: 60,
  deadlineSec: 600,
  requirements: SUBMIT_JOB_EXAMPLE.requirements,
  workload: SUBMIT_JOB_EXAMPLE.workload,
  nodeId: 'node-eu-west-1',
  gpuCount: 1,
  priceWeiPerGpuHour: price.priceWeiPerGpuHour,
  costWei: price.costWei,
  quote: price,
  receipt: {
    engineVersion: 'starminer-matching/1',
    strategy: 'indexed',
    jobId: JOB_QUEUED_EXAMPLE.jobId,
    matchedAt: '2026-01-15T10:00:01.250Z',
    tier: 'standard',
    candidatesConsidered: 2,
    marketsEligible: 1,
    winner: {
      nodeId: 'node-eu-west-1',
      gpuModel: 'RTX4090',
      region: 'eu-west',
      gpuCount: 1,
      score: { priceFit: 1, headroom: 0.5, packFit: 1, reservedLiquidity: 0, reputation: 0.9, performance: 0.8, proximity: 1, energy: 0.4, total: 0.83 },
    },
    runnerUp: {
      nodeId: 'node-eu-west-2',
      gpuModel: 'RTX4090',
      region: 'eu-west',
      gpuCount: 1,
      score: { priceFit: 1, headroom: 0.25, packFit: 1, reservedLiquidity: 0, reputation: 0.7, performance: 0.8, proximity: 1, energy: 0.4, total: 0.77 },
    },
    price,
    budgetWei: '50000000000000000000',
    weights: { priceFit: 0.3, headroom: 0.1, packFit: 0.1, reservedLiquidity: 0.05, reputation: 0.2, performance: 0.15, proximity: 0.05, energy: 0.05 },
    referenceCostWei: price.costWei,
    surge: false,
  },
  contractAddress: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
  deadlineAt: '2026-01-15T10:10:02Z',
  txHashes: {
    open: '0x2b1d5c0e8a4f7b3e6d9c2a5f8e1b4d7a0c3f6e9b2d5a8c1f4e7b0a3d6c9f2e5b',
    settle: '0x7e3a9c1f5b8d2e6a0c4f8b2d6e0a4c8f2b6d0e4a8c2f6b0d4e8a2c6f0b4d8e2a',
  },
  result: { output: '9c56cc51b374c3ba189210d5b6d4bf57790d351c96c47c02190ecf1e430635ab', resultHash: '0x3c9a1e5f7b2d8c4a6e0f2b8d4c6a0e2f8b4d6c0a2e8f4b6d0c2a8e4f6b0d2c8a' },
  waitingReason: null,
  failure: null,
  submittedAt: '2026-01-15T10:00:00.000Z',
  updatedAt: '2026-01-15T10:01:05.500Z',
};
