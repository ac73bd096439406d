import { z } from 'zod';
import type { EventEnvelope } from './envelope';
import {
  addressSchema, benchmarkSchema, bytes32Schema, CATEGORIES, energySchema, hexSchema, idSchema, LATENCY_PREFERENCES,
  requirementsSchema, URGENCIES, weiSchema, workloadSchema,
} from './primitives';

/**
 * The catalogue of the trade log: every event type, its current schema version and its schema.
 * A schema only grows (new optional fields); a breaking change is a new version with an upcaster
 * from the old one in `UPCASTERS`, because auditors read the log for years.
 */
const account = {
  OrgRegistered: z.object({ orgId: idSchema, name: z.string().min(1).max(200), accountAddress: addressSchema, custodyIndex: z.number().int().nonnegative() }),
  AccountFunded: z.object({ orgId: idSchema, accountAddress: addressSchema, amountWei: weiSchema, txHash: hexSchema }),
};

const node = {
  NodeRegistered: z.object({
    nodeId: idSchema,
    providerId: idSchema,
    /** The node key: signs the agent's requests and the result; the CSC releases to it. */
    nodeAddress: addressSchema,
    gpuModel: z.string().min(1).max(64),
    gpuCount: z.number().int().positive().max(64),
    vramGiB: z.number().int().positive().max(4096),
    region: z.string().min(1).max(64),
    latencyMs: z.number().int().nonnegative().max(10_000),
    tee: z.boolean(),
    energy: energySchema,
    benchmark: benchmarkSchema,
    reputation: z.number().min(0).max(1),
    stakeWei: weiSchema,
    poolId: idSchema.optional(),
    runtimes: z.array(z.enum(['hash-chain', 'matmul', 'command'])).max(8),
  }),
  NodeAvailabilityChanged: z.object({ nodeId: idSchema, online: z.boolean(), reason: z.string().max(500) }),
  NodeReputationChanged: z.object({ nodeId: idSchema, reputation: z.number().min(0).max(1), jobId: idSchema, reason: z.string().max(500) }),
  /** The node key's active stake in a pool, as the staking contract reports it (learned from chain events). */
  NodeStakeChanged: z.object({ nodeId: idSchema, poolId: idSchema, stakeWei: weiSchema, blockNumber: z.string(), txHash: hexSchema }),
};

const pool = {
  /** Stake taken from a provider on a proven failure, paid to the requester of the job. */
  StakeSlashed: z.object({
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
  AnchorPosted: z.object({
    index: z.number().int().nonnegative(),
    fromSeq: z.number().int().positive(),
    toSeq: z.number().int().positive(),
    root: bytes32Schema,
    txHash: hexSchema.nullable(),
  }),
};

const job = {
  JobSubmitted: z.object({
    jobId: idSchema,
    orgId: idSchema,
    requesterAddress: addressSchema,
    category: z.enum(CATEGORIES),
    budgetWei: weiSchema,
    urgency: z.enum(URGENCIES),
    latencyPreference: z.enum(LATENCY_PREFERENCES),
    requirements: requirementsSchema,
    expectedRuntimeSec: z.number().int().positive(),
    /** Seconds after the contract opens by which the result must be in, else refund. */
    deadlineSec: z.number().int().positive(),
    green: z.boolean(),
    workload: workloadSchema,
  }),
  JobWaiting: z.object({
    jobId: idSchema,
    reason: z.string().max(1000),
    /** the node the job holds while it drains (a large job that waited too long); absent = none */
    hold: z.object({ nodeId: idSchema, gpuCount: z.number().int().positive(), sinceMs: z.number().int().nonnegative() }).optional(),
  }),
  JobMatched: z.object({
    jobId: idSchema,
    nodeId: idSchema,
    nodeAddress: addressSchema,
    gpuCount: z.number().int().positive(),
    priceWeiPerHour: weiSchema,
    costWei: weiSchema,
    quote: z.record(z.string(), z.unknown()),
    receipt: z.record(z.string(), z.unknown()),
    engineVersion: z.string().max(64),
  }),
  JobFailed: z.object({ jobId: idSchema, code: z.string().max(100), reason: z.string().max(1000) }),
  JobCancelled: z.object({ jobId: idSchema, reason: z.string().max(1000) }),
};

const contract = {
  ContractOpened: z.object({
    jobId: idSchema,
    chainJobId: bytes32Schema,
    contractAddress: addressSchema,
    requesterAddress: addressSchema,
    nodeAddress: addressSchema,
    escrowWei: weiSchema,
    deadlineUnixSec: z.number().int().positive(),
    termsHash: bytes32Schema,
    txHash: hexSchema.nullable(),
    blockNumber: z.string().nullable(),
  }),
  ContractOpenFailed: z.object({ jobId: idSchema, code: z.string().max(100), reason: z.string().max(1000) }),
  JobStarted: z.object({ jobId: idSchema, nodeId: idSchema }),
  ResultSubmitted: z.object({
    jobId: idSchema,
    nodeId: idSchema,
    resultHash: bytes32Schema,
    proofHash: bytes32Schema,
    signature: hexSchema,
    output: z.string().max(10_000),
  }),
  ResultRejected: z.object({ jobId: idSchema, code: z.string().max(100), reason: z.string().max(1000) }),
  SettlementDecided: z.object({ jobId: idSchema, outcome: z.enum(['release', 'refund']), reason: z.string().max(1000) }),
  ContractReleased: z.object({ jobId: idSchema, nodeAddress: addressSchema, amountWei: weiSchema, txHash: hexSchema.nullable() }),
  ContractRefunded: z.object({ jobId: idSchema, requesterAddress: addressSchema, amountWei: weiSchema, txHash: hexSchema.nullable() }),
};

const market = {
  /** A move of one market's (GPU class, region) utilization multiplier, decided by matching. */
  PriceChanged: z.object({
    gpuClass: z.string().max(64),
    region: z.string().max(64),
    atMs: z.number().int().nonnegative(),
    previousMultiplierBps: z.number().int().positive(),
    multiplierBps: z.number().int().positive(),
    utilizationBps: z.number().int().min(0).max(10_000),
    smoothedUtilizationBps: z.number().int().min(0).max(10_000),
  }),
};

export const EVENT_SCHEMAS = { ...account, ...node, ...job, ...contract, ...market, ...pool, ...anchor } as const;
export type EventType = keyof typeof EVENT_SCHEMAS;
export const EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as EventType[];

/** Which aggregate (subject family) each event type is appended to. */
export const AGGREGATE_OF: { readonly [T in EventType]: 'account' | 'node' | 'job' | 'contract' | 'market' | 'pool' | 'anchor' } = {
  ...(Object.fromEntries(Object.keys(account).map((k) => [k, 'account'])) as Record<keyof typeof account, 'account'>),
  ...(Object.fromEntries(Object.keys(node).map((k) => [k, 'node'])) as Record<keyof typeof node, 'node'>),
  ...(Object.fromEntries(Object.keys(job).map((k) => [k, 'job'])) as Record<keyof typeof job, 'job'>),
  ...(Object.fromEntries(Object.keys(contract).map((k) => [k, 'contract'])) as Record<keyof typeof contract, 'contract'>),
  ...(Object.fromEntries(Object.keys(market).map((k) => [k, 'market'])) as Record<keyof typeof market, 'market'>),
  ...(Object.fromEntries(Object.keys(pool).map((k) => [k, 'pool'])) as Record<keyof typeof pool, 'pool'>),
  ...(Object.fromEntries(Object.keys(anchor).map((k) => [k, 'anchor'])) as Record<keyof typeof anchor, 'anchor'>),
};

/** Current schema version of each type. Bump only with an upcaster from the previous one. */
export const SCHEMA_VERSION: { readonly [T in EventType]: number } = Object.fromEntries(
  EVENT_TYPES.map((t) => [t, 1]),
) as { [T in EventType]: number };

/** `UPCASTERS[type][v]` turns wire data of version v into version v+1. */
export const UPCASTERS: Partial<Record<EventType, Record<number, (data: Record<string, unknown>) => Record<string, unknown>>>> = {};

export type EventData<T extends EventType> = z.output<(typeof EVENT_SCHEMAS)[T]>;
export type TradeEvent<T extends EventType = EventType> = { [K in T]: EventEnvelope<K, EventData<K>> }[T];
export type TradeEventOf<T extends EventType> = EventEnvelope<T, EventData<T>>;
