import { z } from 'zod';
import type { AggregateKind, EventEnvelope } from './envelope';
import { LIMITS } from './limits';
import {
  addressSchema, benchmarkSchema, bytes32Schema, CATEGORIES, codeSchema, energySchema, gpuModelSchema, hexSchema, idSchema, LATENCY_PREFERENCES,
  reasonSchema, regionSchema, requirementsSchema, resultComparisonSchema, RUNTIMES, signatureSchema, text, URGENCIES, weiSchema, workloadSchema,
} from './primitives';

/**
 * The catalogue of the trade log: every event type, its aggregate, its current schema version
 * and its schema. The encoder writes exactly what the decoder reads (strict objects, the same
 * limits), so an event that was stored can always be read back. A schema only grows: a new field
 * is a new version with an upcaster from the old one in `UPCASTERS`, because auditors read the
 * log for years.
 */
const account = {
  OrgRegistered: z.strictObject({
    orgId: idSchema,
    name: text(LIMITS.orgNameLengthMax, 1),
    accountAddress: addressSchema,
    custodyIndex: z.number().int().nonnegative(),
  }),
  /** `mintRef`: the faucet request's reference, which the token mints once (absent on events written before it). */
  AccountFunded: z.strictObject({ orgId: idSchema, accountAddress: addressSchema, amountWei: weiSchema, txHash: hexSchema, mintRef: bytes32Schema.optional() }),
  /** A faucet mint decided before its transaction is sent: the deployer's reconciler finishes it after any crash. */
  MintRequested: z.strictObject({ orgId: idSchema, accountAddress: addressSchema, amountWei: weiSchema, mintRef: bytes32Schema }),
  /** A mint recorded earlier that the chain no longer holds (a chain restored from an older state), minted again. */
  MintRestored: z.strictObject({ orgId: idSchema, mintRef: bytes32Schema, amountWei: weiSchema, previousTxHash: hexSchema, txHash: hexSchema }),
  /** A job's budget reserved against the org's spendable balance, decided on the account's own stream (optimistic concurrency). */
  FundsReserved: z.strictObject({ orgId: idSchema, jobId: idSchema, amountWei: weiSchema }),
  /** A reservation ended: the escrow took the funds (contracted), or the job ended without a contract. */
  FundsReleased: z.strictObject({ orgId: idSchema, jobId: idSchema, amountWei: weiSchema, reason: z.enum(['contracted', 'open-failed', 'cancelled', 'failed', 'abandoned']) }),
};

const node = {
  NodeRegistered: z.strictObject({
    nodeId: idSchema,
    providerId: idSchema,
    /** The node key: signs the agent's requests and the result; the CSC releases to it. */
    nodeAddress: addressSchema,
    gpuModel: gpuModelSchema,
    gpuCount: z.number().int().positive().max(LIMITS.gpusPerNodeMax),
    vramGiB: z.number().int().positive().max(LIMITS.vramGiBMax),
    region: regionSchema,
    latencyMs: z.number().int().nonnegative().max(LIMITS.latencyMsMax),
    tee: z.boolean(),
    energy: energySchema,
    benchmark: benchmarkSchema,
    reputation: z.number().min(0).max(1),
    stakeWei: weiSchema,
    poolId: idSchema.optional(),
    runtimes: z.array(z.enum(RUNTIMES)).max(LIMITS.nodeRuntimesMax),
    /**
     * The node's benchmark against the median of registered nodes of its GPU model and benchmark
     * kind, when there were enough of them to compare with: a figure far from it (an outlier) lowered
     * the node's starting reputation. Absent for registrations before this check and without peers.
     */
    benchmarkCheck: z
      .strictObject({ medianScore: z.number().positive(), peers: z.number().int().positive(), ratio: z.number().positive(), outlier: z.boolean() })
      .optional(),
  }),
  NodeAvailabilityChanged: z.strictObject({ nodeId: idSchema, online: z.boolean(), reason: reasonSchema }),
  NodeReputationChanged: z.strictObject({ nodeId: idSchema, reputation: z.number().min(0).max(1), jobId: idSchema, reason: reasonSchema }),
  /** The node key's active stake in a pool, as the staking contract reports it (learned from chain events). */
  NodeStakeChanged: z.strictObject({ nodeId: idSchema, poolId: idSchema, stakeWei: weiSchema, blockNumber: z.string().regex(/^[0-9]{1,20}$/), txHash: hexSchema }),
};

const nodekey = {
  /**
   * A node key is bound to one node id, once: the registry appends this on
   * `trade.nodekey.<address>` (expecting the subject empty) before it registers the node, so one
   * key can never register two nodes, whichever replica serves the two requests.
   */
  NodeKeyBound: z.strictObject({ nodeAddress: addressSchema, nodeId: idSchema }),
};

const pool = {
  /** Stake taken from a provider on a proven failure, paid to the requester of the job. */
  StakeSlashed: z.strictObject({
    poolId: idSchema,
    nodeId: idSchema,
    nodeAddress: addressSchema,
    jobId: idSchema,
    amountWei: weiSchema,
    recipient: addressSchema,
    txHash: hexSchema,
  }),
};

const anchor = {
  /** A Merkle root of the log range [fromSeq, toSeq] posted on chain (leaves: seq and keccak256 of the event's bytes). */
  AnchorPosted: z.strictObject({
    index: z.number().int().nonnegative(),
    fromSeq: z.number().int().positive(),
    toSeq: z.number().int().positive(),
    root: bytes32Schema,
    txHash: hexSchema.nullable(),
  }),
};

const holdSchema = z.strictObject({ nodeId: idSchema, gpuCount: z.number().int().positive().max(LIMITS.gpusPerNodeMax), sinceMs: z.number().int().nonnegative() });

const jobSubmittedSchema = z.strictObject({
  jobId: idSchema,
  orgId: idSchema,
  requesterAddress: addressSchema,
  category: z.enum(CATEGORIES),
  budgetWei: weiSchema,
  urgency: z.enum(URGENCIES),
  latencyPreference: z.enum(LATENCY_PREFERENCES),
  requirements: requirementsSchema,
  expectedRuntimeSec: z.number().int().positive().max(LIMITS.expectedRuntimeSecMax),
  /** Seconds after the contract opens by which the result must be in, else refund. */
  deadlineSec: z.number().int().positive().max(LIMITS.deadlineSecMax),
  green: z.boolean(),
  workload: workloadSchema,
  /**
   * Redundancy (issue 17): this job is copy `copyIndex` of `copies` of the requester's job
   * `groupId` (copy 0's id is `groupId`), each on its own node of one GPU class with its own escrow;
   * settlement holds each copy's verified result until the group's verdict. Absent: a single run.
   */
  redundantCopy: z
    .strictObject({
      groupId: idSchema,
      copyIndex: z.number().int().min(0).max(LIMITS.redundancyCopiesMax - 1),
      copies: z.number().int().min(2).max(LIMITS.redundancyCopiesMax),
      compare: resultComparisonSchema,
    })
    .optional(),
  /**
   * A vault's job (issue 16): submitted by the vault's firing `firingId` (its job id derives from
   * it), paid from the vault on chain (ComputeVaults.draw of the template `specHash` with this job's
   * budget and runtime), never from the org's account. Absent: the org pays.
   */
  vault: z.strictObject({ vaultId: idSchema, firingId: idSchema, specHash: bytes32Schema }).optional(),
});

const job = {
  JobSubmitted: jobSubmittedSchema,
  JobWaiting: z.strictObject({
    jobId: idSchema,
    reason: reasonSchema,
    /** the node the job holds while it drains (a large job that waited too long); absent = none */
    hold: holdSchema.optional(),
  }),
  JobMatched: z.strictObject({
    jobId: idSchema,
    nodeId: idSchema,
    nodeAddress: addressSchema,
    gpuCount: z.number().int().positive().max(LIMITS.gpusPerNodeMax),
    priceWeiPerHour: weiSchema,
    costWei: weiSchema,
    quote: z.record(z.string(), z.unknown()),
    receipt: z.record(z.string(), z.unknown()),
    engineVersion: text(64, 1),
    /**
     * The matching partition whose lease the writer held, and the lease's epoch (its fencing
     * token): set when matching runs as several replicas; absent from a single instance.
     */
    lease: z.strictObject({ partition: idSchema, epoch: z.number().int().positive() }).optional(),
    /**
     * The last log sequence the deciding engine had folded in when it decided (its own earlier
     * matches aside): the state an auditor re-runs the decision on. Absent from older events.
     */
    decidedAfterSeq: z.number().int().nonnegative().optional(),
    /** The job's attempt this match starts (re-match on failure, issue 16): 2.. after a JobRequeued; absent for the first. */
    attempt: z.number().int().min(2).max(LIMITS.jobAttemptsMax).optional(),
  }),
  JobFailed: z.strictObject({ jobId: idSchema, code: codeSchema, reason: reasonSchema }),
  JobCancelled: z.strictObject({ jobId: idSchema, reason: reasonSchema }),
  /**
   * Re-match on failure (issue 16): the node of attempt `attempt - 1` went offline or gave the job
   * up (its contract's ContractAttemptFailed), so the job is queued again for attempt `attempt`,
   * on any node but `excludedNodeIds` (every node that failed it), for at most `budgetWei` (the
   * escrow the contract holds: the requester pays nothing more). `submitted` restates the job as
   * submitted, so matching re-queues it from this event alone.
   */
  JobRequeued: z.strictObject({
    jobId: idSchema,
    attempt: z.number().int().min(2).max(LIMITS.jobAttemptsMax),
    failedNodeId: idSchema,
    excludedNodeIds: z.array(idSchema).min(1).max(LIMITS.jobAttemptsMax),
    code: codeSchema,
    reason: reasonSchema,
    budgetWei: weiSchema,
    submitted: jobSubmittedSchema,
  }),
};

/** A TEE attestation's format, naming the verifier that reads it (e.g. `nvidia-nras-eat`). */
export const attestationFormatSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a format name: lower-case letters, digits, ".", "_" or "-", at most 64');

/**
 * What settlement records of a TEE attestation submitted with a result (issue 17): the report's
 * sha256 (the report itself stays with the provider) and the verifier's verdict, with the code and
 * the reason of a rejection.
 */
export const attestationRecordSchema = z.strictObject({
  format: attestationFormatSchema,
  reportHash: bytes32Schema,
  verdict: z.enum(['verified', 'rejected']),
  code: codeSchema.optional(),
  reason: reasonSchema.optional(),
});

const contract = {
  ContractOpened: z.strictObject({
    jobId: idSchema,
    chainJobId: bytes32Schema,
    contractAddress: addressSchema,
    requesterAddress: addressSchema,
    nodeAddress: addressSchema,
    escrowWei: weiSchema,
    deadlineUnixSec: z.number().int().positive(),
    termsHash: bytes32Schema,
    txHash: hexSchema.nullable(),
    blockNumber: z.string().regex(/^[0-9]{1,20}$/).nullable(),
  }),
  ContractOpenFailed: z.strictObject({ jobId: idSchema, code: codeSchema, reason: reasonSchema }),
  JobStarted: z.strictObject({ jobId: idSchema, nodeId: idSchema }),
  ResultSubmitted: z.strictObject({
    jobId: idSchema,
    nodeId: idSchema,
    resultHash: bytes32Schema,
    proofHash: bytes32Schema,
    signature: signatureSchema,
    output: text(LIMITS.resultOutputLengthMax),
    /** The TEE attestation submitted with the result, as settlement verified it (absent: none submitted, and on events written before). */
    attestation: attestationRecordSchema.optional(),
  }),
  ResultRejected: z.strictObject({ jobId: idSchema, code: codeSchema, reason: reasonSchema }),
  /**
   * Redundancy (issue 17): the verdict over the group's runs, as it decides this copy. `agree`: its
   * result is the majority's (released); `dissent`: another result than the majority's (refunded,
   * ResultRejected REDUNDANCY_DISSENT, slashed where the rules allow); `tie`: no majority (refunded
   * with `reason`). `runs`: the copies whose verified results were compared, by node.
   */
  RedundancyVerdictRecorded: z.strictObject({
    jobId: idSchema,
    groupId: idSchema,
    copyIndex: z.number().int().min(0).max(LIMITS.redundancyCopiesMax - 1),
    copies: z.number().int().min(2).max(LIMITS.redundancyCopiesMax),
    outcome: z.enum(['agree', 'dissent', 'tie']),
    reason: reasonSchema,
    referenceNodeId: idSchema.nullable(),
    agreeingNodeIds: z.array(idSchema).max(LIMITS.redundancyCopiesMax),
    dissentingNodeIds: z.array(idSchema).max(LIMITS.redundancyCopiesMax),
  }),
  SettlementDecided: z.strictObject({ jobId: idSchema, outcome: z.enum(['release', 'refund']), reason: reasonSchema }),
  /** `blockNumber`: the block of `txHash`, recorded once it is CHAIN_CONFIRMATIONS deep (absent in older events). */
  ContractReleased: z.strictObject({ jobId: idSchema, nodeAddress: addressSchema, amountWei: weiSchema, txHash: hexSchema.nullable(), blockNumber: z.string().regex(/^[0-9]{1,20}$/).nullable().optional() }),
  ContractRefunded: z.strictObject({ jobId: idSchema, requesterAddress: addressSchema, amountWei: weiSchema, txHash: hexSchema.nullable(), blockNumber: z.string().regex(/^[0-9]{1,20}$/).nullable().optional() }),
  /**
   * More escrow and more time for a running job, paid by its requester on chain (ComputeEscrow.topUp,
   * its ComputeContractToppedUp event): from now on release pays `newCostWei` and the deadline is
   * `newDeadlineUnixSec`. `topUpId`: the caller's id of the top-up, which the escrow pays once.
   */
  ContractToppedUp: z.strictObject({
    jobId: idSchema,
    topUpId: idSchema,
    extraCostWei: weiSchema,
    extraRuntimeSec: z.number().int().positive(),
    newCostWei: weiSchema,
    newDeadlineUnixSec: z.number().int().positive(),
    txHash: hexSchema,
    blockNumber: z.string().regex(/^[0-9]{1,20}$/),
  }),
  /**
   * The job's escrow runs out soon (issue 16): at `atUnixSec` its runway, the seconds left until
   * `deadlineUnixSec` (the refund follows), was under `thresholdSec` (settlement's scan: the larger
   * of a minimum and a fraction of the expected runtime). Once per deadline: a top-up moves the
   * deadline, and the warning may come again before the new one.
   */
  ContractRunwayLow: z.strictObject({
    jobId: idSchema,
    deadlineUnixSec: z.number().int().positive(),
    atUnixSec: z.number().int().positive(),
    runwaySec: z.number().int().nonnegative(),
    thresholdSec: z.number().int().positive(),
  }),
  /**
   * Re-match on failure (issue 16): the node running attempt `attempt` went offline (the registry's
   * liveness) or gave the job up, decided by settlement. It is paid nothing for the unfinished
   * attempt; `slash` says whether its stake was slashed (today never: StakingPools slashes only the
   * provider a refunded job's escrow names, so `not-slashed-no-rule`). `exhausted`: it was the
   * last attempt (LIMITS.jobAttemptsMax), a SettlementDecided refund with the reason follows;
   * otherwise the job is queued again (JobRequeued) and its escrow moved (ContractReassigned).
   */
  ContractAttemptFailed: z.strictObject({
    jobId: idSchema,
    attempt: z.number().int().min(1).max(LIMITS.jobAttemptsMax),
    nodeId: idSchema,
    nodeAddress: addressSchema,
    code: codeSchema,
    reason: reasonSchema,
    exhausted: z.boolean(),
    slash: z.enum(['not-slashed-no-rule']),
  }),
  /**
   * The escrow moved on chain to the node of the job's next attempt (ComputeEscrow.reassign, its
   * ComputeContractReassigned event), relayed by the deployer: release pays `nodeAddress`
   * `escrowWei` by `deadlineUnixSec`; `returnedWei` (the old escrow less the new) went back to the
   * requester in the same transaction.
   */
  ContractReassigned: z.strictObject({
    jobId: idSchema,
    attempt: z.number().int().min(2).max(LIMITS.jobAttemptsMax),
    nodeId: idSchema,
    nodeAddress: addressSchema,
    escrowWei: weiSchema,
    returnedWei: weiSchema,
    deadlineUnixSec: z.number().int().positive(),
    termsHash: bytes32Schema,
    txHash: hexSchema,
    blockNumber: z.string().regex(/^[0-9]{1,20}$/),
  }),
  /**
   * A chain effect recorded earlier (open, release, refund) that the chain no longer holds (a
   * reorganisation, a chain restored from an older state), carried out again by its owner's reconciler.
   */
  ChainEffectRestored: z.strictObject({
    jobId: idSchema,
    action: z.enum(['open', 'release', 'refund']),
    previousTxHash: hexSchema.nullable(),
    txHash: hexSchema.nullable(),
    blockNumber: z.string().regex(/^[0-9]{1,20}$/).nullable(),
  }),
  /** A chain effect the chain lost and its reconciler could not carry out again: an operator must look. */
  ChainEffectLost: z.strictObject({ jobId: idSchema, action: z.enum(['open', 'release', 'refund']), previousTxHash: hexSchema.nullable(), code: codeSchema, reason: reasonSchema }),
};

/** The job a vault fires: the spec fields a POST /v1/jobs takes, with their hashes (ComputeVaults' JobTemplate: specHash, budgetWei, expectedRuntimeSec). */
export const vaultTemplateSchema = job.JobSubmitted.pick({
  category: true, budgetWei: true, urgency: true, latencyPreference: true, requirements: true, expectedRuntimeSec: true, deadlineSec: true, green: true, workload: true,
}).extend({ specHash: bytes32Schema, templateHash: bytes32Schema });

/** What fires a vault: a cron schedule in a time zone, a market's price under a threshold, or a signed call to its trigger URL. */
export const vaultTriggerSchema = z.discriminatedUnion('kind', [
  z.strictObject({ triggerId: idSchema, kind: z.literal('cron'), expression: text(LIMITS.cronExpressionLengthMax, 1), timeZone: text(LIMITS.timeZoneLengthMax, 1) }),
  z.strictObject({ triggerId: idSchema, kind: z.literal('price'), gpuModel: gpuModelSchema, region: regionSchema, belowWeiPerHour: weiSchema }),
  z.strictObject({ triggerId: idSchema, kind: z.literal('url') }),
]);

/** One scheduled (or called) occasion of a trigger: its slot names it, so its firing id is the same on every replica. */
const firingSlot = {
  vaultId: idSchema,
  firingId: idSchema,
  triggerId: idSchema,
  /** cron: the scheduled time (ISO-8601 UTC); url: the caller's Idempotency-Key; price: the PriceChanged event's id. */
  slot: text(LIMITS.vaultSlotLengthMax, 1),
  slotAtMs: z.number().int().nonnegative(),
};

const vault = {
  /** A requester's vault: a deposit from its org's custodial account, a cap per period, one job template and its triggers. */
  VaultCreated: z.strictObject({
    vaultId: idSchema,
    orgId: idSchema,
    ownerAddress: addressSchema,
    depositWei: weiSchema,
    capPerPeriodWei: weiSchema,
    periodSec: z.number().int().min(LIMITS.vaultPeriodSecMin).max(LIMITS.vaultPeriodSecMax),
    /** Periods run back to back from here (the creation's time), periodSec each. */
    periodAnchorMs: z.number().int().nonnegative(),
    template: vaultTemplateSchema,
    triggers: z.array(vaultTriggerSchema).min(1).max(LIMITS.vaultTriggersMax),
  }),
  /** A new template (its owner signs the new hash on chain). */
  VaultTemplateEdited: z.strictObject({ vaultId: idSchema, template: vaultTemplateSchema }),
  VaultPaused: z.strictObject({ vaultId: idSchema }),
  /** atMs: when (intake's clock); a cron slot before it passed while paused and never fires. */
  VaultResumed: z.strictObject({ vaultId: idSchema, atMs: z.number().int().nonnegative().optional() }),
  /** For good: no more firings; the remainder goes back to the owner on chain. */
  VaultClosed: z.strictObject({ vaultId: idSchema }),
  /** A trigger fired: the job `jobId` (derived from the firing id) of the template, whose budget counts against the period's cap. */
  VaultFired: z.strictObject({ ...firingSlot, periodIndex: z.number().int().nonnegative(), jobId: idSchema, budgetWei: weiSchema, templateHash: bytes32Schema }),
  /** A slot that did not fire, and why (paused, closed, over the cap or balance, missed while intake was down): recorded once, like a firing. */
  VaultFiringSkipped: z.strictObject({ ...firingSlot, code: codeSchema, reason: reasonSchema }),
  /**
   * A firing's job is past drawing from the vault: of its budget the chain drew `drawnWei` (its
   * escrow; 0 when its open failed or it ended before one). The rest no longer counts against the
   * vault's balance or its period's cap. Once per job.
   */
  VaultFiringEnded: z.strictObject({ vaultId: idSchema, firingId: idSchema, jobId: idSchema, budgetWei: weiSchema, drawnWei: weiSchema }),
  /**
   * The vault on chain (ComputeVaults) now is as the log asked, by `action` of the deployer's
   * reconciler (open with the deposit, template update, pause, resume, close with the remainder back
   * to the owner), the receipt final. `txHash` null: the chain was already so (a retry after a lost
   * receipt). `remainderWei`: what a close returned to the owner.
   */
  VaultChainSynced: z.strictObject({
    vaultId: idSchema,
    action: z.enum(['open', 'template', 'pause', 'resume', 'close']),
    status: z.enum(['active', 'paused', 'closed']),
    templateHash: bytes32Schema,
    txHash: hexSchema.nullable(),
    blockNumber: z.string().regex(/^[0-9]{1,20}$/).nullable(),
    remainderWei: weiSchema.optional(),
  }),
  /** The vault could not be opened on chain, for good (the deposit not covered, the terms refused): nothing of it fires. */
  VaultOpenFailed: z.strictObject({ vaultId: idSchema, code: codeSchema, reason: reasonSchema }),
};

const bps = z.number().int().min(0).max(10_000);

const market = {
  /** A move of one market's (GPU class, region) utilization multiplier, decided by matching. */
  PriceChanged: z.strictObject({
    gpuClass: gpuModelSchema,
    region: regionSchema,
    atMs: z.number().int().nonnegative(),
    previousMultiplierBps: z.number().int().positive().max(1_000_000),
    multiplierBps: z.number().int().positive().max(1_000_000),
    utilizationBps: bps,
    smoothedUtilizationBps: bps,
  }),
  /**
   * A market (GPU class, region) entered a surge, decided by matching at a reprice tick: its smoothed
   * utilization or its queue depth (queued jobs that accept the market) reached the start threshold
   * (`trigger` says which). Until its SurgeEnded, staked pools' nodes of the market are routed first.
   */
  SurgeStarted: z.strictObject({
    gpuClass: gpuModelSchema,
    region: regionSchema,
    atMs: z.number().int().nonnegative(),
    trigger: z.enum(['utilization', 'queue-depth', 'both']),
    smoothedUtilizationBps: bps,
    queueDepth: z.number().int().nonnegative(),
  }),
  /** A market's surge ended: both figures stayed below their end thresholds from `calmSinceMs` for the minimum dwell. */
  SurgeEnded: z.strictObject({
    gpuClass: gpuModelSchema,
    region: regionSchema,
    atMs: z.number().int().nonnegative(),
    startedAtMs: z.number().int().nonnegative(),
    calmSinceMs: z.number().int().nonnegative(),
    smoothedUtilizationBps: bps,
    queueDepth: z.number().int().nonnegative(),
  }),
};

const BY_AGGREGATE = { account, node, nodekey, job, contract, vault, market, pool, anchor } as const;

export const EVENT_SCHEMAS = { ...account, ...node, ...nodekey, ...job, ...contract, ...vault, ...market, ...pool, ...anchor } as const;
export type EventType = keyof typeof EVENT_SCHEMAS;
export const EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as EventType[];

type EventAggregate = keyof typeof BY_AGGREGATE;
/** The event types appended to each aggregate's subjects. */
export type EventTypeOf<A extends AggregateKind> = A extends EventAggregate ? keyof (typeof BY_AGGREGATE)[A] & EventType : never;

/** Which aggregate (subject family) each event type is appended to. */
export const AGGREGATE_OF = Object.fromEntries(
  Object.entries(BY_AGGREGATE).flatMap(([aggregate, types]) => Object.keys(types).map((t) => [t, aggregate])),
) as { readonly [T in EventType]: EventAggregate };

/** Current schema version of each type. Bump only with an upcaster from the previous one. */
export const SCHEMA_VERSION: { readonly [T in EventType]: number } = Object.fromEntries(
  EVENT_TYPES.map((t) => [t, 1]),
) as { [T in EventType]: number };

/** `UPCASTERS[type][v]` turns wire data of version v into version v+1. */
export const UPCASTERS: Partial<Record<EventType, Record<number, (data: Record<string, unknown>) => Record<string, unknown>>>> = {};

export type EventData<T extends EventType> = z.output<(typeof EVENT_SCHEMAS)[T]>;
export type TradeEvent<T extends EventType = EventType> = { [K in T]: EventEnvelope<K, EventData<K>> }[T];
export type TradeEventOf<T extends EventType> = EventEnvelope<T, EventData<T>>;
/** Type and data of one of `T`: what a decider's evolve folds (a union narrowed by `type`, no casts). */
export type EventOf<T extends EventType = EventType> = { [K in T]: { readonly type: K; readonly data: EventData<K> } }[T];
/** The events of one aggregate kind, as evolve folds them. */
export type AggregateEvent<A extends AggregateKind> = EventOf<EventTypeOf<A>>;
/** The stored envelopes of one aggregate kind. */
export type AggregateEnvelope<A extends AggregateKind> = TradeEvent<EventTypeOf<A>>;

export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_SCHEMAS, type);
}

/** Narrows an event read from an aggregate's subject to that aggregate's union (false for a misfiled one). */
export function belongsTo<A extends AggregateKind>(aggregate: A, event: { type: string }): event is AggregateEvent<A> {
  return isEventType(event.type) && AGGREGATE_OF[event.type] === aggregate;
}
