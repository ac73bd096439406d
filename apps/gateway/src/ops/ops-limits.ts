/** How long the operator's endpoints wait for each service's answer (a service past it is listed as not answering). */
export const OPS_COMMAND_TIMEOUT_MS = 5_000;

/**
 * A job not final this long past its deadline is stuck. Settlement's deadline scan (every 2 s)
 * refunds an expired contract within seconds, so a minute past the deadline is well past a
 * working scan, and short of the 5 minutes the StarminerJobsStuckPastDeadline alert waits.
 */
export const STUCK_PAST_DEADLINE_GRACE_MS = 60_000;

/**
 * A job matched this long ago with no contract opened is stuck. The deployer opens a matched
 * job's contract within a batch (seconds) and gives an open up after OPEN_GIVE_UP_GRACE_MS
 * (2 minutes: the job then fails); past this, neither happened.
 */
export const STUCK_MATCHED_WITHOUT_CONTRACT_MS = 5 * 60_000;

/** How long one read of the operator's status (the log's head, the chain, the job view) may take before it is reported as not read. */
export const OPS_READ_TIMEOUT_MS = 2_000;
