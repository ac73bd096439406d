import { kindOf, WEI_DECIMAL, type ErrorCode, type ErrorKind } from '@starminer/events';

/**
 * A refusal: the market will not do what was asked. `code` is the machine-readable reason from the
 * catalogue's ERRORS (clients branch on it); `kind` follows from the code, so every edge (HTTP,
 * NATS reply) maps it the same way.
 */
export class DomainError extends Error {
  override readonly name: string = 'DomainError';
  readonly kind: ErrorKind;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.kind = kindOf(code);
  }
}

/** An amount off the wire (base units, decimal string) as a bigint; BAD_AMOUNT naming the field otherwise. */
export function parseWei(field: string, value: string): bigint {
  if (typeof value !== 'string' || !WEI_DECIMAL.test(value))
    throw new DomainError('BAD_AMOUNT', `${field} must be a non-negative integer string in base units (at most 78 digits, no leading zeros)`, { field });
  return BigInt(value);
}

export const refuse = (code: ErrorCode, message: string, details?: Record<string, unknown>): never => {
  throw new DomainError(code, message, details);
};
