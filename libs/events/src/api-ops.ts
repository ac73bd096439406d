import { z } from 'zod';
import { apiComponent, errorEnvelopeSchema } from './api-components';
import { jobStatusSchema } from './job-updates';
import { LIMITS } from './limits';
import { bytes32Schema, idSchema } from './primitives';
import { SERVICES_WITH_PARKING } from './services';

/**
 * The operator's status of the market (`GET /v1/ops/status`, each service's `cmd.<service>.status`)
 * and the auditor's list of the log's anchors on chain (`GET /v1/anchors`).
 */

const instantSchema = z.iso.datetime({ offset: true });
const addressOut = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const txHashOut = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const seqSchema = z.number().int().nonnegative();

/** What a reader of the log can be doing, as its runtime knows it (ReaderHealth['state'] in libs/trade-log). */
export const READER_STATES = ['idle', 'running', 'retrying', 'stopping', 'failed'] as const;
export type ReaderState = (typeof READER_STATES)[number];
export const READER_KINDS = ['projection', 'consumer', 'follower'] as const;

export const dependencyCheckSchema = apiComponent(
  'DependencyCheck',
  z.strictObject({ status: z.enum(['up', 'down']), message: z.string().optional().describe('why it is down') }),
  'one dependency as readiness checked it: up or down, and why down',
);

export const readerStatusSchema = apiComponent(
  'ReaderStatus',
  z.strictObject({
    name: z.string(),
    kind: z.enum(READER_KINDS),
    state: z.enum(READER_STATES).describe("running (caught up or catching up), retrying (after a failed attempt), failed (gave up: the service's liveness fails), idle, stopping"),
    checkpointSeq: seqSchema.describe('the last stream sequence it applied or handled'),
    lagEvents: seqSchema.describe('events of its filter on the log after checkpointSeq, as the server last said (the log head minus the checkpoint, for its subjects)'),
    parked: seqSchema.nullable().describe('its events parked now (cmd.<service>.listParked lists them); null when the parking lot could not be read'),
    critical: z.boolean().describe('a parked event of this reader makes the service not ready (money)'),
    problems: z.array(z.string()).describe('why readiness counts it against the service (empty when it does not)'),
    lastError: z.string().optional(),
  }),
  'one reader of the trade log in a service, as health and metrics see it',
);

export const serviceStatusSchema = apiComponent(
  'ServiceStatus',
  z.strictObject({
    service: z.enum(SERVICES_WITH_PARKING),
    ready: z.boolean().describe('the verdict of its GET /health/ready, from the same checks'),
    checks: z.strictObject({
      nats: dependencyCheckSchema,
      postgres: dependencyCheckSchema,
      commands: dependencyCheckSchema.optional().describe('its command bus (NATS request/reply to other services)'),
      chain: dependencyCheckSchema.optional().describe('services that use the chain only'),
    }),
    readers: z.array(readerStatusSchema),
    startedAt: instantSchema.describe('when this process started (one replica answers for the service)'),
  }),
  "one service's readiness, its dependencies and its readers of the log (cmd.<service>.status)",
);
export type ServiceStatus = z.infer<typeof serviceStatusSchema>;

export const ANCHOR_ON_CHAIN = ['verified', 'mismatch', 'missing'] as const;

export const anchorSchema = apiComponent(
  'Anchor',
  z.strictObject({
    index: z.number().int().nonnegative().describe("the anchor's index in the AuditAnchor contract"),
    fromSeq: z.number().int().positive(),
    toSeq: z.number().int().positive(),
    root: bytes32Schema.describe('the Merkle root the log records for [fromSeq, toSeq] (its AnchorPosted event)'),
    txHash: txHashOut.nullable().describe('the transaction that posted it, as the log records it; null when it was not recorded'),
    blockNumber: z.number().int().nonnegative().nullable().describe("the block of that transaction; null when the chain has no receipt of it"),
    postedAt: instantSchema.describe('when the deployer recorded the post (the AnchorPosted event)'),
    onChain: z
      .enum(ANCHOR_ON_CHAIN)
      .describe("the contract's anchor at this index against the log's: verified (same range and root), mismatch (another range or root), missing (the chain holds no anchor at this index)"),
  }),
  'one anchor of the trade log as the log records it, compared with what the anchor contract stores',
);

export const anchorPageSchema = apiComponent(
  'AnchorPage',
  z.strictObject({
    anchors: z.array(anchorSchema),
    /** pass as `cursor` for the next (older) page; null on the last */
    nextCursor: z.string().nullable(),
  }),
  'one page of the anchors, newest first',
);

export const stuckJobSchema = apiComponent(
  'StuckJob',
  z.strictObject({
    jobId: idSchema,
    status: jobStatusSchema,
    reason: z.enum(['past-deadline', 'matched-without-contract']),
    since: instantSchema.describe('past-deadline: the deadline; matched-without-contract: when it was matched'),
  }),
  'a job that is not moving: not final past its deadline, or matched without an open contract for too long',
);

/** A service that did not answer its status command in time. */
const serviceUnansweredSchema = z.strictObject({ service: z.enum(SERVICES_WITH_PARKING), ready: z.literal(false), error: errorEnvelopeSchema.shape.error });

export const opsStatusSchema = apiComponent(
  'OpsStatus',
  z.strictObject({
    at: instantSchema,
    overall: z.enum(['healthy', 'degraded']).describe('healthy: every service (the gateway too) answered ready, no reader failed, nothing parked, no job stuck, every part below read'),
    services: z.array(z.union([serviceStatusSchema, serviceUnansweredSchema])).describe('every service but the gateway, as it answered cmd.<service>.status, or why it did not'),
    gateway: serviceStatusSchema.describe('the gateway that answers this request'),
    log: z.strictObject({ lastSeq: seqSchema.nullable().describe("the trade log's last stream sequence; null when the log could not be read"), error: z.string().optional() }),
    chain: z.strictObject({
      chainId: z.number().int().positive(),
      blockNumber: z.number().int().nonnegative().nullable().describe('null when the chain did not answer'),
      anchorContract: addressOut.nullable(),
      latestAnchor: anchorSchema.nullable().describe('the newest anchor the log records; null when none yet'),
      eventsSinceAnchor: seqSchema.nullable().describe("events on the log after latestAnchor's range (all of them when none); null when not known"),
      error: z.string().optional(),
    }),
    stuckJobs: z.strictObject({
      count: seqSchema.nullable().describe('every stuck job; null when the job view could not be read'),
      jobs: z.array(stuckJobSchema).max(LIMITS.opsStuckJobsListedMax).describe(`the first ${LIMITS.opsStuckJobsListedMax}, longest stuck first`),
      error: z.string().optional(),
    }),
  }),
  "the market at a glance for its operator: every service's readiness and readers, the log's head, the chain and its latest anchor, jobs that are stuck",
);
