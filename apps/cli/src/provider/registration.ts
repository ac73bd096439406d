import type { createProviderClient } from '@starminer/sdk/provider';
import { listOf } from '../jobs/job-request';
import { UsageError } from '../shared/errors';

export type ProviderClient = ReturnType<typeof createProviderClient>;
/** A node's registration as POST /v1/providers/nodes takes it: the SDK's type. */
export type NodeRegistration = Parameters<ProviderClient['registerNode']>[0]['registration'];

export const RUNTIME_KINDS = ['hash-chain', 'matmul', 'command', 'container'] as const satisfies readonly NodeRegistration['runtimes'][number][];

/** The provider agent's defaults, so a node registered here and one the agent registers read alike. */
export const NODE_DEFAULTS = {
  gpuCount: 1,
  latencyMs: 20,
  carbonGPerKwh: 300,
  renewableShare: 0.3,
  runtimes: ['hash-chain', 'matmul'],
} as const;

export interface RegisterFlags {
  nodeId?: string;
  providerId?: string;
  gpu?: string;
  gpus?: number;
  vram?: number;
  region?: string;
  latency?: number;
  tee?: boolean;
  carbon?: number;
  renewable?: number;
  runtimes?: string[];
  benchmarkScore?: number;
  benchmarkKind?: string;
}

function required<T>(flag: string, v: T | undefined, example: string): T {
  if (v === undefined) throw new UsageError('MISSING_FLAG', `${flag} is required, e.g. ${flag} ${example}`);
  return v;
}

function finite(flag: string, v: number): number {
  if (!Number.isFinite(v)) throw new UsageError('BAD_FLAG', `${flag} must be a number, got ${String(v)}`);
  return v;
}

function whole(flag: string, v: number): number {
  if (!Number.isSafeInteger(v)) throw new UsageError('BAD_FLAG', `${flag} must be a whole number, got ${String(v)}`);
  return v;
}

/**
 * The registration the flags describe, for the node key at `address`. `benchmark` is the figure
 * measured (or given with --benchmark-score) by the caller: measuring is the edge's work.
 */
export function registrationFromFlags(f: RegisterFlags, address: string, nodeIdDefault: string, benchmark: { kind: string; score: number; measuredAt: string }): NodeRegistration {
  const runtimes = f.runtimes === undefined ? [...NODE_DEFAULTS.runtimes] : listOf(f.runtimes);
  for (const r of runtimes) {
    if (!(RUNTIME_KINDS as readonly string[]).includes(r)) throw new UsageError('BAD_FLAG', `--runtimes ${r}: expected some of ${RUNTIME_KINDS.join(', ')}`);
  }
  return {
    nodeId: f.nodeId ?? nodeIdDefault,
    providerId: f.providerId ?? `provider-${address.slice(2, 10).toLowerCase()}`,
    gpuModel: required('--gpu', f.gpu, 'H100'),
    gpuCount: whole('--gpus', f.gpus ?? NODE_DEFAULTS.gpuCount),
    vramGiB: whole('--vram', required('--vram', f.vram, '80')),
    region: required('--region', f.region, 'eu-west'),
    latencyMs: whole('--latency', f.latency ?? NODE_DEFAULTS.latencyMs),
    tee: f.tee ?? false,
    energy: { carbonGPerKwh: finite('--carbon', f.carbon ?? NODE_DEFAULTS.carbonGPerKwh), renewableShare: finite('--renewable', f.renewable ?? NODE_DEFAULTS.renewableShare) },
    benchmark,
    stakeWei: '0',
    runtimes: runtimes as NodeRegistration['runtimes'],
  };
}
