import type { EventData, EventType } from './catalogue';

const A = (byte: string): string => `0x${byte.repeat(20)}`;
const H = (byte: string): string => `0x${byte.repeat(32)}`;
const AGPU = 10n ** 18n;

/**
 * One valid instance of every event type's data: the catalogue spec mutates them to check that
 * the encoder and the decoder agree, and docs and tools show them as examples.
 */
export const EXAMPLE_EVENT_DATA: { readonly [T in EventType]: EventData<T> } = {
  OrgRegistered: { orgId: 'org-1', name: 'Acme Research', accountAddress: A('11'), custodyIndex: 1 },
  AccountFunded: { orgId: 'org-1', accountAddress: A('11'), amountWei: 1000n * AGPU, txHash: H('a1'), mintRef: H('f1') },
  MintRequested: { orgId: 'org-1', accountAddress: A('11'), amountWei: 1000n * AGPU, mintRef: H('f1') },
  MintRestored: { orgId: 'org-1', mintRef: H('f1'), amountWei: 1000n * AGPU, previousTxHash: H('a1'), txHash: H('a2') },
  FundsReserved: { orgId: 'org-1', jobId: 'job-1', amountWei: 50n * AGPU },
  FundsReleased: { orgId: 'org-1', jobId: 'job-1', amountWei: 50n * AGPU, reason: 'contracted' },
  NodeRegistered: {
    nodeId: 'node-1',
    providerId: 'provider-1',
    nodeAddress: A('22'),
    gpuModel: 'H100',
    gpuCount: 8,
    vramGiB: 80,
    region: 'eu-west',
    latencyMs: 12,
    tee: false,
    energy: { carbonGPerKwh: 120, renewableShare: 0.7 },
    benchmark: { kind: 'sha256-hash-chain', score: 1_000_000, measuredAt: '2026-11-24T12:00:00.000Z' },
    reputation: 0.5,
    stakeWei: 0n,
    poolId: 'pool-gold',
    runtimes: ['hash-chain', 'matmul'],
  },
  NodeAvailabilityChanged: { nodeId: 'node-1', online: true, reason: 'registered' },
  NodeReputationChanged: { nodeId: 'node-1', reputation: 0.55, jobId: 'job-1', reason: 'job released' },
  NodeStakeChanged: { nodeId: 'node-1', poolId: 'pool-gold', stakeWei: 300n * AGPU, blockNumber: '42', txHash: H('b2') },
  NodeKeyBound: { nodeAddress: A('22'), nodeId: 'node-1' },
  JobSubmitted: {
    jobId: 'job-1',
    orgId: 'org-1',
    requesterAddress: A('11'),
    category: 'inference',
    budgetWei: 50n * AGPU,
    urgency: 'normal',
    latencyPreference: 'normal',
    requirements: { gpuModels: ['H100'], gpuCount: 1, minVramGiB: 40, tee: false, regions: ['eu-west'], maxLatencyMs: 50 },
    expectedRuntimeSec: 60,
    deadlineSec: 600,
    green: false,
    workload: { kind: 'hash-chain', seed: 'seed', iterations: 1000 },
  },
  JobWaiting: { jobId: 'job-1', reason: 'capacity: no free node satisfies gpuModel=H100, count=1', hold: { nodeId: 'node-1', gpuCount: 2, sinceMs: 1_700_000_000_000 } },
  JobMatched: {
    jobId: 'job-1',
    nodeId: 'node-1',
    nodeAddress: A('22'),
    gpuCount: 1,
    priceWeiPerHour: 2n * AGPU,
    costWei: AGPU / 30n,
    quote: { costWei: (AGPU / 30n).toString() },
    receipt: { jobId: 'job-1', engineVersion: 'starminer-matching/1.1.0' },
    engineVersion: 'starminer-matching/1.1.0',
    decidedAfterSeq: 41,
  },
  JobFailed: { jobId: 'job-1', code: 'NO_NODE', reason: 'no node will ever satisfy it' },
  JobCancelled: { jobId: 'job-1', reason: 'cancelled by requester' },
  ContractOpened: {
    jobId: 'job-1',
    chainJobId: H('c3'),
    contractAddress: A('33'),
    requesterAddress: A('11'),
    nodeAddress: A('22'),
    escrowWei: AGPU / 30n,
    deadlineUnixSec: 1_800_000_000,
    termsHash: H('d4'),
    txHash: H('e5'),
    blockNumber: '7',
  },
  ContractOpenFailed: { jobId: 'job-1', code: 'InsufficientAllowance', reason: 'the requester has not approved enough AGPU' },
  JobStarted: { jobId: 'job-1', nodeId: 'node-1' },
  ResultSubmitted: { jobId: 'job-1', nodeId: 'node-1', resultHash: H('f6'), proofHash: H('a7'), signature: `0x${'1b'.repeat(65)}`, output: 'deadbeef' },
  ResultRejected: { jobId: 'job-1', code: 'RESULT_WRONG', reason: 'recomputed result differs' },
  SettlementDecided: { jobId: 'job-1', outcome: 'release', reason: 'result and proof verified' },
  ContractReleased: { jobId: 'job-1', nodeAddress: A('22'), amountWei: AGPU / 30n, txHash: H('b8') },
  ContractRefunded: { jobId: 'job-1', requesterAddress: A('11'), amountWei: AGPU / 30n, txHash: null },
  ContractToppedUp: { jobId: 'job-1', topUpId: 'topup-1', extraCostWei: AGPU / 60n, extraRuntimeSec: 1_800, newCostWei: AGPU / 20n, newDeadlineUnixSec: 1_800_001_800, txHash: H('b9'), blockNumber: '9' },
  ChainEffectRestored: { jobId: 'job-1', action: 'release', previousTxHash: H('c1'), txHash: H('c2'), blockNumber: '77' },
  ChainEffectLost: { jobId: 'job-1', action: 'open', previousTxHash: H('c1'), code: 'DeadlineInPast', reason: 'the chain lost the open and its deadline has passed' },
  PriceChanged: { gpuClass: 'H100', region: 'eu-west', atMs: 1_700_000_000_000, previousMultiplierBps: 10_000, multiplierBps: 10_500, utilizationBps: 9_000, smoothedUtilizationBps: 8_000 },
  SurgeStarted: { gpuClass: 'H100', region: 'eu-west', atMs: 1_700_000_060_000, trigger: 'queue-depth', smoothedUtilizationBps: 8_000, queueDepth: 140 },
  SurgeEnded: { gpuClass: 'H100', region: 'eu-west', atMs: 1_700_000_960_000, startedAtMs: 1_700_000_060_000, calmSinceMs: 1_700_000_660_000, smoothedUtilizationBps: 6_900, queueDepth: 12 },
  StakeSlashed: { poolId: 'pool-gold', nodeId: 'node-1', nodeAddress: A('22'), jobId: 'job-1', amountWei: AGPU, recipient: A('11'), txHash: H('c9') },
  AnchorPosted: { index: 0, fromSeq: 1, toSeq: 100, root: H('da'), txHash: H('eb') },
};

/** Every path to a leaf or a container of a JSON value (for property tests that break one field at a time). */
export function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}

/** A copy of `value` with `replacement` at `path` (the rest shared). */
export function withValueAt(value: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...(value as unknown[])] : { ...(value as object) }) as Record<string | number, unknown>;
  copy[head] = withValueAt(copy[head], rest, replacement);
  return copy;
}
