import { initialContractState, initialJobState, type ContractState, type JobState } from '@starminer/domain';
import { jobSchema, toJson, type JobStatus } from '@starminer/events';
import { DEFAULT_ENGINE_CONFIG, MatchingEngine, type Match } from '@starminer/matching';
import type { JobView } from '../views/entities';
import { cancelRefusal } from './cancel-job';
import { jobAnswerOf, jobStatusOf, jobStatusOfContract, matchReceiptOf, priceTermsOfMatch } from './job-answer';

const AGPU = 10n ** 18n;
const MATCHED_AT_MS = Date.UTC(2026, 0, 15, 10, 0, 1);

/** A match made by the real engine (2 GPUs of a 4-GPU node), stored as JobMatched stores it: JSON, bigints as strings. */
function engineMatch(): { match: Match; quote: unknown; receipt: unknown } {
  const engine = new MatchingEngine(DEFAULT_ENGINE_CONFIG);
  const node = { providerAddress: '0x0000000000000000000000000000000000000001', gpuModel: 'A100', gpuCount: 4, vramGiB: 80, region: 'us-east', latencyMs: 20, tee: false };
  engine.upsertNode({ ...node, nodeId: 'n1', carbonGPerKwh: 100, renewableShare: 0.5, benchmarkScore: 100, reputation: 0.9, stakeWei: 0n, online: true }, 0);
  engine.upsertNode({ ...node, nodeId: 'n2', carbonGPerKwh: 400, renewableShare: 0.1, benchmarkScore: 80, reputation: 0.5, stakeWei: 0n, online: true }, 0);
  engine.submitJob({
    jobId: 'j1',
    category: 'inference',
    budgetWei: 1_000n * AGPU,
    urgency: 'normal',
    latencyPreference: 'normal',
    expectedRuntimeSec: 3_600,
    green: false,
    submittedAtMs: 0,
    requirements: { gpuModels: ['A100'], gpuCount: 2, minVramGiB: 0, tee: false, regions: [] },
  });
  const [match] = engine.matchPending(MATCHED_AT_MS, 10);
  if (!match) throw new Error('the engine matched nothing');
  return { match, quote: JSON.parse(toJson(match.quote)), receipt: JSON.parse(toJson(match.receipt)) };
}

const view = (over: Partial<JobView> = {}): JobView =>
  Object.assign(new Object() as JobView, {
    jobId: 'j1',
    orgId: 'org-1',
    status: 'queued',
    category: 'inference',
    urgency: 'normal',
    budgetWei: 1_000n * AGPU,
    expectedRuntimeSec: 3_600,
    deadlineSec: 36_000,
    requirements: { gpuModels: ['A100'], gpuCount: 2, minVramGiB: 0, tee: false, regions: [] },
    workload: { kind: 'hash-chain', seed: 's', iterations: 10 },
    nodeId: null,
    nodeAddress: null,
    gpuCount: null,
    priceWeiPerHour: null,
    costWei: null,
    quote: null,
    receipt: null,
    contractAddress: null,
    deadlineUnixSec: null,
    openTxHash: null,
    settleTxHash: null,
    settledAt: null,
    resultOutput: null,
    resultHash: null,
    attestation: null,
    waitingReason: null,
    failureCode: null,
    failureReason: null,
    submittedAt: new Date(0),
    updatedAt: new Date(MATCHED_AT_MS),
    lastSeq: '1',
    ...over,
  });

describe('the job as its org reads it', () => {
  it('given an engine quote for 2 GPUs, then its terms are per GPU-hour under the API names, and cost the same', () => {
    const { match, quote } = engineMatch();
    const terms = priceTermsOfMatch(quote, match.gpuCount)!;
    expect(terms).toEqual({
      gpuModel: 'A100',
      region: 'us-east',
      tier: 'standard',
      basePriceWeiPerGpuHour: match.quote.basePriceWeiPerGpuHour.toString(),
      tierMultiplierBps: match.quote.tierMultiplierBps,
      utilizationMultiplierBps: match.quote.utilizationMultiplierBps,
      priceWeiPerGpuHour: (match.quote.priceWeiPerHour / 2n).toString(),
      gpuCount: 2,
      runtimeSec: match.quote.runtimeSec,
      costWei: match.quote.costWei.toString(),
    });
    expect(BigInt(terms.priceWeiPerGpuHour) * 2n).toBe(match.quote.priceWeiPerHour);
  });

  it('given a quote of another shape, then there are no terms rather than wrong ones', () => {
    expect(priceTermsOfMatch({ costWei: '1' }, 1)).toBeNull();
    expect(matchReceiptOf({ jobId: 'j1', engineVersion: 'x' })).toBeNull();
  });

  it("given the engine's receipt, then it reads in the API's names: gpuModel, PriceTerms, an ISO instant", () => {
    const { match, receipt } = engineMatch();
    const r = matchReceiptOf(receipt)!;
    expect(r).toMatchObject({
      engineVersion: match.receipt.engineVersion,
      jobId: 'j1',
      matchedAt: new Date(MATCHED_AT_MS).toISOString(),
      winner: { nodeId: match.nodeId, gpuModel: 'A100', region: 'us-east', gpuCount: 2 },
      price: { gpuModel: 'A100', gpuCount: 2, costWei: match.quote.costWei.toString() },
      budgetWei: (1_000n * AGPU).toString(),
    });
    expect(r.runnerUp).toMatchObject({ gpuModel: 'A100' });
    expect(JSON.stringify(r)).not.toContain('gpuClass');
  });

  it('given a receipt made in a surge, then it keeps the staked-pool preference with its start as an instant; a receipt made before engine 2.1.0 has none, and both fit the schema', () => {
    const { match, quote, receipt } = engineMatch();
    const sinceMs = MATCHED_AT_MS - 120_000;
    const inSurge = { ...(receipt as object), surge: true, surgePreference: { sinceMs, winnerStaked: false } };
    const r = matchReceiptOf(inSurge)!;
    expect(r).toMatchObject({ surge: true, surgePreference: { sinceAt: new Date(sinceMs).toISOString(), winnerStaked: false } });
    expect(matchReceiptOf(receipt)).not.toHaveProperty('surgePreference');
    const matched = { status: 'matched', nodeId: match.nodeId, gpuCount: 2, priceWeiPerHour: match.quote.priceWeiPerHour, costWei: match.quote.costWei, quote: quote as object };
    for (const stored of [inSurge, receipt as object]) expect(jobSchema.safeParse(jobAnswerOf(view({ ...matched, receipt: stored }))).success).toBe(true);
    // a preference of another shape: no receipt rather than a wrong one
    expect(matchReceiptOf({ ...(receipt as object), surge: true, surgePreference: { sinceMs: 'soon', winnerStaked: true } })).toBeNull();
  });

  it('given a settled job, then every field fits the Job schema, with the deadline as an instant and the price per GPU-hour', () => {
    const { match, quote, receipt } = engineMatch();
    const answer = jobAnswerOf(
      view({
        status: 'settled',
        nodeId: match.nodeId,
        gpuCount: match.gpuCount,
        priceWeiPerHour: match.quote.priceWeiPerHour,
        costWei: match.quote.costWei,
        quote: quote as object,
        receipt: receipt as object,
        contractAddress: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
        deadlineUnixSec: '1800000000',
        openTxHash: `0x${'a1'.repeat(32)}`,
        settleTxHash: `0x${'b2'.repeat(32)}`,
        resultOutput: 'out',
        resultHash: `0x${'c3'.repeat(32)}`,
      }),
    );
    expect(jobSchema.safeParse(answer).error).toBeUndefined();
    expect(answer).toMatchObject({
      deadlineSec: 36_000,
      deadlineAt: '2027-01-15T08:00:00.000Z',
      gpuCount: 2,
      priceWeiPerGpuHour: (match.quote.priceWeiPerHour / 2n).toString(),
      quote: { gpuModel: 'A100', gpuCount: 2 },
      receipt: { winner: { nodeId: match.nodeId } },
    });
  });

  it('given a row matched before gpuCount was kept, then the GPUs come from its receipt', () => {
    const { match, quote, receipt } = engineMatch();
    const answer = jobAnswerOf(view({ status: 'matched', nodeId: match.nodeId, gpuCount: null, priceWeiPerHour: match.quote.priceWeiPerHour, quote: quote as object, receipt: receipt as object }));
    expect(answer.gpuCount).toBe(2);
    expect(answer.quote?.priceWeiPerGpuHour).toBe((match.quote.priceWeiPerHour / 2n).toString());
  });

  it('given a queued job, a cancelled one and one with a rejected result, then each fits the schema and a failure always has a code', () => {
    const queued = jobAnswerOf(view({ waitingReason: 'no node satisfies gpuModel=A100, count=2' }));
    const cancelled = jobAnswerOf(view({ status: 'cancelled', failureReason: 'cancelled by requester' }));
    const rejected = jobAnswerOf(view({ status: 'refunded', failureCode: 'RESULT_WRONG', failureReason: 'recomputed result differs', deadlineSec: null }));
    for (const a of [queued, cancelled, rejected]) expect(jobSchema.safeParse(a).error).toBeUndefined();
    expect(queued).toMatchObject({ status: 'queued', nodeId: null, gpuCount: null, quote: null, receipt: null, deadlineAt: null, failure: null });
    expect(cancelled.failure).toEqual({ code: 'CANCELLED', reason: 'cancelled by requester' });
    expect(rejected).toMatchObject({ failure: { code: 'RESULT_WRONG' }, deadlineSec: null });
  });
});

describe('one status vocabulary: a contract state as a job status', () => {
  it.each([
    ['open', undefined, 'contracted'],
    ['running', undefined, 'running'],
    ['settling', 'release', 'completed'],
    ['settling', 'refund', 'running'],
    ['released', undefined, 'settled'],
    ['refunded', undefined, 'refunded'],
    ['open-failed', undefined, 'failed'],
    ['settle-lost', undefined, 'failed'],
    ['none', undefined, null],
  ] as const)('the contract %s (%s) is the job status %s', (state, outcome, status) => {
    expect(jobStatusOfContract(state, outcome)).toBe(status);
  });

  it('the job aggregate and the contract aggregate together give the job status on the log', () => {
    const matched: JobState = { status: 'matched', jobId: 'j1', orgId: 'o', budgetWei: 1n, nodeId: 'n1', costWei: 1n };
    const released = { status: 'released', settleTxHash: null } as unknown as ContractState;
    expect(jobStatusOf(initialJobState(), initialContractState())).toBeNull();
    expect(jobStatusOf({ status: 'queued', jobId: 'j1', orgId: 'o', budgetWei: 1n }, initialContractState())).toBe('queued');
    expect(jobStatusOf({ status: 'cancelled', jobId: 'j1', orgId: 'o' }, initialContractState())).toBe('cancelled');
    expect(jobStatusOf(matched, initialContractState())).toBe('matched');
    expect(jobStatusOf(matched, released)).toBe('settled');
  });
});

describe('cancelling: what a job that is not queued says', () => {
  it('given a queued job, then nothing refuses it', () => {
    expect(cancelRefusal('j1', 'queued')).toBeNull();
  });

  it.each(['settled', 'refunded', 'failed', 'cancelled'] as JobStatus[])('given a %s job, then JOB_ALREADY_FINAL naming the status', (status) => {
    const refusal = cancelRefusal('j1', status)!;
    expect(refusal).toMatchObject({ code: 'JOB_ALREADY_FINAL', kind: 'conflict', details: { status } });
    expect(refusal.message).toContain(status);
  });

  it.each(['matched', 'contracted', 'running', 'completed'] as JobStatus[])('given a %s job, then JOB_NOT_CANCELLABLE naming the status', (status) => {
    const refusal = cancelRefusal('j1', status)!;
    expect(refusal).toMatchObject({ code: 'JOB_NOT_CANCELLABLE', kind: 'conflict', details: { status } });
    expect(refusal.message).toContain(status);
  });
});
