/** A node registration as a provider agent sends it (wire form), with what a test changes. */
export const nodeRegistration = (nodeId: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
  nodeId,
  providerId: 'test',
  gpuModel: 'T4',
  gpuCount: 1,
  vramGiB: 16,
  region: 'test-region',
  latencyMs: 10,
  tee: false,
  energy: { carbonGPerKwh: 100, renewableShare: 0.5 },
  benchmark: { kind: 'hash-chain-sha256', score: 1000, measuredAt: '2026-11-27T00:00:00.000Z' },
  stakeWei: '0',
  runtimes: ['hash-chain'],
  ...over,
});
