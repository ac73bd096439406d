import { z } from 'zod';
import type { ContractState, JobState } from '@starminer/domain';
import type { EventData, JobAnswer, JobRedundancyAnswer, JobStatus, JobRequirements, PriceTerms, Workload, matchReceiptSchema } from '@starminer/events';
import type { JobView } from '../views/entities';

/**
 * What a client reads of a job, from the gateway's view: one name per concept (gpuModel,
 * priceWeiPerGpuHour, ...At instants, ...Sec durations) and one status vocabulary, whatever names
 * the engine and the contract use inside. Pure, so every mapping has a spec.
 */

const weiString = z.union([z.string().regex(/^(0|[1-9][0-9]{0,77})$/), z.number().int().nonnegative()]).transform(String);

/** The engine's quote as JobMatched stores it (bigints as decimal strings; priceWeiPerHour is for all the job's GPUs). */
const storedQuoteSchema = z.object({
  gpuClass: z.string(),
  region: z.string(),
  tier: z.enum(['priority', 'standard', 'economy']),
  basePriceWeiPerGpuHour: weiString,
  tierMultiplierBps: z.number().int(),
  utilizationMultiplierBps: z.number().int(),
  priceWeiPerHour: weiString,
  runtimeSec: z.number().int(),
  costWei: weiString,
});

/** The price fixed at match as PriceTerms: the engine's hourly price for all GPUs, per GPU-hour. Null for a quote of another shape. */
export function priceTermsOfMatch(quote: unknown, gpuCount: number): PriceTerms | null {
  const q = storedQuoteSchema.safeParse(quote);
  if (!q.success || gpuCount < 1) return null;
  const { gpuClass, priceWeiPerHour, ...terms } = q.data;
  // exact: the engine's hourly price is the per-GPU price times the GPUs
  return { ...terms, gpuModel: gpuClass, priceWeiPerGpuHour: (BigInt(priceWeiPerHour) / BigInt(gpuCount)).toString(), gpuCount };
}

const storedCandidateSchema = z.object({ nodeId: z.string(), gpuClass: z.string(), region: z.string(), gpuCount: z.number().int(), score: z.record(z.string(), z.number()) });

/** The engine's MatchReceipt as JobMatched stores it. */
const storedReceiptSchema = z.object({
  engineVersion: z.string(),
  strategy: z.enum(['indexed', 'full-scan']),
  jobId: z.string(),
  // within what a Date can hold, so the instant always renders
  atMs: z.number().int().nonnegative().max(8.64e15),
  tier: z.enum(['priority', 'standard', 'economy']),
  candidatesConsidered: z.number().int(),
  marketsEligible: z.number().int(),
  winner: storedCandidateSchema,
  runnerUp: storedCandidateSchema.nullable(),
  price: storedQuoteSchema.extend({ gpuCount: z.number().int(), budgetWei: weiString }),
  weights: z.record(z.string(), z.number()),
  referenceCostWei: weiString,
  surge: z.boolean(),
  // engine 2.1.0 on, when surge; absent on receipts made before
  surgePreference: z.object({ sinceMs: z.number().int().nonnegative().max(8.64e15), winnerStaked: z.boolean() }).optional(),
  rerouted: z.object({ forJobId: z.string(), fromNodeId: z.string() }).optional(),
  hold: z.object({ nodeId: z.string(), sinceMs: z.number().int().nonnegative().max(8.64e15) }).optional(),
});

type Receipt = z.input<typeof matchReceiptSchema>;

const candidateOf = (c: z.output<typeof storedCandidateSchema>): Receipt['winner'] => ({ nodeId: c.nodeId, gpuModel: c.gpuClass, region: c.region, gpuCount: c.gpuCount, score: c.score });

/** The engine's receipt in the API's names (gpuModel, PriceTerms, ...At instants). Null for a receipt of another shape. */
export function matchReceiptOf(receipt: unknown): Receipt | null {
  const r = storedReceiptSchema.safeParse(receipt);
  if (!r.success) return null;
  const { gpuCount, budgetWei, ...quote } = r.data.price;
  const price = priceTermsOfMatch(quote, gpuCount);
  if (!price) return null;
  return {
    engineVersion: r.data.engineVersion,
    strategy: r.data.strategy,
    jobId: r.data.jobId,
    matchedAt: new Date(r.data.atMs).toISOString(),
    tier: r.data.tier,
    candidatesConsidered: r.data.candidatesConsidered,
    marketsEligible: r.data.marketsEligible,
    winner: candidateOf(r.data.winner),
    runnerUp: r.data.runnerUp ? candidateOf(r.data.runnerUp) : null,
    price,
    budgetWei,
    weights: r.data.weights,
    referenceCostWei: r.data.referenceCostWei,
    surge: r.data.surge,
    ...(r.data.surgePreference ? { surgePreference: { sinceAt: new Date(r.data.surgePreference.sinceMs).toISOString(), winnerStaked: r.data.surgePreference.winnerStaked } } : {}),
    ...(r.data.rerouted ? { rerouted: r.data.rerouted } : {}),
    ...(r.data.hold ? { hold: { nodeId: r.data.hold.nodeId, heldSinceAt: new Date(r.data.hold.sinceMs).toISOString() } } : {}),
  };
}

/** The GPUs a matched job runs on: recorded from JobMatched, or (a row projected before that) from its receipt. */
function gpuCountOf(j: JobView): number | null {
  if (j.gpuCount !== null && j.gpuCount !== undefined) return j.gpuCount;
  const fromReceipt = (j.receipt as { price?: { gpuCount?: unknown } } | null)?.price?.gpuCount;
  return typeof fromReceipt === 'number' && Number.isInteger(fromReceipt) && fromReceipt > 0 ? fromReceipt : null;
}

/** A failure as the client sees it: a cancelled job's reason carries the code CANCELLED, as its job update does. */
function failureOf(j: JobView): JobAnswer['failure'] {
  if (!j.failureCode && !j.failureReason) return null;
  return { code: j.failureCode ?? (j.status === 'cancelled' ? 'CANCELLED' : 'UNKNOWN'), reason: j.failureReason ?? '' };
}

/** Statuses in which the escrow runs toward its deadline (a top-up can extend it). */
const RUNWAY_STATUSES: readonly string[] = ['contracted', 'running'];

/** Seconds from `nowMs` until the job's escrow deadline (0 once passed), while contracted or running; null otherwise. */
export function runwaySecOf(j: Pick<JobView, 'status' | 'deadlineUnixSec'>, nowMs: number): number | null {
  if (j.deadlineUnixSec === null || !RUNWAY_STATUSES.includes(j.status)) return null;
  return Math.max(0, Number(j.deadlineUnixSec) - Math.floor(nowMs / 1000));
}

type StoredCopy = EventData<'JobSubmitted'>['redundantCopy'] & object;
type StoredVerdict = Omit<EventData<'RedundancyVerdictRecorded'>, 'jobId'>;

/**
 * A redundant job's group (issue 17): the group as submitted, each copy's node, result and outcome
 * (from `siblings`, the group's rows; a page of jobs passes none and gets `runs: null`), and the
 * group's verdict as the first decided copy recorded it. Null for a single run.
 */
export function redundancyAnswerOf(j: JobView, siblings?: readonly JobView[]): JobRedundancyAnswer | null {
  const copy = j.redundantCopy as StoredCopy | null;
  if (!copy) return null;
  const rows = siblings ? [...siblings].filter((s) => s.redundantCopy).sort((a, b) => (a.redundantCopy as StoredCopy).copyIndex - (b.redundantCopy as StoredCopy).copyIndex) : [j];
  const decided = rows.map((r) => r.redundancyVerdict as StoredVerdict | null).find((v) => v !== null && v !== undefined) ?? null;
  return {
    groupId: copy.groupId,
    copyIndex: copy.copyIndex,
    copies: copy.copies,
    compare: copy.compare,
    runs: siblings
      ? rows.map((r) => ({
          jobId: r.jobId,
          copyIndex: (r.redundantCopy as StoredCopy).copyIndex,
          status: r.status as JobStatus,
          nodeId: r.nodeId,
          resultHash: r.resultHash,
          outcome: (r.redundancyVerdict as StoredVerdict | null)?.outcome ?? null,
        }))
      : null,
    verdict: decided
      ? {
          kind: decided.outcome === 'tie' ? 'tie' : 'majority',
          reason: decided.outcome === 'tie' ? decided.reason : `${decided.agreeingNodeIds.length} of ${decided.copies} copies agree`,
          referenceNodeId: decided.referenceNodeId,
          agreeingNodeIds: decided.agreeingNodeIds,
          dissentingNodeIds: decided.dissentingNodeIds,
        }
      : null,
  };
}

export function jobAnswerOf(j: JobView, nowMs: number = Date.now(), siblings?: readonly JobView[]): JobAnswer {
  const gpuCount = j.nodeId ? gpuCountOf(j) : null;
  return {
    jobId: j.jobId,
    status: j.status as JobStatus,
    category: j.category as JobAnswer['category'],
    urgency: j.urgency as JobAnswer['urgency'],
    budgetWei: j.budgetWei.toString(),
    expectedRuntimeSec: j.expectedRuntimeSec,
    deadlineSec: j.deadlineSec ?? null,
    requirements: j.requirements as JobRequirements,
    workload: j.workload as Workload,
    nodeId: j.nodeId,
    gpuCount,
    priceWeiPerGpuHour: j.priceWeiPerHour !== null && gpuCount ? (j.priceWeiPerHour / BigInt(gpuCount)).toString() : null,
    costWei: j.costWei?.toString() ?? null,
    quote: j.quote && gpuCount ? priceTermsOfMatch(j.quote, gpuCount) : null,
    receipt: j.receipt ? matchReceiptOf(j.receipt) : null,
    contractAddress: j.contractAddress,
    deadlineAt: j.deadlineUnixSec === null ? null : new Date(Number(j.deadlineUnixSec) * 1000).toISOString(),
    escrowWei: j.escrowWei?.toString() ?? null,
    runwaySec: runwaySecOf(j, nowMs),
    txHashes: { open: j.openTxHash, settle: j.settleTxHash },
    result: j.resultHash ? { output: j.resultOutput ?? '', resultHash: j.resultHash } : null,
    attestation: (j.attestation as JobAnswer['attestation']) ?? null,
    waitingReason: j.waitingReason,
    failure: failureOf(j),
    ...(j.redundantCopy ? { redundancy: redundancyAnswerOf(j, siblings) } : {}),
    submittedAt: j.submittedAt.toISOString(),
    updatedAt: j.updatedAt.toISOString(),
  };
}

/**
 * A contract's state as a job status: open → contracted, running → running, settling toward a
 * release → completed (toward a refund the job stays running until the refund lands, as its job
 * updates say), released → settled, refunded → refunded, an open that failed or a settle the chain
 * lost → failed.
 */
export function jobStatusOfContract(status: string, outcome?: 'release' | 'refund'): JobStatus | null {
  switch (status) {
    case 'open':
      return 'contracted';
    // awaiting-verdict: a redundant copy's verified result, held for its group's verdict
    case 'running':
    case 'awaiting-verdict':
      return 'running';
    // its attempt failed: queued again for another node
    case 'reassigning':
      return 'queued';
    case 'settling':
      return outcome === 'release' ? 'completed' : 'running';
    case 'released':
      return 'settled';
    case 'refunded':
      return 'refunded';
    case 'open-failed':
    case 'settle-lost':
      return 'failed';
    default:
      return null;
  }
}

/** A job's status from its own aggregate and its contract's, as the log has them now (no view in between). */
export function jobStatusOf(job: JobState, contract: ContractState): JobStatus | null {
  switch (job.status) {
    case 'none':
      return null;
    case 'queued':
    case 'cancelled':
    case 'failed':
      return job.status;
    case 'matched':
      if (contract.status === 'none') return 'matched';
      return jobStatusOfContract(contract.status, contract.status === 'settling' ? contract.outcome : undefined);
  }
}
