import { DEFAULT_ENGINE_CONFIG, type EngineConfig, type JobSpec, type NodeSpec } from '../src';

export const WEI = 10n ** 18n;
export const HOUR_SEC = 3_600;

export const config = (overrides: Partial<EngineConfig> = {}): EngineConfig => ({ ...DEFAULT_ENGINE_CONFIG, ...overrides });

export function node(overrides: Partial<NodeSpec> & { nodeId: string }): NodeSpec {
  return {
    providerAddress: '0x0000000000000000000000000000000000000001',
    gpuModel: 'T4',
    gpuCount: 1,
    vramGiB: 16,
    region: 'eu-west',
    latencyMs: 50,
    tee: false,
    carbonGPerKwh: 400,
    renewableShare: 0.3,
    benchmarkScore: 100,
    reputation: 0.8,
    stakeWei: 0n,
    online: true,
    ...overrides,
  };
}

export function job(overrides: Partial<Omit<JobSpec, 'requirements'>> & { jobId: string; requirements?: Partial<JobSpec['requirements']> }): JobSpec {
  const { requirements, ...rest } = overrides;
  return {
    category: 'inference',
    budgetWei: 1_000n * WEI,
    urgency: 'normal',
    latencyPreference: 'normal',
    expectedRuntimeSec: HOUR_SEC,
    green: false,
    submittedAtMs: 0,
    ...rest,
    requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 0, tee: false, regions: [], ...requirements },
  };
}
