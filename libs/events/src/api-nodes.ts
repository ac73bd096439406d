import { z } from 'zod';
import { listQuerySchema } from './api';
import { weiStringSchema } from './api-answers';
import { apiComponent } from './api-components';
import { EVENT_SCHEMAS } from './catalogue';
import { JOB_STATUSES, type JobStatus } from './job-updates';
import { LIMITS } from './limits';
import { addressSchema, hexSchema, idSchema } from './primitives';

/**
 * The supply as the API answers it: the public node search (`GET /v1/nodes`, `GET /v1/nodes/{nodeId}`)
 * and the provider's own view of its node (status and earnings, signed by the node key).
 */

/** `?filter=` (the node search language, libs/events/src/node-filter.ts), with the page. */
export const nodesQuerySchema = listQuerySchema.extend({
  // the parser bounds it and answers BAD_FILTER naming the position, so every filter error reads the same
  filter: z.string().optional(),
});

/** One GPU's live figures as the node's agent read them (`nvidia-smi`); a figure the board does not report is null. */
export const gpuTelemetrySchema = apiComponent(
  'GpuTelemetry',
  z.strictObject({
    /** the GPU's index on the node (nvidia-smi's), 0-based */
    index: z.number().int().min(0).max(LIMITS.gpusPerNodeMax - 1),
    utilizationPct: z.number().min(0).max(100).nullable(),
    memoryUsedMiB: z.number().int().min(0).max(LIMITS.vramGiBMax * 1024).nullable(),
    powerDrawW: z.number().min(0).max(LIMITS.gpuPowerWMax).nullable(),
    powerLimitW: z.number().min(0).max(LIMITS.gpuPowerWMax).nullable(),
    temperatureC: z.number().min(-LIMITS.gpuTemperatureCMax).max(LIMITS.gpuTemperatureCMax).nullable(),
  }),
  "one GPU's utilization, memory used, power draw and limit, and temperature",
);
export type GpuTelemetry = z.output<typeof gpuTelemetrySchema>;

/** A node's GPUs at one moment: at most one entry a GPU (the registry also holds it to the node's registered count). */
export const nodeTelemetrySchema = apiComponent(
  'NodeTelemetry',
  z
    .strictObject({
      /** when the agent read it */
      sampledAt: z.iso.datetime({ offset: true }),
      gpus: z.array(gpuTelemetrySchema).min(1).max(LIMITS.gpusPerNodeMax),
    })
    .refine((t) => new Set(t.gpus.map((g) => g.index)).size === t.gpus.length, { message: 'one entry per GPU index', path: ['gpus'] }),
  "a node's GPUs as its agent sampled them",
);
export type NodeTelemetry = z.output<typeof nodeTelemetrySchema>;

/** `POST /v1/providers/nodes/{nodeId}/heartbeat`'s body: telemetry when the node has GPUs to report (a CPU-only agent sends none). */
export const heartbeatRequestSchema = apiComponent(
  'HeartbeatRequest',
  z.strictObject({ telemetry: nodeTelemetrySchema.optional() }),
  'a heartbeat, with the GPUs\' live figures when the agent has them',
);

/** What the registry keeps of a node's telemetry: the latest sample and the bounded history before it. */
export const nodeTelemetryHistorySchema = apiComponent(
  'NodeTelemetryHistory',
  z.strictObject({
    latest: nodeTelemetrySchema.nullable(),
    /** newest first, at most LIMITS.telemetryHistoryMax samples (the latest included) */
    history: z.array(nodeTelemetrySchema).max(LIMITS.telemetryHistoryMax),
  }),
  "a node's latest GPU telemetry and its recent history (newest first)",
);

/** Jobs matched to a node and not yet done with its GPUs. */
export const ACTIVE_JOB_STATUSES = ['matched', 'contracted', 'running'] as const satisfies readonly JobStatus[];

const countSchema = z.number().int().nonnegative();

export const nodeSchema = apiComponent(
  'Node',
  z.strictObject({
    // the node as registered (the node key signs its requests and results; the contract pays it; VRAM is per GPU)
    ...EVENT_SCHEMAS.NodeRegistered.pick({ nodeId: true, nodeAddress: true, providerId: true, gpuModel: true, gpuCount: true, vramGiB: true, region: true, latencyMs: true, tee: true }).shape,
    benchmarkScore: z.number().nonnegative(),
    reputation: z.number().min(0).max(1),
    /** heartbeating now */
    online: z.boolean(),
    /** the node key's stake in its pool, as last reported from the staking contract */
    stakeWei: weiStringSchema,
    poolId: idSchema.nullable(),
    /** jobs matched to it that still hold its GPUs (matched, contracted or running) */
    activeJobs: countSchema,
  }),
  'a node of the supply: its hardware, region, reputation, whether it is online, its stake, and the jobs it runs now',
);
export type NodeAnswer = z.input<typeof nodeSchema>;

/** `GET /v1/nodes/{nodeId}`: the node, with its live GPU telemetry as the registry keeps it. */
export const nodeDetailSchema = apiComponent(
  'NodeDetail',
  nodeSchema.extend({
    /** null when the node never sent any (a CPU-only agent) or the registry could not be asked just now */
    telemetry: nodeTelemetryHistorySchema.nullable(),
  }),
  'a node of the supply with its live GPU telemetry: the latest sample and the recent history',
);
export type NodeDetailAnswer = z.input<typeof nodeDetailSchema>;

export const nodePageSchema = apiComponent(
  'NodePage',
  z.strictObject({
    nodes: z.array(nodeSchema).max(LIMITS.pageSizeMax),
    /** pass as `cursor` for the next page; null on the last */
    nextCursor: z.string().nullable(),
  }),
  'one page of nodes, in nodeId order',
);

/** A count for every job status, each present (0 when none). */
export const jobCountsSchema = apiComponent(
  'JobCounts',
  z.strictObject(Object.fromEntries(JOB_STATUSES.map((s) => [s, countSchema])) as Record<JobStatus, typeof countSchema>),
  'how many jobs are in each status',
);

export const nodeStatusSchema = apiComponent(
  'NodeStatus',
  z.strictObject({
    node: nodeSchema,
    /** the jobs ever matched to the node, by their status now */
    jobs: jobCountsSchema,
  }),
  'a node as the market sees it, for its provider: the node, and its jobs by status now',
);

export const earnedJobSchema = apiComponent(
  'EarnedJob',
  z.strictObject({
    jobId: idSchema,
    /** the job's cost as fixed at match */
    costWei: weiStringSchema,
    /** what the contract released to the node key, as the chain recorded it (ContractReleased) */
    paidWei: weiStringSchema,
    settleTxHash: hexSchema.nullable(),
    /** when the release was recorded (null for a job settled before this was kept) */
    settledAt: z.iso.datetime({ offset: true }).nullable(),
  }),
  'a job the node was paid for',
);

export const earningsPageSchema = apiComponent(
  'EarningsPage',
  z.strictObject({
    nodeId: idSchema,
    nodeAddress: addressSchema,
    /** the sum of paidWei over every settled job of the node */
    totalEarnedWei: weiStringSchema,
    settledJobs: countSchema,
    /** escrow returned to the requester: nothing was paid */
    refundedJobs: countSchema,
    failedJobs: countSchema,
    /** one page of the settled jobs, oldest settlement first */
    jobs: z.array(earnedJobSchema).max(LIMITS.pageSizeMax),
    nextCursor: z.string().nullable(),
  }),
  "what the node was paid: its settled jobs (paged) with their cost and settle transaction, the total, and how many jobs were refunded or failed",
);
