import { z } from 'zod';
import { ERRORS, type ErrorCode } from './errors';

/**
 * The named shapes of the v1 HTTP API: every request body, answer and the error envelope that the
 * OpenAPI document lists under `components.schemas`. A schema registered here is emitted once, by
 * its id, and referenced wherever it is used, so a client generated from the document gets one
 * named type per concept (`Job`, `Quote`, `ErrorEnvelope`).
 */
export const API_COMPONENTS = z.registry<{ id: string; description?: string }>();

/** Registers `schema` as the API component `id` and returns it. */
export function apiComponent<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  API_COMPONENTS.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
}

/** The id a schema is registered under, or undefined. */
export const apiComponentId = (schema: z.ZodType): string | undefined => API_COMPONENTS.get(schema)?.id;

/**
 * The one error body every client error and every 5xx answers: `{ error: { code, message, details } }`.
 * `code` is what a client branches on (libs/events/src/errors.ts); `details.violations` names each
 * field and its limit on VALIDATION_FAILED; `details.retryAfterSec` says when to retry where it applies.
 */
export const errorEnvelopeSchema = apiComponent(
  'ErrorEnvelope',
  z.strictObject({
    error: z.strictObject({
      code: z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  }),
  'the one error body of every edge: a machine-readable code, a message, and details where the code has any',
);
