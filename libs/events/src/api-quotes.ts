import { z } from 'zod';
import { priceTermsSchema } from './api-answers';
import { apiComponent } from './api-components';
import { LIMITS } from './limits';
import { idSchema } from './primitives';

/**
 * The answer of `POST /v1/quotes`: a dry run of the matching engine's own routing and pricing on
 * its current state, for a job's body as it would be submitted. Nothing is appended, reserved or
 * held: a quote is what the engine would decide now, not a promise.
 */

/**
 * Why a job would not be matched now, in the engine's vocabulary, most specific first: the
 * requirement no registered node meets, the budget below the cheapest price, no node online,
 * or every node that could run it busy.
 */
export const QUOTE_REASON_CODES = [
  /** a GPU model the engine has no price for */
  'unknown-gpu-model',
  /** no node of the asked GPU models is registered (any model, when none is asked: no supply at all) */
  'no-supply-for-gpu-model',
  /** the GPU models are registered, but in none of the asked regions */
  'no-supply-in-region',
  /** no node there has that many GPUs */
  'gpu-count-unavailable',
  /** no node there with enough GPUs has the VRAM asked */
  'vram-unavailable',
  /** no node there with the GPUs and VRAM asked runs in a TEE */
  'tee-unavailable',
  /** no node there that meets the rest is within maxLatencyMs */
  'latency-unavailable',
  /** the job cannot finish before its deadline on any GPU model it may use */
  'deadline-unmeetable',
  /** the cheapest price of a market that could run it is above the budget */
  'budget-below-price',
  /** the nodes that could run it are registered but offline */
  'no-node-online',
  /** every online node that could run it is busy (or held for a large job): it would wait for capacity */
  'capacity-busy',
] as const;
export type QuoteReasonCode = (typeof QUOTE_REASON_CODES)[number];

/** What one nearest option changes in the job: its budget, its regions, or its GPU models. */
export const QUOTE_CHANGES = ['budget', 'region', 'gpuModel'] as const;
export type QuoteChange = (typeof QUOTE_CHANGES)[number];

/**
 * How `expectedWaitSec` was estimated: a node is free now (the next match round takes it); every
 * node that could run it is busy (the engine does not know when running jobs end: no estimate);
 * nothing could run it as it is.
 */
export const WAIT_BASES = ['free-capacity-now', 'capacity-busy', 'not-feasible'] as const;
export type WaitBasis = (typeof WAIT_BASES)[number];

const countSchema = z.number().int().nonnegative();

export const quoteMarketSchema = apiComponent(
  'QuoteMarket',
  z.strictObject({
    /** the price in this market now, for this job (its tier, GPU count and runtime) */
    price: priceTermsSchema,
    /** online nodes here that meet every requirement of the job (busy or not) */
    nodesEligible: countSchema,
    /** of those, the ones with enough free GPUs now (not held for a large job) */
    nodesFree: countSchema,
    /** free GPUs on the eligible nodes now */
    freeGpus: countSchema,
    /** share of this market's online GPUs in use, basis points (10,000 = all) */
    utilizationBps: z.number().int().min(0).max(10_000),
    /** false when counting the online nodes stopped at the quote's bound: nodesEligible is then a lower bound (nodesFree and freeGpus are always exact) */
    countsComplete: z.boolean(),
  }),
  'a market (GPU model × region) that could run the job: its price now and the nodes that could take it',
);
export type QuoteMarket = z.infer<typeof quoteMarketSchema>;

export const quoteReasonSchema = apiComponent(
  'QuoteReason',
  z.strictObject({ code: z.enum(QUOTE_REASON_CODES), message: z.string().max(LIMITS.reasonLengthMax) }),
  'why the job would not be matched now: a machine-readable code and a sentence naming the requirement',
);
export type QuoteReason = z.infer<typeof quoteReasonSchema>;

export const quoteAlternativeSchema = apiComponent(
  'QuoteAlternative',
  z.strictObject({
    change: z.enum(QUOTE_CHANGES),
    /** the new value: a budget in Wei (a decimal string of at most 78 digits, as every Wei), a region, or a GPU model */
    value: z.string().max(Math.max(78, LIMITS.gpuModelLengthMax, LIMITS.regionLengthMax)),
    /** the price the engine would give the job with this one change, now */
    price: priceTermsSchema,
    /** the node it would pick */
    nodeId: idSchema,
  }),
  'the nearest option the engine would match now: the job with one change (the budget that is enough, another region, another GPU model)',
);
export type QuoteAlternative = z.infer<typeof quoteAlternativeSchema>;

export const quoteSchema = apiComponent(
  'Quote',
  z.strictObject({
    /** whether some online node could run the job as it is (now, or once it has capacity) */
    feasible: z.boolean(),
    /** the price the engine would give it now, on the node it would pick; null when no node could take it now */
    price: priceTermsSchema.nullable(),
    nodeId: idSchema.nullable(),
    /** every market that could run it, cheapest first, at most LIMITS.quoteMarketsMax */
    markets: z.array(quoteMarketSchema).max(LIMITS.quoteMarketsMax),
    /** how many markets could run it (markets lists the cheapest of them) */
    marketsTotal: countSchema,
    /** seconds until it would be matched, estimated as waitBasis says; null when it cannot be known */
    expectedWaitSec: countSchema.nullable(),
    waitBasis: z.enum(WAIT_BASES),
    /** queued jobs of its category that come before it and could use the same markets */
    queuedAhead: countSchema,
    /** why it would not be matched now (empty when price is set) */
    reasons: z.array(quoteReasonSchema).max(QUOTE_REASON_CODES.length),
    /** the nearest options the engine would match now, one per kind of change (when price is null) */
    nearest: z.array(quoteAlternativeSchema).max(QUOTE_CHANGES.length),
    quotedAt: z.iso.datetime(),
    engineVersion: z.string().max(LIMITS.codeLengthMax),
  }),
  'what the matching engine would decide for this job now, by the same rules as a real match, with nothing appended, reserved or held. ' +
    'A quote is not a promise: prices move with utilization and other jobs may take the capacity first. ' +
    'price is the price it would get on the node it would pick now; markets every market that could run it, cheapest first; ' +
    'where nothing fits now, reasons say why and nearest the nearest options that would match.',
);
export type QuoteAnswer = z.infer<typeof quoteSchema>;
