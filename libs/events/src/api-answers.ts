import { z } from 'zod';
import { apiComponent, errorEnvelopeSchema } from './api-components';
import { SERVICES_WITH_PARKING } from './services';
import { jobStatusSchema } from './job-updates';
import { LIMITS } from './limits';
import { attestationRecordSchema } from './catalogue';
import { parkedEventSchema } from './messages';
import { bytes32Schema, CATEGORIES, gpuModelSchema, idSchema, regionSchema, requirementsSchema, resultComparisonSchema, URGENCIES, workloadSchema } from './primitives';

/**
 * The v1 API's answers, as they are on the wire. Names are one per concept across the API:
 * `gpuModel` (never gpuClass), `region`, prices per GPU-hour as `priceWeiPerGpuHour`, amounts as
 * decimal strings of AGPU base units with `Wei` in the name, instants as ISO 8601 `...At`,
 * durations in seconds as `...Sec`, job statuses from JOB_STATUSES.
 */

/** A decimal string of AGPU base units (18 decimals). */
export const weiStringSchema = apiComponent('Wei', z.string().regex(/^(0|[1-9][0-9]{0,77})$/), 'an amount of AGPU base units (18 decimals) as a decimal string');

export const PRICE_TIERS = ['priority', 'standard', 'economy'] as const;

/**
 * The terms of a price: base × tier multiplier × utilization multiplier per GPU-hour, times GPUs
 * and runtime. A job's price as fixed at match, and a quote's price now, are both these terms.
 */
export const priceTermsSchema = apiComponent(
  'PriceTerms',
  z.strictObject({
    gpuModel: gpuModelSchema,
    region: regionSchema,
    tier: z.enum(PRICE_TIERS),
    basePriceWeiPerGpuHour: weiStringSchema,
    /** 10,000 = 1.0 */
    tierMultiplierBps: z.number().int().nonnegative(),
    /** 10,000 = 1.0; moves with the market's smoothed utilization */
    utilizationMultiplierBps: z.number().int().nonnegative(),
    priceWeiPerGpuHour: weiStringSchema,
    gpuCount: z.number().int().positive().max(LIMITS.gpusPerNodeMax),
    runtimeSec: z.number().int().positive(),
    costWei: weiStringSchema,
  }),
  'the price of a job: priceWeiPerGpuHour = base × tier × utilization (basis points, 10,000 = 1.0); costWei = priceWeiPerGpuHour × gpuCount × runtimeSec / 3600',
);
export type PriceTerms = z.infer<typeof priceTermsSchema>;

export const urgencyTierSchema = z.strictObject({ tier: z.enum(PRICE_TIERS), urgencies: z.array(z.enum(URGENCIES)) });

// ------------------------------------------------------------------------------------- shared pieces

/** An instant as ISO 8601 with its offset (`...At`). */
const instantSchema = z.iso.datetime({ offset: true });
const addressOut = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
/** A chain transaction's hash (32 bytes). */
const txHashOut = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
/** A page's cursor: pass it back as `?cursor=` for the next page; null on the last page. */
const nextCursorSchema = z.string().nullable();

export const jobRequirementsSchema = apiComponent('JobRequirements', requirementsSchema, 'what a job asks of the node it runs on; gpuCount 0 = any count the engine finds best for the budget and deadline');
export const workloadComponentSchema = apiComponent('Workload', workloadSchema, 'what the provider runs: hash-chain and matmul anyone can recompute; command only on nodes that turned the runtime on');

// ---------------------------------------------------------------------------------------------- orgs

export const orgCreatedSchema = apiComponent(
  'OrgCreated',
  z.strictObject({ orgId: idSchema, name: z.string(), apiKey: z.string().min(1), accountAddress: addressOut }),
  'a new org: its API key (shown once, keep it) and its custodial on-chain account',
);

export const accountSchema = apiComponent(
  'Account',
  z.strictObject({ orgId: idSchema, name: z.string(), accountAddress: addressOut, balanceWei: weiStringSchema }),
  "the caller's org and the AGPU its on-chain account holds now",
);

export const faucetMintSchema = apiComponent(
  'FaucetMint',
  z.strictObject({ txHash: txHashOut, balanceWei: weiStringSchema }),
  "dev mode: the mint's transaction and the account's balance after it",
);

// ---------------------------------------------------------------------------------------------- jobs

export const jobAcceptedSchema = apiComponent('JobAccepted', z.strictObject({ jobId: idSchema, status: z.literal('queued') }), 'the job is on the log and queued; follow it with getJob or its event stream');

export const jobCancelledSchema = apiComponent('JobCancelled', z.strictObject({ jobId: idSchema, status: z.literal('cancelled') }), 'the job is cancelled and its budget reservation released');

/** One node the engine scored, and its score term by term (`total` is what was compared). */
export const receiptCandidateSchema = apiComponent(
  'ReceiptCandidate',
  z.strictObject({
    nodeId: idSchema,
    gpuModel: gpuModelSchema,
    region: regionSchema,
    gpuCount: z.number().int().positive().max(LIMITS.gpusPerNodeMax),
    score: z.record(z.string(), z.number()).describe("each term's contribution, already weighted: the receipt's weight of the term times a factor in [0, 1]; total is their sum, what was compared"),
  }),
  'a node the engine scored: its score by term (priceFit, headroom, packFit, reservedLiquidity, reputation, performance, proximity, energy) and the total compared',
);

export const matchReceiptSchema = apiComponent(
  'MatchReceipt',
  z.strictObject({
    engineVersion: z.string(),
    strategy: z.enum(['indexed', 'full-scan']),
    jobId: idSchema,
    matchedAt: instantSchema,
    tier: z.enum(PRICE_TIERS),
    candidatesConsidered: z.number().int().nonnegative().describe('nodes whose score was computed'),
    marketsEligible: z.number().int().nonnegative().describe('(GPU model, region) markets that passed the market-level filters'),
    winner: receiptCandidateSchema,
    runnerUp: receiptCandidateSchema.nullable(),
    price: priceTermsSchema,
    budgetWei: weiStringSchema,
    weights: z.record(z.string(), z.number()).describe("each score term's weight: the most that term can contribute (proximity's depends on the job's latency preference)"),
    referenceCostWei: weiStringSchema.describe("the cheapest eligible market's cost for this job, the reference of priceFit"),
    surge: z.boolean().describe("the winner's market was in surge when the match was made"),
    surgePreference: z
      .strictObject({
        sinceAt: instantSchema.describe("when the winner's market's surge started"),
        winnerStaked: z.boolean().describe("the winner is a staked pool's node: during a surge every staked eligible node of the market ranks before every unstaked one, so false means no staked node of it could take the job"),
      })
      .optional()
      .describe('set when surge: the staked-pool preference the surge applied (absent outside surges and on receipts made before engine 2.1.0)'),
    rerouted: z.strictObject({ forJobId: idSchema, fromNodeId: idSchema }).optional().describe("this job's first choice was given up to place another job"),
    hold: z.strictObject({ nodeId: idSchema, heldSinceAt: instantSchema }).optional().describe('the job held a node while it waited'),
  }),
  "why this node: the engine's decision as it was made (candidates, winner and runner-up term by term, weights, the price), enough to re-run it",
);

export const attestationComponentSchema = apiComponent(
  'Attestation',
  attestationRecordSchema,
  "a TEE attestation as settlement recorded it: its format, the report's sha256, and the verdict (verified, or rejected with a code such as ATTESTATION_NONCE_MISMATCH and the reason)",
);

const copyIndexSchema = z.number().int().min(0).max(LIMITS.redundancyCopiesMax - 1);

export const jobRedundancySchema = apiComponent(
  'JobRedundancy',
  z.strictObject({
    groupId: idSchema.describe("the requester's job id: copy 0's id; copy i's is `<groupId>-c<i>`"),
    copyIndex: copyIndexSchema.describe('which copy this job is'),
    copies: z.number().int().min(2).max(LIMITS.redundancyCopiesMax),
    compare: resultComparisonSchema.describe('exact: equal result hashes; tolerance: JSON arrays of numbers within absTolerance + relTolerance x max(|a|, |b|)'),
    runs: z
      .array(
        z.strictObject({
          jobId: idSchema,
          copyIndex: copyIndexSchema,
          status: jobStatusSchema,
          nodeId: idSchema.nullable().describe('the node the copy runs on, once matched'),
          resultHash: bytes32Schema.nullable(),
          outcome: z.enum(['agree', 'dissent', 'tie']).nullable().describe("the verdict for this copy: agree (paid), dissent (not paid, refunded to the requester, slashed where its node has stake), tie (refunded); null until decided"),
        }),
      )
      .max(LIMITS.redundancyCopiesMax)
      .nullable()
      .describe("every copy of the group, in copy order; null in a page of jobs (GET the job for its group)"),
    verdict: z
      .strictObject({
        kind: z.enum(['majority', 'tie']),
        reason: z.string(),
        referenceNodeId: idSchema.nullable(),
        agreeingNodeIds: z.array(idSchema).max(LIMITS.redundancyCopiesMax),
        dissentingNodeIds: z.array(idSchema).max(LIMITS.redundancyCopiesMax),
      })
      .nullable()
      .describe("the group's verdict once the copies' results are compared (null until then): the majority's runs are paid; a tie refunds every copy, with the reason"),
  }),
  'a redundant job (issue 17): the same job on several distinct nodes of one GPU class, each copy with its own escrow, results compared',
);
export type JobRedundancyAnswer = z.input<typeof jobRedundancySchema>;

export const jobSchema = apiComponent(
  'Job',
  z.strictObject({
    jobId: idSchema,
    status: jobStatusSchema,
    category: z.enum(CATEGORIES),
    urgency: z.enum(URGENCIES),
    budgetWei: weiStringSchema,
    expectedRuntimeSec: z.number().int().positive(),
    deadlineSec: z.number().int().positive().nullable().describe('seconds after the contract opens by which the result must be in, as submitted (or defaulted); null for a job recorded before the gateway kept it'),
    requirements: jobRequirementsSchema,
    workload: workloadComponentSchema,
    nodeId: idSchema.nullable(),
    gpuCount: z.number().int().positive().max(LIMITS.gpusPerNodeMax).nullable().describe('GPUs the job runs on, once matched'),
    priceWeiPerGpuHour: weiStringSchema.nullable(),
    costWei: weiStringSchema.nullable(),
    quote: priceTermsSchema.nullable().describe('the price fixed at match'),
    receipt: matchReceiptSchema.nullable(),
    contractAddress: addressOut.nullable(),
    deadlineAt: instantSchema.nullable().describe("when the result must be in: the contract's opening plus deadlineSec, moved by every top-up; null until contracted"),
    escrowWei: weiStringSchema.nullable().optional().describe('what the escrow holds: the cost at match plus every top-up (release pays it, refund returns it); null until contracted'),
    runwaySec: z
      .number()
      .int()
      .nonnegative()
      .nullable()
      .optional()
      .describe("seconds until the escrow runs out (deadlineAt less the gateway's clock, 0 once passed) while the job is contracted or running; null otherwise. Top it up (POST /v1/jobs/{jobId}/top-ups) before it reaches 0, or the escrow is refunded and the work is lost"),
    txHashes: z.strictObject({ open: txHashOut.nullable(), settle: txHashOut.nullable() }),
    result: z.strictObject({ output: z.string(), resultHash: bytes32Schema }).nullable(),
    attestation: attestationComponentSchema
      .nullable()
      .optional()
      .describe("the TEE attestation submitted with the result: the report's sha256 and settlement's verdict (code and reason when rejected); null when none was submitted. A job that required a TEE is released only with a verified one"),
    waitingReason: z.string().nullable().describe('why a queued job is not matched yet'),
    failure: z.strictObject({ code: z.string(), reason: z.string() }).nullable().describe('why it failed, was refunded or cancelled, or why a result was rejected'),
    redundancy: jobRedundancySchema.nullable().optional().describe('the group of copies this job is one of, when it was submitted with redundancy; null for a single run'),
    submittedAt: instantSchema,
    updatedAt: instantSchema,
  }),
  'a job as its org sees it: status, price and why this node, contract, transactions, result',
);
export type JobAnswer = z.input<typeof jobSchema>;

export const jobPageSchema = apiComponent('JobPage', z.strictObject({ jobs: z.array(jobSchema), nextCursor: nextCursorSchema }), "one page of the org's jobs in submission order");

// -------------------------------------------------------------------------------------------- market

export const queuesSchema = apiComponent(
  'Queues',
  z.strictObject({ queues: z.strictObject(Object.fromEntries(CATEGORIES.map((c) => [c, z.number().int().nonnegative()])) as Record<(typeof CATEGORIES)[number], z.ZodNumber>) }),
  'queued jobs per category, every category listed',
);

export const marketSurgeSchema = apiComponent(
  'MarketSurge',
  z.strictObject({ sinceAt: instantSchema.describe("when the surge started: the engine's time of its SurgeStarted") }),
  "a market in surge, as the matching engine decided it from the market's utilization and queue (SurgeStarted on the log, no SurgeEnded since): its staked pools' nodes are routed first",
);

export const marketPriceSchema = apiComponent(
  'MarketPrice',
  z.strictObject({
    gpuModel: gpuModelSchema,
    region: regionSchema,
    basePriceWeiPerGpuHour: weiStringSchema,
    utilizationMultiplierBps: z.number().int().nonnegative().describe("10,000 = 1.0; moves with the market's smoothed utilization"),
    utilizationBps: z.number().int().min(0).max(10_000).nullable().describe("null until the market's first price move"),
    changedAt: instantSchema.nullable(),
    surge: marketSurgeSchema.nullable().describe("the market's surge now; null when it is not in surge"),
    tiers: z.array(z.strictObject({ tier: z.enum(PRICE_TIERS), urgencies: z.array(z.enum(URGENCIES)), tierMultiplierBps: z.number().int().nonnegative(), priceWeiPerGpuHour: weiStringSchema })),
  }),
  'one (GPU model, region) market: the price of one GPU-hour per tier = base × tier multiplier × utilization multiplier (basis points, 10,000 = 1.0)',
);

export const priceBoardSchema = apiComponent('PriceBoard', z.strictObject({ markets: z.array(marketPriceSchema), nextCursor: nextCursorSchema }), 'every market with supply or a price move, in (gpuModel, region) order');

// ----------------------------------------------------------------------------------------- providers

export const nodeRegisteredSchema = apiComponent('NodeRegistered', z.strictObject({ nodeId: idSchema }), 'the node is registered (again: the same registration answers the same)');

export const heartbeatAckSchema = apiComponent('HeartbeatAck', z.strictObject({ ok: z.literal(true) }), 'the node is marked online');

export const nodeSessionSchema = apiComponent(
  'NodeSession',
  z.strictObject({
    token: z.string().min(1).max(200).describe('send it as `Authorization: NodeSession <token>` instead of the x-node-* signature headers'),
    expiresAt: instantSchema.describe('when the token stops being accepted (NODE_SESSION_EXPIRED): log in again before, the SDK does at 80 % of its life'),
    expiresInSec: z.number().int().positive().describe('the same, in seconds from the answer: what a client with a skewed clock renews by'),
  }),
  "a node session: the node key's login, valid for every call of that key until it expires",
);

export const marketAddressesSchema = apiComponent(
  'MarketAddresses',
  z.strictObject({
    token: addressOut,
    escrow: addressOut,
    staking: addressOut.optional(),
    vaults: addressOut.optional(),
    anchor: addressOut.optional(),
    deployBlock: z.number().int().nonnegative().optional().describe("the block of the market's deployment: where event lookups start"),
  }),
  "the market's contracts on its chain: the AGPU token and the escrow always, the others where deployed",
);

export const assignmentSchema = apiComponent(
  'Assignment',
  z.strictObject({
    jobId: idSchema,
    status: z.enum(['contracted', 'running']),
    workload: workloadComponentSchema,
    expectedRuntimeSec: z.number().int().positive(),
    deadlineAt: instantSchema.describe('when the result must be in; after it the escrow goes back to the requester'),
    costWei: weiStringSchema,
    contractAddress: addressOut,
    market: z.strictObject({ chainId: z.number().int().positive(), addresses: marketAddressesSchema }).describe("where to sign the result for: the chain and the market's contracts"),
    traceparent: z
      .string()
      .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
      .optional()
      .describe("the job's W3C trace context, when the market traces: the node's run of the job (and its calls about it) continue that trace"),
  }),
  'a job whose contract is open for this node: what to run, by when, for what',
);

export const assignmentsSchema = apiComponent(
  'Assignments',
  z.strictObject({
    assignments: z.array(assignmentSchema),
    alive: z
      .boolean()
      .optional()
      .describe("true when this poll (a long poll, with waitMs) counted as the node's heartbeat: the agent need not send one until its next heartbeat is due"),
  }),
  "the node's open contracts",
);

export const providerJobStatusSchema = apiComponent('ProviderJobStatus', z.strictObject({ status: jobStatusSchema }), "the job's status after the call");

export const resultAcceptedSchema = apiComponent(
  'ResultAccepted',
  z.strictObject({ status: jobStatusSchema, outcome: z.enum(['release', 'refund']) }),
  'the result was verified: release (completed, payment on its way) or refund (the result is wrong; the escrow goes back to the requester)',
);

// ----------------------------------------------------------------------------------------- operators

export const parkedEventComponentSchema = apiComponent('ParkedEvent', parkedEventSchema, 'an event a reader could not decode or apply, and what waits behind it');

export const parkedListSchema = apiComponent(
  'ParkedList',
  z.strictObject({
    services: z.array(
      z.union([
        z.strictObject({ service: z.enum(SERVICES_WITH_PARKING), parked: z.array(parkedEventComponentSchema), more: z.boolean() }),
        z.strictObject({ service: z.enum(SERVICES_WITH_PARKING), error: errorEnvelopeSchema.shape.error }),
      ]),
    ),
  }),
  "each service's parked events (the first page), or why it did not answer",
);

export const parkedRetriedSchema = apiComponent(
  'ParkedRetried',
  z.strictObject({ applied: z.number().int().nonnegative(), stillParked: z.array(parkedEventComponentSchema) }),
  'how many parked events applied now, and those that still do not',
);
