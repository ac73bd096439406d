import { z } from 'zod';
import { attestationFormatSchema, EVENT_SCHEMAS } from './catalogue';
import { LIMITS } from './limits';
import {
  addressSchema, CATEGORIES, idSchema, LATENCY_PREFERENCES, redundancyRequestSchema, requirementsSchema, text, URGENCIES, weiSchema, workloadSchema,
} from './primitives';

/**
 * The shapes that cross the edge, shared by the gateway's request schemas and the commands'
 * payloads, each built from the event schemas they end up in so a limit is named once.
 */
const submitted = EVENT_SCHEMAS.JobSubmitted.shape;

/** A job as a requester submits it: what JobSubmitted records of it. */
export const jobSpecSchema = z.strictObject({
  category: z.enum(CATEGORIES),
  budgetWei: weiSchema,
  urgency: z.enum(URGENCIES),
  latencyPreference: z.enum(LATENCY_PREFERENCES),
  requirements: requirementsSchema,
  expectedRuntimeSec: submitted.expectedRuntimeSec,
  /** Seconds after the contract opens by which the result must be in, else refund. */
  deadlineSec: submitted.deadlineSec,
  /** Prefer low-carbon nodes. */
  green: z.boolean(),
  workload: workloadSchema,
  /** Redundancy (issue 17): run on `copies` distinct nodes of one GPU class, each copy paying its own escrow; the majority is paid. */
  redundancy: redundancyRequestSchema.optional(),
});

/** What a node registers: NodeRegistered less what the platform sets (its key, from the signature; its reputation and benchmark check, the market's). */
export const nodeRegistrationSchema = EVENT_SCHEMAS.NodeRegistered.omit({ nodeAddress: true, reputation: true, benchmarkCheck: true });

/**
 * A TEE's attestation report as a provider submits it with its result (issue 17): `format` names
 * the verifier, `report` is what the TEE's tooling printed, bound to the job's nonce. Settlement
 * records its sha256 and the verdict (ResultSubmitted.attestation), never the report.
 */
export const attestationEvidenceSchema = z.strictObject({
  format: attestationFormatSchema,
  report: text(LIMITS.attestationReportLengthMax, 1),
});

/** A provider's result: what ResultSubmitted records of it, and the TEE's attestation where the node has one. */
export const resultSubmissionSchema = EVENT_SCHEMAS.ResultSubmitted.pick({ output: true, resultHash: true, proofHash: true, signature: true }).extend({
  attestation: attestationEvidenceSchema.optional(),
});

/** `Idempotency-Key` and the request ids derived from it: printable ASCII, no spaces. */
export const IDEMPOTENCY_KEY_PATTERN = new RegExp(`^[\\x21-\\x7E]{1,${LIMITS.idempotencyKeyLengthMax}}$`);
export const requestIdSchema = z.string().regex(IDEMPOTENCY_KEY_PATTERN, `1-${LIMITS.idempotencyKeyLengthMax} printable ASCII characters`);

export const orgNameSchema = EVENT_SCHEMAS.OrgRegistered.shape.name;
export { addressSchema, idSchema };

// --------------------------------------------------------------------------- parked events

/** One event a reader could not apply, kept for an operator (see @starminer/trade-log parking). */
export const parkedEventSchema = z.strictObject({
  reader: z.string(),
  seq: z.number().int().positive(),
  subject: z.string(),
  /** The event type when the envelope could be read. */
  type: z.string().nullable(),
  /** What later events of the same aggregate wait behind (the job, node, org...). */
  key: z.string(),
  error: z.string(),
  /** The seq of the first parked event of this key that this one waits behind, or null when it failed itself. */
  blockedBy: z.number().int().nullable(),
  attempts: z.number().int().nonnegative(),
  parkedAt: z.string(),
});
export type ParkedEventView = z.infer<typeof parkedEventSchema>;

// --------------------------------------------------------------------------- read-model digests

/** One table of a read model as the auditor compares it: rows, a sha256 of all of them, one per chunk of LIMITS.readModelChunkRows rows. */
export const readModelTableDigestSchema = z.strictObject({
  table: z.string(),
  /** The columns digested (the log-decided ones), in the order each row lists them. */
  columns: z.array(z.string()),
  rows: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  chunks: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(LIMITS.readModelChunksMax),
  /** True when the table has more chunks than one answer carries (the whole-table sha256 still covers every row). */
  chunksTruncated: z.boolean().optional(),
});
export type ReadModelTableDigest = z.infer<typeof readModelTableDigestSchema>;

/** A read model's digest as of its projection's checkpoint (the last log sequence applied). */
export const readModelDigestSchema = z.strictObject({
  model: z.string(),
  checkpoint: z.number().int().nonnegative(),
  tables: z.array(readModelTableDigestSchema),
});
export type ReadModelDigest = z.infer<typeof readModelDigestSchema>;
