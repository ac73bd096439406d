/** Named, typed errors of the matching engine; `code` is machine-readable. */
export class MatchingError extends Error {
  override readonly name: string = 'MatchingError';
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** An invariant of the engine was broken: a bug, never a user error. */
export class InvariantViolation extends MatchingError {
  override readonly name = 'InvariantViolation';
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('invariant-violation', message, details);
  }
}

export class InvalidInputError extends MatchingError {
  override readonly name = 'InvalidInputError';
}

export function invariant(condition: boolean, message: string, details?: Record<string, unknown>): asserts condition {
  if (!condition) throw new InvariantViolation(message, details);
}
