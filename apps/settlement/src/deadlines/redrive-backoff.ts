/**
 * The bounded backoff of a pending chain action of one job (a settlement re-driven, a lost
 * release or refund restored, a slash): the wait doubles from REDRIVE_BACKOFF_MS_MIN per failed
 * try up to REDRIVE_BACKOFF_MS_MAX, so a job whose chain call keeps failing is tried a few times
 * an hour, never every round, and never waits longer than the cap for a chain that came back.
 */
export const REDRIVE_BACKOFF_MS_MIN = 5_000;
export const REDRIVE_BACKOFF_MS_MAX = 5 * 60_000;
/** Doublings before the cap (2^6 x 5 s > 5 min): also keeps the shift below overflow. */
const DOUBLINGS_MAX = 6;

/** The wait after the `attempts`-th failed try (1-based). */
export function redriveDelayMs(attempts: number): number {
  const doublings = Math.min(Math.max(attempts - 1, 0), DOUBLINGS_MAX);
  return Math.min(REDRIVE_BACKOFF_MS_MIN * 2 ** doublings, REDRIVE_BACKOFF_MS_MAX);
}
