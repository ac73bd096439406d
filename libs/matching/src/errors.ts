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

/**
 * A node whose GPU model the price book lacks: no market of it could ever be priced, so the engine
 * would leave its GPUs idle unseen. It refuses the node instead, naming the model.
 */
export class UnknownGpuModelError extends InvalidInputError {
  constructor(
    readonly nodeId: string,
    readonly gpuModel: string,
  ) {
    super('unknown-gpu-model', `node ${nodeId}: unknown GPU model '${gpuModel}' (not in the price book)`, { nodeId, gpuModel });
  }
}

export function invariant(condition: boolean, message: string, details?: Record<string, unknown>): asserts condition {
  if (!condition) throw new InvariantViolation(message, details);
}
