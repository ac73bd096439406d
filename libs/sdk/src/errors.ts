import type { Job } from './types';

/**
 * The gateway answered with a non-2xx status. `code`, `message` and `details` come from its error
 * envelope `{ error: { code, message, details } }` (the codes: the ErrorEnvelope of the OpenAPI);
 * an answer without one gets the code `HTTP_<status>`. `retryAfterSec` is the answer's Retry-After
 * (or `details.retryAfterSec`) where it gave one.
 */
export class StarMinerApiError extends Error {
  override readonly name = 'StarMinerApiError';
  readonly retryAfterSec?: number;
  /** The parsed answer body (or undefined when it was not JSON). */
  readonly body?: unknown;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    extra: { retryAfterSec?: number; body?: unknown } = {},
  ) {
    super(message);
    if (extra.retryAfterSec !== undefined) this.retryAfterSec = extra.retryAfterSec;
    if (extra.body !== undefined) this.body = extra.body;
  }
}

/**
 * The gateway could not be reached, or did not answer within the call's timeout (`code: 'TIMEOUT'`).
 * Nothing says whether a call that was sent took effect: calls with an idempotency key may be sent again.
 */
export class StarMinerNetworkError extends Error {
  override readonly name = 'StarMinerNetworkError';
  constructor(
    message: string,
    options?: { cause?: unknown; code?: 'NETWORK' | 'TIMEOUT' },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = options?.code ?? 'NETWORK';
  }
  readonly code: 'NETWORK' | 'TIMEOUT';
}

/**
 * waitForJob did not see the job reach a wanted status: it ended in another final status
 * (`JOB_ENDED`), or the wait ran out (`WAIT_TIMEOUT`). `lastJob` is the job as last read.
 */
export class JobWaitError extends Error {
  override readonly name = 'JobWaitError';
  constructor(
    readonly code: 'WAIT_TIMEOUT' | 'JOB_ENDED',
    message: string,
    readonly lastJob: Job | undefined,
  ) {
    super(message);
  }
}

/** parseAgpu / formatAgpu were given something that is not an exact AGPU amount. */
export class AgpuFormatError extends Error {
  override readonly name = 'AgpuFormatError';
  constructor(
    readonly code: 'AGPU_MALFORMED' | 'AGPU_TOO_MANY_DECIMALS',
    message: string,
  ) {
    super(message);
  }
}
