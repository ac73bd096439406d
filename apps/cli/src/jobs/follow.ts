import type { Client, Ctx } from '../shared/context';
import { EXIT, OutcomeError, UsageError } from '../shared/errors';

/** The statuses a job never leaves (JOB_STATUSES' final ones in libs/events/src/job-updates.ts). */
export const FINAL_STATUSES: readonly string[] = ['settled', 'refunded', 'failed', 'cancelled'];
export const isFinal = (status: string): boolean => FINAL_STATUSES.includes(status);

/** How long a wait lasts unless `--timeout` says otherwise, and the most it may say. */
export const WAIT_TIMEOUT_SEC_DEFAULT = 30 * 60;
export const WAIT_TIMEOUT_SEC_MAX = 24 * 3600;

export function waitTimeoutMs(timeoutSec: number | undefined): number {
  const sec = timeoutSec ?? WAIT_TIMEOUT_SEC_DEFAULT;
  if (!Number.isFinite(sec) || sec <= 0 || sec > WAIT_TIMEOUT_SEC_MAX) throw new UsageError('BAD_FLAG', `--timeout: seconds from 1 to ${WAIT_TIMEOUT_SEC_MAX}`);
  return Math.round(sec * 1000);
}

/** A job update's seq: decimal digits, at most 20 (a uint64), as `jobs history` shows them and the SDK takes. */
const SEQ = /^[0-9]{1,20}$/;

/** `jobs watch --since SEQ`: checked here, so a wrong one is a usage error (exit 2) naming the flag. */
export function sinceSeq(since: string | undefined): string | undefined {
  if (since === undefined) return undefined;
  if (!SEQ.test(since)) throw new UsageError('BAD_FLAG', `--since: a job update's seq, 1 to 20 digits (the first column of \`jobs history\`), got ${JSON.stringify(since)}`);
  return since;
}

/** One update as the SDK's watchJob yields it. */
export type JobUpdate = ReturnType<Client['watchJob']> extends AsyncIterable<infer U> ? U : never;

/**
 * Follows a job's updates (the SDK's watchJob: SSE, resuming after a drop, polling where SSE is
 * away) until it ends or the wait runs out, handing each update to `onUpdate`. Answers the final
 * status; a wait that runs out is exit 5, Ctrl-C exit 130.
 */
export async function followJob(
  ctx: Ctx,
  client: Client,
  opts: { jobId: string; lastEventId?: string; timeoutMs: number; onUpdate: (u: JobUpdate) => void },
): Promise<{ status: string; last?: JobUpdate }> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = AbortSignal.any([ctx.signal, timeout]);
  let last: JobUpdate | undefined;
  try {
    for await (const u of client.watchJob({ jobId: opts.jobId, ...(opts.lastEventId ? { lastEventId: opts.lastEventId } : {}), signal })) {
      last = u;
      opts.onUpdate(u);
      if (isFinal(u.status)) return { status: u.status, last };
    }
  } catch (err) {
    if (timeout.aborted && !ctx.signal.aborted) throw new OutcomeError(EXIT.waitTimedOut, 'WAIT_TIMEOUT', `job ${opts.jobId} is still ${last?.status ?? 'not final'} after ${Math.round(opts.timeoutMs / 1000)} s`);
    throw err;
  }
  // the stream ended without a final update (it should not): the job's own view says where it is
  const job = await client.getJob({ jobId: opts.jobId, signal: ctx.signal });
  return { status: job.status, ...(last ? { last } : {}) };
}

/** A job that ended without settling is exit 4, naming how it ended and why. */
export function outcomeOf(jobId: string, status: string, failure?: { code?: string | null; reason?: string | null } | null): void {
  if (status === 'settled') return;
  const why = failure && (failure.code || failure.reason) ? `: ${[failure.code, failure.reason].filter((x) => x).join(': ')}` : '';
  throw new OutcomeError(EXIT.jobNotSettled, 'JOB_NOT_SETTLED', `job ${jobId} ended ${status}${why}`);
}
