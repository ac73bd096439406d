import { backoffMs } from '@starminer/trade-log';

/**
 * When a webhook delivery is tried again, and when it is given up: pure functions of the attempt's
 * outcome, the clock and the configuration, so the schedule is specified without a receiver.
 *
 * The backoff belongs to the webhook (its receiver), not to each delivery: a receiver that is down
 * is asked once per backoff step, not once per pending delivery, and a dead receiver delays only
 * its own webhook. Its deliveries are sent in log order, so the first pending one is the probe;
 * once it is acknowledged the rest follow at once.
 */

/** Defaults and bounds of the configuration (gateway.config.ts): tests shorten them. */
export const WEBHOOK_RETRY_BASE_MS_DEFAULT = 5_000;
/** Retries settle at one every 15 minutes: a receiver back after an outage waits at most that long. */
export const WEBHOOK_RETRY_MAX_MS_DEFAULT = 15 * 60_000;
/** A day of retries (about 100 attempts at the defaults) before a delivery is failed; redeliver brings it back. */
export const WEBHOOK_GIVE_UP_AFTER_MS_DEFAULT = 24 * 3600_000;
/** A receiver that has not answered in 10 s is counted as down: the next delivery must not wait behind it forever. */
export const WEBHOOK_DELIVERY_TIMEOUT_MS_DEFAULT = 10_000;
export const WEBHOOK_RETRY_MS_MIN = 100;
export const WEBHOOK_RETRY_MS_MAX = 24 * 3600_000;
export const WEBHOOK_GIVE_UP_AFTER_MS_MIN = 1_000;
export const WEBHOOK_GIVE_UP_AFTER_MS_MAX = 30 * 24 * 3600_000;
export const WEBHOOK_DELIVERY_TIMEOUT_MS_MIN = 100;
/** Longer than a minute holds a webhook's lease, and its later deliveries, for no good reason. */
export const WEBHOOK_DELIVERY_TIMEOUT_MS_MAX = 60_000;

export interface RetryPolicy {
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly giveUpAfterMs: number;
}

/**
 * The wait before the next attempt after `failures` failed attempts in a row (1 = the first
 * failure): the log's backoff (base x 2^(failures-1), capped at max, equal jitter), so many
 * webhooks failing at once do not come back in lockstep. `random` is in [0, 1).
 */
export function retryDelayMs(failures: number, policy: Pick<RetryPolicy, 'retryBaseMs' | 'retryMaxMs'>, random: number): number {
  return backoffMs(failures, policy.retryBaseMs, policy.retryMaxMs, random);
}

/** What a receiver did with one attempt. */
export type AttemptOutcome = { readonly kind: 'answered'; readonly statusCode: number } | { readonly kind: 'no-answer'; readonly error: string };

export const isAcknowledged = (o: AttemptOutcome): boolean => o.kind === 'answered' && o.statusCode >= 200 && o.statusCode < 300;

export interface AttemptDecision {
  /** the delivery's status after this attempt */
  readonly delivery: 'delivered' | 'pending' | 'failed';
  /** why it was given up (failed only) */
  readonly failure: string | null;
  /** the webhook's failures in a row after this attempt */
  readonly consecutiveFailures: number;
  /** when the webhook may be tried again (now, after a 2xx) */
  readonly nextAttemptAtMs: number;
  /** whether the webhook's next pending delivery may be sent in the same turn */
  readonly continueTurn: boolean;
}

/**
 * After one attempt: a 2xx delivers it and clears the webhook's backoff; anything else counts a
 * failure of the webhook, which waits retryDelayMs before its next attempt, and the delivery is
 * failed once it has been pending for giveUpAfterMs (else it stays pending, first in line).
 */
export function afterAttempt(input: {
  readonly outcome: AttemptOutcome;
  readonly nowMs: number;
  /** since when the delivery is pending (written, or redelivered) */
  readonly pendingSinceMs: number;
  /** the webhook's failures in a row before this attempt */
  readonly consecutiveFailures: number;
  readonly policy: RetryPolicy;
  readonly random: number;
}): AttemptDecision {
  const { outcome, nowMs, policy } = input;
  if (isAcknowledged(outcome)) return { delivery: 'delivered', failure: null, consecutiveFailures: 0, nextAttemptAtMs: nowMs, continueTurn: true };
  const failures = input.consecutiveFailures + 1;
  const nextAttemptAtMs = nowMs + retryDelayMs(failures, policy, input.random);
  const expired = nowMs - input.pendingSinceMs >= policy.giveUpAfterMs;
  return {
    delivery: expired ? 'failed' : 'pending',
    failure: expired ? `given up after ${Math.round((nowMs - input.pendingSinceMs) / 1000)} s without a 2xx (last: ${describeOutcome(outcome)})` : null,
    consecutiveFailures: failures,
    nextAttemptAtMs,
    continueTurn: false,
  };
}

/** A delivery pending longer than the give-up age when its turn comes (the receiver was down all along): failed without another attempt. */
export function expiredBeforeAttempt(nowMs: number, pendingSinceMs: number, policy: Pick<RetryPolicy, 'giveUpAfterMs'>): string | null {
  const ageMs = nowMs - pendingSinceMs;
  return ageMs >= policy.giveUpAfterMs ? `given up after ${Math.round(ageMs / 1000)} s pending: the receiver did not acknowledge earlier deliveries` : null;
}

export function describeOutcome(o: AttemptOutcome): string {
  return o.kind === 'answered' ? `HTTP ${o.statusCode}` : o.error;
}
