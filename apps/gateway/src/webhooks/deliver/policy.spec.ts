import { afterAttempt, expiredBeforeAttempt, retryDelayMs, type RetryPolicy } from './policy';

const policy: RetryPolicy = { retryBaseMs: 1_000, retryMaxMs: 60_000, giveUpAfterMs: 3_600_000 };
const NOW = 1_800_000_000_000;

describe('the webhook retry schedule', () => {
  it('given failures in a row, then the wait doubles from the base (between half and all of it)', () => {
    for (const [failures, full] of [
      [1, 1_000],
      [2, 2_000],
      [3, 4_000],
      [6, 32_000],
    ] as const) {
      expect(retryDelayMs(failures, policy, 0)).toBe(full / 2);
      expect(retryDelayMs(failures, policy, 0.999_999)).toBe(full);
      const d = retryDelayMs(failures, policy, 0.5);
      expect(d).toBeGreaterThanOrEqual(full / 2);
      expect(d).toBeLessThanOrEqual(full);
    }
  });

  it('given many failures, then the wait never passes the max (and stays finite)', () => {
    for (const failures of [7, 8, 20, 1_000, Number.MAX_SAFE_INTEGER]) {
      expect(retryDelayMs(failures, policy, 0.999_999)).toBe(60_000);
      expect(retryDelayMs(failures, policy, 0)).toBe(30_000);
    }
  });

  it('given a random outside [0, 1) or no failure yet, then the wait is still within its bounds', () => {
    expect(retryDelayMs(0, policy, 0)).toBe(500);
    expect(retryDelayMs(1, policy, -3)).toBe(500);
    expect(retryDelayMs(1, policy, 7)).toBe(1_000);
  });

  it('given a max below the base, then the max is the cap', () => {
    expect(retryDelayMs(1, { retryBaseMs: 10_000, retryMaxMs: 2_000 }, 0.999_999)).toBe(2_000);
  });
});

describe('the decision after an attempt', () => {
  const attempt = (over: Partial<Parameters<typeof afterAttempt>[0]>) =>
    afterAttempt({ outcome: { kind: 'answered', statusCode: 200 }, nowMs: NOW, pendingSinceMs: NOW - 5_000, consecutiveFailures: 0, policy, random: 0, ...over });

  it('given a 2xx, then the delivery is delivered, the webhook healthy and the turn goes on', () => {
    for (const statusCode of [200, 202, 204, 299]) {
      expect(attempt({ outcome: { kind: 'answered', statusCode }, consecutiveFailures: 4 })).toEqual({
        delivery: 'delivered',
        failure: null,
        consecutiveFailures: 0,
        nextAttemptAtMs: NOW,
        continueTurn: true,
      });
    }
  });

  it('given any other status, then the delivery stays pending and the webhook backs off', () => {
    for (const statusCode of [199, 301, 400, 410, 500, 503]) {
      expect(attempt({ outcome: { kind: 'answered', statusCode }, consecutiveFailures: 2 })).toEqual({
        delivery: 'pending',
        failure: null,
        consecutiveFailures: 3,
        nextAttemptAtMs: NOW + 2_000,
        continueTurn: false,
      });
    }
  });

  it('given no answer (refused, timed out), then the same as a failure status', () => {
    expect(attempt({ outcome: { kind: 'no-answer', error: 'ECONNREFUSED' } })).toMatchObject({ delivery: 'pending', consecutiveFailures: 1, nextAttemptAtMs: NOW + 500, continueTurn: false });
  });

  it('given a failure once the delivery has been pending for the give-up age, then it is failed and says why', () => {
    const d = attempt({ outcome: { kind: 'no-answer', error: 'ECONNREFUSED' }, pendingSinceMs: NOW - policy.giveUpAfterMs, consecutiveFailures: 9 });
    expect(d).toMatchObject({ delivery: 'failed', consecutiveFailures: 10, continueTurn: false });
    expect(d.failure).toMatch(/given up after 3600 s without a 2xx \(last: ECONNREFUSED\)/);
  });

  it('given a 2xx after the give-up age, then it is delivered all the same', () => {
    expect(attempt({ pendingSinceMs: NOW - 10 * policy.giveUpAfterMs }).delivery).toBe('delivered');
  });

  it('given a delivery whose turn comes after the give-up age, then it is failed without an attempt; before it, it is tried', () => {
    expect(expiredBeforeAttempt(NOW, NOW - policy.giveUpAfterMs, policy)).toMatch(/given up after 3600 s pending/);
    expect(expiredBeforeAttempt(NOW, NOW - policy.giveUpAfterMs + 1, policy)).toBeNull();
  });
});
