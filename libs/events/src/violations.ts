import type { z } from 'zod';

/** One reason a message was refused: the field (dotted path), what is wrong, and the limit where one applies. */
export interface Violation {
  readonly field: string;
  readonly message: string;
  readonly limit?: number | string;
}

/** Violations shown in one answer; the rest are counted, not listed. */
export const VIOLATIONS_SHOWN_MAX = 20;

const pathOf = (path: readonly PropertyKey[]): string => (path.length === 0 ? '(root)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '['));

/** A zod error as violations a client can act on: which field, why, and the limit it broke. */
export function violationsOf(error: z.ZodError, prefix: readonly PropertyKey[] = []): Violation[] {
  return error.issues.slice(0, VIOLATIONS_SHOWN_MAX).map((issue) => {
    const field = pathOf([...prefix, ...issue.path]);
    const limit =
      issue.code === 'too_big' ? bound(issue.maximum) : issue.code === 'too_small' ? bound(issue.minimum) : issue.code === 'unrecognized_keys' ? undefined : undefined;
    const message = issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}` : issue.message;
    return limit === undefined ? { field, message } : { field, message, limit };
  });
}

function bound(v: number | bigint): number | string {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** `field: message (limit n); ...` for a log line or an error message. */
export function describeViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.field}: ${v.message}${v.limit === undefined ? '' : ` (limit ${v.limit})`}`).join('; ');
}
