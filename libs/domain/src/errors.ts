import { WEI_DECIMAL } from '@starminer/events';

/**
 * A refusal by a decider. `kind` says what sort of refusal it is, so that every edge (HTTP, NATS
 * reply) maps it the same way; `code` is the machine-readable reason clients branch on.
 */
export type RefusalKind = 'invalid' | 'not-found' | 'conflict' | 'forbidden' | 'insufficient-funds' | 'unprocessable';

export class DomainError extends Error {
  override readonly name: string = 'DomainError';
  constructor(
    readonly code: string,
    readonly kind: RefusalKind,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** An amount off the wire (base units, decimal string) as a bigint; BAD_AMOUNT naming the field otherwise. */
export function parseWei(field: string, value: string): bigint {
  if (typeof value !== 'string' || !WEI_DECIMAL.test(value))
    throw new DomainError('BAD_AMOUNT', 'invalid', `${field} must be a non-negative integer string in base units (at most 78 digits, no leading zeros)`, { field });
  return BigInt(value);
}

export const refuse = (code: string, kind: RefusalKind, message: string, details?: Record<string, unknown>): never => {
  throw new DomainError(code, kind, message, details);
};
