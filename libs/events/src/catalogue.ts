import { z } from 'zod';
import type { AggregateKind, EventEnvelope } from './envelope';
import { LIMITS } from './limits';
import {
  addressSchema, benchmarkSchema, bytes32Schema, CATEGORIES, codeSchema, energySchema, gpuModelSchema, hexSchema, idSchema, LATENCY_PREFERENCES,
  reasonSchema, regionSchema, requirementsSchema, RUNTIMES, signatureSchema, text, URGENCIES, weiSchema, workloadSchema,
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

const job = {
  JobSubmitted: z.strictObject({
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
  }),
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
  }),
  JobFailed: z.strictObject({ jobId: idSchema, code: codeSchema, reason: reasonSchema }),
  JobCancelled: z.strictObject({ jobId: idSchema, reason: reasonSchema }),
};

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
  }),
  ResultRejected: z.strictObject({ jobId: idSchema, code: codeSchema, reason: reasonSchema }),
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

const BY_AGGREGATE = { account, node, nodekey, job, contract, market, pool, anchor } as const;

export const EVENT_SCHEMAS = { ...account, ...node, ...nodekey, ...job, ...contract, ...market, ...pool, ...anchor } as const;
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
