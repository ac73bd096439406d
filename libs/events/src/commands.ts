import { z } from 'zod';
import { ERRORS, type ErrorCode } from './errors';
import { quoteSchema } from './api-quotes';
import { serviceStatusSchema } from './api-ops';
import { nodeTelemetryHistorySchema, nodeTelemetrySchema } from './api-nodes';
import { LIMITS } from './limits';
import { jobSpecSchema, nodeRegistrationSchema, parkedEventSchema, readModelDigestSchema, requestIdSchema, resultSubmissionSchema } from './messages';
import { SERVICES_WITH_PARKING } from './services';
import { addressSchema, hexSchema, idSchema, reasonSchema, text, weiSchema } from './primitives';
import { EVENT_SCHEMAS } from './catalogue';

/** A vault's job template as a command carries it: the job spec a vault fires (one job, one escrow: no redundancy). */
const vaultJobSpecSchema = jobSpecSchema.pick({
  category: true, budgetWei: true, urgency: true, latencyPreference: true, requirements: true, expectedRuntimeSec: true, deadlineSec: true, green: true, workload: true,
});

/** Commands between services travel as NATS request/reply on `cmd.<service>.<verb>`. */
export const COMMAND_SUBJECT_PREFIX = 'cmd';

/** Every command may also answer these: its payload refused, an event it would append refused, our bug. */
export const COMMON_COMMAND_ERRORS = ['COMMAND_INVALID', 'EVENT_REFUSED', 'AGGREGATE_UNREADABLE', 'INTERNAL'] as const satisfies readonly ErrorCode[];

export interface CommandDef<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly service: string;
  readonly verb: string;
  /** `cmd.<service>.<verb>`: callers name the command by its constant, never by this string. */
  readonly subject: string;
  readonly payload: P;
  readonly reply: R;
  /** The refusals it answers besides COMMON_COMMAND_ERRORS. */
  readonly errors: readonly ErrorCode[];
}

/** What a handler receives: the payload as parsed (amounts as bigint). */
export type PayloadOf<C extends CommandDef> = z.output<C['payload']>;
export type ReplyOf<C extends CommandDef> = z.output<C['reply']>;

function command<P extends z.ZodType, R extends z.ZodType>(service: string, verb: string, def: { payload: P; reply: R; errors: readonly ErrorCode[] }): CommandDef<P, R> {
  return { service, verb, subject: `${COMMAND_SUBJECT_PREFIX}.${service}.${verb}`, ...def };
}

const seqSchema = z.number().int().positive();

/** The operator's view of a reader's parked events, re-applying them after a fix, and the service's status; the auditor's digests. */
function parkingCommands(service: string) {
  return {
    listParked: command(service, 'listParked', {
      payload: z.strictObject({
        limit: z.number().int().min(1).max(LIMITS.parkedPageSizeMax).optional(),
        /** the `next` of the previous page */
        after: z.strictObject({ seq: z.number().int().nonnegative(), reader: text(200) }).optional(),
      }),
      reply: z.strictObject({ service: z.string(), parked: z.array(parkedEventSchema), next: z.strictObject({ seq: z.number().int(), reader: z.string() }).nullable() }),
      errors: [],
    }),
    /** The digest of each read model this service projects from the log, for the auditor's replay to compare. */
    readModelDigest: command(service, 'readModelDigest', {
      payload: z.strictObject({}),
      reply: z.strictObject({ service: z.string(), models: z.array(readModelDigestSchema) }),
      errors: [],
    }),
    /** The rows of one chunk of one read-model table, as its digest hashed them: where the auditor looks for the first differing row. */
    readModelChunk: command(service, 'readModelChunk', {
      payload: z.strictObject({ model: text(200, 1), table: text(200, 1), chunk: z.number().int().nonnegative().max(LIMITS.readModelChunksMax) }),
      reply: z.strictObject({ checkpoint: z.number().int().nonnegative(), columns: z.array(z.string()), rows: z.array(z.array(z.string().nullable())).max(LIMITS.readModelChunkRows) }),
      errors: ['READ_MODEL_NOT_FOUND'],
    }),
    /**
     * The service's readiness as GET /health/ready decides it, with its dependencies and each reader
     * of the log (state, checkpoint, lag, parked): the operator's status (GET /v1/ops/status) asks
     * every service. One replica answers (the queue group's).
     */
    status: command(service, 'status', {
      payload: z.strictObject({}),
      reply: serviceStatusSchema,
      errors: [],
    }),
    retryParked: command(service, 'retryParked', {
      payload: z.strictObject({ reader: text(200, 1), key: text(300, 1) }),
      reply: z.strictObject({ applied: z.number().int().nonnegative(), stillParked: z.array(parkedEventSchema) }),
      errors: ['PARKED_EVENTS_NOT_FOUND'],
    }),
  };
}


/**
 * Every command of the market, by service. A caller writes `COMMANDS.intake.submitJob`; its
 * payload is parsed by `payload` before it is sent and again before any handler runs, and its
 * reply by `reply`.
 */
export const COMMANDS = {
  registry: {
    registerNode: command('registry', 'registerNode', {
      payload: z.strictObject({
        /** The node key, recovered by the gateway from the request's signature. */
        nodeAddress: addressSchema,
        registration: nodeRegistrationSchema,
      }),
      reply: z.strictObject({ nodeId: idSchema }),
      errors: ['UNKNOWN_GPU_MODEL', 'VRAM_IMPLAUSIBLE', 'BENCHMARK_REQUIRED', 'NODE_EXISTS', 'NODE_KEY_IN_USE'],
    }),
    heartbeat: command('registry', 'heartbeat', {
      /** `telemetry`: the GPUs' live figures (at most the node's registered GPU count); absent from CPU-only agents and poll heartbeats. */
      payload: z.strictObject({ nodeId: idSchema, nodeAddress: addressSchema, telemetry: nodeTelemetrySchema.optional() }),
      reply: z.strictObject({ ok: z.literal(true) }),
      errors: ['NODE_NOT_FOUND', 'NOT_NODE_KEY', 'TELEMETRY_INVALID'],
    }),
    /**
     * Poll heartbeats, batched (issue 13): each beat is judged as `heartbeat` judges one without
     * telemetry, and answered in its own entry, in the beats' order (one node's refusal is that
     * beat's alone). Telemetry travels on the single `heartbeat` only.
     */
    heartbeats: command('registry', 'heartbeats', {
      payload: z.strictObject({
        beats: z.array(z.strictObject({ nodeId: idSchema, nodeAddress: addressSchema })).min(1).max(LIMITS.heartbeatsPerCommandMax),
      }),
      reply: z.strictObject({
        results: z
          .array(
            z.discriminatedUnion('ok', [
              z.strictObject({ nodeId: idSchema, ok: z.literal(true) }),
              /** `code`: NODE_NOT_FOUND, NOT_NODE_KEY, or what the single heartbeat would have failed with (AGGREGATE_UNREADABLE, EVENT_REFUSED, INTERNAL). */
              z.strictObject({ nodeId: idSchema, ok: z.literal(false), code: z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]) }),
            ]),
          )
          .max(LIMITS.heartbeatsPerCommandMax),
      }),
      errors: [],
    }),
    /** A node's latest GPU telemetry and its bounded history, as the registry keeps it (not on the log): the node page's. */
    nodeTelemetry: command('registry', 'nodeTelemetry', {
      payload: z.strictObject({ nodeId: idSchema }),
      reply: nodeTelemetryHistorySchema,
      errors: [],
    }),
    ...parkingCommands('registry'),
  },
  intake: {
    submitJob: command('intake', 'submitJob', {
      /** `jobId` comes from the edge (derived from the org and its Idempotency-Key, or minted once there), so a retry finds the first attempt. */
      payload: z.strictObject({ orgId: idSchema, jobId: idSchema, spec: jobSpecSchema, requestId: requestIdSchema }),
      reply: z.strictObject({ jobId: idSchema, seq: seqSchema }),
      errors: [
        'ORG_NOT_FOUND', 'INSUFFICIENT_FUNDS', 'JOB_ID_IN_USE', 'FUNDS_VIEW_STALE', 'BUDGET_NOT_POSITIVE', 'BUDGET_TOO_LARGE', 'UNKNOWN_GPU_MODEL', 'REQUIREMENT_UNSATISFIABLE',
        'GPU_COUNT_REQUIRED', 'GPU_COUNT_TOO_LARGE', 'RUNTIME_OUT_OF_RANGE', 'DEADLINE_OUT_OF_RANGE',
        'REDUNDANCY_COPIES_OUT_OF_RANGE', 'REDUNDANCY_TOLERANCE_INVALID', 'REDUNDANCY_GPU_MODEL_REQUIRED',
      ],
    }),
    cancelJob: command('intake', 'cancelJob', {
      payload: z.strictObject({ orgId: idSchema, jobId: idSchema }),
      reply: z.strictObject({ seq: seqSchema.nullable() }),
      errors: ['JOB_NOT_FOUND', 'JOB_NOT_CANCELLABLE'],
    }),
    /**
     * A vault of the org's custodial account: `vaultId` from the edge (derived from the org and its
     * Idempotency-Key, or minted once), so a retry answers the first vault; the template's hashes are
     * computed by intake (the chain binds draws to them).
     */
    createVault: command('intake', 'createVault', {
      payload: z.strictObject({
        orgId: idSchema,
        vaultId: idSchema,
        requestId: requestIdSchema,
        depositWei: weiSchema,
        capPerPeriodWei: weiSchema,
        periodSec: EVENT_SCHEMAS.VaultCreated.shape.periodSec,
        template: vaultJobSpecSchema,
        triggers: EVENT_SCHEMAS.VaultCreated.shape.triggers,
      }),
      reply: z.strictObject({ vaultId: idSchema, seq: seqSchema }),
      errors: [
        'ORG_NOT_FOUND', 'VAULT_ID_IN_USE', 'AMOUNT_NOT_POSITIVE', 'CAP_BELOW_TEMPLATE_BUDGET', 'DUPLICATE_TRIGGER_ID', 'BAD_CRON', 'BAD_TIME_ZONE', 'BUDGET_NOT_POSITIVE',
        'BUDGET_TOO_LARGE', 'UNKNOWN_GPU_MODEL', 'REQUIREMENT_UNSATISFIABLE', 'GPU_COUNT_REQUIRED', 'GPU_COUNT_TOO_LARGE', 'RUNTIME_OUT_OF_RANGE', 'DEADLINE_OUT_OF_RANGE',
        'INSUFFICIENT_FUNDS', 'FUNDS_VIEW_STALE',
      ],
    }),
    /** The org's vault, changed: a new template, paused, resumed or closed. Nothing appended (seq null) when it already is so. */
    changeVault: command('intake', 'changeVault', {
      payload: z.strictObject({
        orgId: idSchema,
        vaultId: idSchema,
        change: z.discriminatedUnion('type', [
          z.strictObject({ type: z.literal('editTemplate'), template: vaultJobSpecSchema }),
          z.strictObject({ type: z.literal('pause') }),
          z.strictObject({ type: z.literal('resume') }),
          z.strictObject({ type: z.literal('close') }),
        ]),
      }),
      reply: z.strictObject({ seq: seqSchema.nullable() }),
      errors: [
        'VAULT_NOT_FOUND', 'VAULT_CLOSED', 'CAP_BELOW_TEMPLATE_BUDGET', 'BUDGET_NOT_POSITIVE', 'BUDGET_TOO_LARGE', 'UNKNOWN_GPU_MODEL', 'REQUIREMENT_UNSATISFIABLE', 'GPU_COUNT_REQUIRED',
        'GPU_COUNT_TOO_LARGE', 'RUNTIME_OUT_OF_RANGE', 'DEADLINE_OUT_OF_RANGE',
      ],
    }),
    /**
     * A call of a vault's trigger URL (the gateway checked its signature): the slot is the caller's
     * Idempotency-Key, so a retry finds the first firing. Fired at intake's clock.
     */
    fireVault: command('intake', 'fireVault', {
      payload: z.strictObject({ orgId: idSchema, vaultId: idSchema, triggerId: idSchema, slot: requestIdSchema }),
      reply: z.strictObject({ firingId: idSchema, jobId: idSchema, seq: seqSchema.nullable() }),
      errors: ['VAULT_NOT_FOUND', 'TRIGGER_NOT_FOUND', 'VAULT_PAUSED', 'VAULT_CLOSED', 'VAULT_CAP_EXCEEDED', 'VAULT_BALANCE_INSUFFICIENT', 'TRIGGER_KEYS_FULL', 'TRIGGER_KEY_EXPIRED'],
    }),
    /**
     * Reserves a top-up's price (issue 16) on the org's account like a budget, under the top-up id
     * (from the edge), until the escrow takes it (ContractToppedUp) or the abandoned sweep releases
     * it. `reserved: false`: the top-up is recorded already (a retry after it landed).
     */
    reserveTopUp: command('intake', 'reserveTopUp', {
      payload: z.strictObject({ orgId: idSchema, jobId: idSchema, topUpId: idSchema, amountWei: weiSchema, requestId: requestIdSchema }),
      reply: z.strictObject({ reserved: z.boolean() }),
      errors: ['ORG_NOT_FOUND', 'JOB_NOT_FOUND', 'INSUFFICIENT_FUNDS', 'JOB_ID_IN_USE', 'FUNDS_VIEW_STALE', 'BUDGET_NOT_POSITIVE'],
    }),
    ...parkingCommands('intake'),
  },
  matching: {
    /**
     * A dry run of the engine's routing and pricing for a job spec as it would be submitted (the
     * gateway fills the same defaults): nothing appended, reserved or held. The spec keeps the same
     * rules as a submission; QUOTE_UNAVAILABLE while the engine is still rebuilding at start.
     */
    quote: command('matching', 'quote', {
      payload: z.strictObject({ spec: jobSpecSchema }),
      reply: quoteSchema,
      errors: [
        'QUOTE_UNAVAILABLE', 'BUDGET_NOT_POSITIVE', 'BUDGET_TOO_LARGE', 'UNKNOWN_GPU_MODEL', 'REQUIREMENT_UNSATISFIABLE', 'GPU_COUNT_REQUIRED', 'GPU_COUNT_TOO_LARGE',
        'RUNTIME_OUT_OF_RANGE', 'DEADLINE_OUT_OF_RANGE',
      ],
    }),
    ...parkingCommands('matching'),
  },
  deployer: {
    allocateAccount: command('deployer', 'allocateAccount', {
      payload: z.strictObject({ orgId: idSchema }),
      reply: z.strictObject({ accountAddress: addressSchema, custodyIndex: z.number().int().nonnegative() }),
      errors: [],
    }),
    mint: command('deployer', 'mint', {
      payload: z.strictObject({ orgId: idSchema, amountWei: weiSchema, requestId: requestIdSchema }),
      reply: z.strictObject({ txHash: hexSchema, balanceWei: weiSchema }),
      errors: ['ORG_NOT_FOUND', 'AMOUNT_NOT_POSITIVE', 'FAUCET_LIMIT', 'IDEMPOTENCY_KEY_REUSED'],
    }),
    /**
     * Tops a running job's escrow up on chain (ComputeEscrow.topUp, paid by the org's custodial
     * account) and records ContractToppedUp with what the chain answered. Idempotent by `topUpId`
     * (from the edge): the chain pays an id once, so a retry after a crash records the first top-up
     * once (`alreadyApplied`). `extraCostWei` is the match's price for `extraRuntimeSec`.
     */
    topUpContract: command('deployer', 'topUpContract', {
      payload: z.strictObject({
        orgId: idSchema,
        jobId: idSchema,
        topUpId: idSchema,
        extraCostWei: weiSchema,
        extraRuntimeSec: z.number().int().min(1).max(LIMITS.topUpExtraRuntimeSecMax),
        requestId: requestIdSchema,
      }),
      reply: z.strictObject({
        seq: seqSchema.nullable(),
        alreadyApplied: z.boolean(),
        extraCostWei: weiSchema,
        newCostWei: weiSchema,
        newDeadlineUnixSec: z.number().int().positive(),
        txHash: hexSchema,
      }),
      errors: ['JOB_NOT_FOUND', 'JOB_ALREADY_FINAL', 'TOP_UP_NOT_OPEN', 'TOP_UP_LIMIT', 'TOP_UP_ID_CONFLICT', 'INSUFFICIENT_FUNDS', 'CHAIN_UNAVAILABLE'],
    }),
    ...parkingCommands('deployer'),
  },
  settlement: {
    startJob: command('settlement', 'startJob', {
      payload: z.strictObject({ jobId: idSchema, nodeId: idSchema, nodeAddress: addressSchema }),
      reply: z.strictObject({ status: z.string() }),
      errors: ['CONTRACT_NOT_OPEN', 'NOT_ASSIGNED_NODE'],
    }),
    /**
     * Re-match on failure (issue 16): the assigned node gives the job up (it cannot run it to the
     * end). Its attempt fails as an offline node's does: it is paid nothing, and the job goes to
     * another node, or is refunded with the reason after its last attempt.
     */
    giveUpJob: command('settlement', 'giveUpJob', {
      payload: z.strictObject({ jobId: idSchema, nodeId: idSchema, nodeAddress: addressSchema, reason: reasonSchema }),
      reply: z.strictObject({ status: z.string() }),
      errors: ['CONTRACT_NOT_OPEN', 'NOT_ASSIGNED_NODE', 'RESULT_ALREADY_FINAL'],
    }),
    submitResult: command('settlement', 'submitResult', {
      payload: resultSubmissionSchema.extend({ jobId: idSchema, nodeId: idSchema, nodeAddress: addressSchema }),
      reply: z.strictObject({ status: z.string(), outcome: z.enum(['release', 'refund']) }),
      errors: ['JOB_NOT_FOUND', 'CONTRACT_NOT_OPEN', 'BAD_RESULT_SIGNATURE', 'RESULT_ALREADY_FINAL', 'RESULT_TOO_LATE', 'VERIFICATION_BUSY', 'VERIFICATION_TIMED_OUT', 'ATTESTATION_UNAVAILABLE'],
    }),
    ...parkingCommands('settlement'),
  },
  gateway: {
    ...parkingCommands('gateway'),
  },
} as const;

export type ServiceWithCommands = keyof typeof COMMANDS;
// every service with parked events answers the parking commands
const _parkingServicesHaveCommands: readonly ServiceWithCommands[] = SERVICES_WITH_PARKING;
void _parkingServicesHaveCommands;

/** Every command, flat (for the catalogue spec and tools). */
export const ALL_COMMANDS: readonly CommandDef[] = Object.values(COMMANDS).flatMap((byVerb) => Object.values(byVerb) as CommandDef[]);
