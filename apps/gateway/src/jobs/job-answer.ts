import { z } from 'zod';
import type { ContractState, JobState } from '@starminer/domain';
import type { JobAnswer, JobStatus, JobRequirements, PriceTerms, Workload, matchReceiptSchema } from '@starminer/events';
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

export function jobAnswerOf(j: JobView): JobAnswer {
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
    txHashes: { open: j.openTxHash, settle: j.settleTxHash },
    result: j.resultHash ? { output: j.resultOutput ?? '', resultHash: j.resultHash } : null,
    waitingReason: j.waitingReason,
    failure: failureOf(j),
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
    case 'running':
      return 'running';
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
