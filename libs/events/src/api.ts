import { z } from 'zod';
import { apiComponent } from './api-components';
import { SERVICES_WITH_PARKING } from './services';
import { LIMITS } from './limits';
import { jobSpecSchema, nodeRegistrationSchema, orgNameSchema, resultSubmissionSchema } from './messages';
import { gpuModelSchema, regionSchema, text, weiSchema } from './primitives';

/**
 * The gateway's request schemas: bodies and query strings of the v1 HTTP API. They are built from
 * the same schemas as the commands and events they become, so the gateway refuses exactly what
 * the services and the log would refuse, with the same limits.
 */
export const createOrgRequestSchema = apiComponent('CreateOrgRequest', z.strictObject({ name: orgNameSchema }), 'the org to create (operator token)');

export const faucetRequestSchema = apiComponent('FaucetRequest', z.strictObject({ amountWei: weiSchema }), 'dev mode: AGPU base units to mint to the caller org, as a decimal string');

/** A job as submitted over HTTP: the job spec, with the deadline and the green preference optional. */
export const submitJobRequestSchema = apiComponent(
  'SubmitJobRequest',
  jobSpecSchema.extend({
    deadlineSec: jobSpecSchema.shape.deadlineSec.optional(),
    green: jobSpecSchema.shape.green.optional(),
  }),
  'a job: what it runs, on what, for at most budgetWei; deadlineSec (seconds after the contract opens; default 10 × expectedRuntimeSec, at least 300) and green (prefer low-carbon nodes) are optional',
);

export const registerNodeRequestSchema = apiComponent('RegisterNodeRequest', nodeRegistrationSchema, 'a node and its profile, signed by its node key: one key registers one node');

export const submitResultRequestSchema = apiComponent(
  'SubmitResultRequest',
  resultSubmissionSchema,
  "the result, its proof hash, and the node key's EIP-712 signature over (jobId, resultHash, proofHash) for the escrow and chain",
);

/** Re-match on failure (issue 16): why the node gives an assigned job up. */
export const giveUpJobRequestSchema = apiComponent(
  'GiveUpJobRequest',
  z.strictObject({ reason: text(LIMITS.reasonLengthMax, 1) }),
  'why the node cannot run the job to the end (a sentence): the job goes to another node, and this node is paid nothing for it',
);

/** Re-apply one reader's parked events of one aggregate (operator). */
export const retryParkedRequestSchema = apiComponent(
  'RetryParkedRequest',
  z.strictObject({ service: z.enum(SERVICES_WITH_PARKING), reader: text(200, 1), key: text(LIMITS.idLengthMax, 1) }),
  "one reader's parked events of one aggregate (key), re-applied in log order",
);

export const parkedQuerySchema = z.strictObject({ service: z.enum(SERVICES_WITH_PARKING).optional() });

/** `?limit=` of a list: 1..pageSizeMax, given as a decimal in the query string. */
const pageLimitSchema = z
  .string()
  .regex(/^[0-9]{1,4}$/, 'a decimal integer')
  .transform(Number)
  .pipe(z.number().int().min(1).max(LIMITS.pageSizeMax));

const cursorSchema = text(LIMITS.cursorLengthMax, 1);

export const listQuerySchema = z.strictObject({ limit: pageLimitSchema.optional(), cursor: cursorSchema.optional() });

/**
 * `GET /v1/providers/nodes/:nodeId/assignments?waitMs=`: with waitMs, while the node has no
 * contracted job to start, the answer waits up to waitMs for one (a long poll), so an agent learns
 * of new work as its contract opens instead of on its next poll.
 */
export const assignmentsQuerySchema = z.strictObject({
  waitMs: z
    .string()
    .regex(/^[0-9]{1,6}$/, 'a decimal integer of milliseconds')
    .transform(Number)
    .pipe(z.number().int().min(0).max(LIMITS.assignmentsWaitMsMax))
    .optional(),
});

export const pricesQuerySchema = z.strictObject({
  gpuModel: gpuModelSchema.optional(),
  region: regionSchema.optional(),
  limit: pageLimitSchema.optional(),
  cursor: cursorSchema.optional(),
});

/** Default deadline: ten times the expected runtime, at least five minutes, at most the limit. */
export const DEADLINE_FLOOR_SEC = 300;
export const defaultDeadlineSec = (expectedRuntimeSec: number): number => Math.min(LIMITS.deadlineSecMax, Math.max(DEADLINE_FLOOR_SEC, expectedRuntimeSec * 10));
