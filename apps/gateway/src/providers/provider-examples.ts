import type { z } from 'zod';
import type { assignmentsSchema, registerNodeRequestSchema, submitResultRequestSchema } from '@starminer/events';

/** Examples of the provider operations in the OpenAPI document (a spec validates each against its schema). */
export const REGISTER_NODE_EXAMPLE: z.input<typeof registerNodeRequestSchema> = {
  nodeId: 'node-eu-west-1',
  providerId: 'provider-acme-gpu',
  gpuModel: 'RTX4090',
  gpuCount: 1,
  vramGiB: 24,
  region: 'eu-west',
  latencyMs: 12,
  tee: false,
  energy: { carbonGPerKwh: 120, renewableShare: 0.6 },
  benchmark: { kind: 'hash-chain-sha256', score: 1450, measuredAt: '2026-01-15T09:00:00.000Z' },
  stakeWei: '0',
  runtimes: ['hash-chain', 'matmul'],
};

export const ASSIGNMENTS_EXAMPLE: z.input<typeof assignmentsSchema> = {
  assignments: [
    {
      jobId: '0190f5a3-1b2c-7d4e-8f90-a1b2c3d4e5f6',
      status: 'contracted',
      workload: { kind: 'hash-chain', seed: 'tour', iterations: 100000 },
      expectedRuntimeSec: 60,
      deadlineAt: '2026-01-15T10:10:02.000Z',
      costWei: '20000000000000000',
      contractAddress: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
      market: {
        chainId: 31337,
        addresses: { token: '0x5FbDB2315678afecb367f032d93F642f64180aa3', escrow: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512', deployBlock: 1 },
      },
    },
  ],
};

export const SUBMIT_RESULT_EXAMPLE: z.input<typeof submitResultRequestSchema> = {
  output: '9c56cc51b374c3ba189210d5b6d4bf57790d351c96c47c02190ecf1e430635ab',
  resultHash: '0x3c9a1e5f7b2d8c4a6e0f2b8d4c6a0e2f8b4d6c0a2e8f4b6d0c2a8e4f6b0d2c8a',
  proofHash: '0x1f0e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0',
  signature: `0x${'ab'.repeat(64)}1b`,
};
