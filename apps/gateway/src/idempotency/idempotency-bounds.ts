import { COMMAND_TIMEOUT_MS } from '@starminer/service-kit';
import { READ_YOUR_WRITES_WAIT_MS } from '../views/gateway-views';

/**
 * The longest one attempt of the gateway's work can take while its process lives: the command's
 * bounded wait for its reply, then the bounded wait for the views to catch up with it.
 */
export const ATTEMPT_DURATION_SEC_MAX = Math.ceil((COMMAND_TIMEOUT_MS + READ_YOUR_WRITES_WAIT_MS) / 1000);

/**
 * An Idempotency-Key's record left in progress expires after this many seconds (configurable as
 * IDEMPOTENCY_IN_PROGRESS_EXPIRY_SEC): then the gateway that claimed it is taken to be gone (a
 * crash never answers) and a retry of the same request takes it over. It must outlast an attempt,
 * with a margin, so that a live attempt is not taken over; a takeover of a slow but live attempt
 * would still do no harm, because the work is idempotent downstream (the same job id, the same
 * mint request id).
 */
export const IN_PROGRESS_EXPIRY_SEC_MIN = 2 * ATTEMPT_DURATION_SEC_MAX;
export const IN_PROGRESS_EXPIRY_SEC_DEFAULT = 60;
/** At most an hour: a client retrying a crashed request waits no longer than that. */
export const IN_PROGRESS_EXPIRY_SEC_MAX = 3600;
