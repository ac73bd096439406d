import { z } from 'zod';
import { LIMITS } from './limits';
import { jobSpecSchema, nodeRegistrationSchema, orgNameSchema, resultSubmissionSchema } from './messages';
import { gpuModelSchema, regionSchema, text, weiSchema } from './primitives';

/**
 * The gateway's request schemas: bodies and query strings of the v1 HTTP API. They are built from
 * the same schemas as the commands and events they become, so the gateway refuses exactly what
 * the services and the log would refuse, with the same limits.
 */
export const createOrgRequestSchema = z.strictObject({ name: orgNameSchema });

export const faucetRequestSchema = z.strictObject({ amountWei: weiSchema });

/** A job as submitted over HTTP: the job spec, with the deadline and the green preference optional. */
export const submitJobRequestSchema = jobSpecSchema.extend({
  deadlineSec: jobSpecSchema.shape.deadlineSec.optional(),
  green: jobSpecSchema.shape.green.optional(),
});

export const registerNodeRequestSchema = nodeRegistrationSchema;

export const submitResultRequestSchema = resultSubmissionSchema;

/** `?limit=` of a list: 1..pageSizeMax, given as a decimal in the query string. */
const pageLimitSchema = z
  .string()
  .regex(/^[0-9]{1,4}$/, 'a decimal integer')
  .transform(Number)
  .pipe(z.number().int().min(1).max(LIMITS.pageSizeMax));

const cursorSchema = text(LIMITS.cursorLengthMax, 1);

export const listQuerySchema = z.strictObject({ limit: pageLimitSchema.optional(), cursor: cursorSchema.optional() });

export const pricesQuerySchema = z.strictObject({
  gpuModel: gpuModelSchema.optional(),
  region: regionSchema.optional(),
  limit: pageLimitSchema.optional(),
  cursor: cursorSchema.optional(),
});

/** Default deadline: ten times the expected runtime, at least five minutes, at most the limit. */
export const DEADLINE_FLOOR_SEC = 300;
export const defaultDeadlineSec = (expectedRuntimeSec: number): number => Math.min(LIMITS.deadlineSecMax, Math.max(DEADLINE_FLOOR_SEC, expectedRuntimeSec * 10));
