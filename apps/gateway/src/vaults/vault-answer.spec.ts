import { cronSlotOf, initialVaultState, vaultDecider, vaultFiringId, vaultFiringJobId, type VaultEvent } from '@starminer/domain';
import { EXAMPLE_EVENT_DATA, LIMITS, vaultSchema } from '@starminer/events';
import { verifyVaultTriggerSignature, vaultTriggerSignatureV1 } from './trigger-signature';
import { vaultAnswerOf } from './vault-answer';

const AGPU = 10n ** 18n;
const created = EXAMPLE_EVENT_DATA.VaultCreated;
const T0 = created.periodAnchorMs;
const HOUR_MS = 3_600_000;

const fired = (atMs: number, periodIndex: number): VaultEvent => {
  const firingId = vaultFiringId(created.vaultId, 'nightly', cronSlotOf(atMs));
  return { type: 'VaultFired', data: { vaultId: created.vaultId, firingId, triggerId: 'nightly', slot: cronSlotOf(atMs), slotAtMs: atMs, periodIndex, jobId: vaultFiringJobId(firingId), budgetWei: 10n * AGPU, templateHash: created.template.templateHash } };
};

describe('vaultAnswerOf', () => {
  it('answers the balance, the period now and the newest firings first, bounded, in the API shape', () => {
    // one firing an hour over three days of daily periods: more than the answer lists
    const events: VaultEvent[] = [{ type: 'VaultCreated', data: { ...created, depositWei: 10_000n * AGPU, capPerPeriodWei: 1_000n * AGPU } }];
    for (let h = 1; h <= 72; h += 1) events.push(fired(T0 + h * HOUR_MS, Math.floor(h / 24)));
    const state = events.reduce(vaultDecider.evolve, initialVaultState());
    if (state.status === 'none') throw new Error('unreachable');
    const answer = vaultAnswerOf(state, T0 + 73 * HOUR_MS);
    expect(vaultSchema.safeParse(answer).success).toBe(true);
    expect(answer.firings).toHaveLength(LIMITS.vaultFiringsListedMax);
    expect(answer.firings[0].slotAt).toBe(cronSlotOf(T0 + 72 * HOUR_MS));
    expect(answer).toMatchObject({ firedCount: 72, skippedCount: 0, balanceWei: ((10_000n - 720n) * AGPU).toString() });
    // the fourth day: one firing (hour 72) so far
    expect(answer.currentPeriod).toEqual({
      index: 3,
      startsAt: new Date(T0 + 72 * HOUR_MS).toISOString(),
      endsAt: new Date(T0 + 96 * HOUR_MS).toISOString(),
      spentWei: (10n * AGPU).toString(),
      remainingCapWei: (990n * AGPU).toString(),
    });
    expect(answer.triggers).toContainEqual({ triggerId: 'hook', kind: 'url', path: `/v1/vault-triggers/${created.vaultId}/hook` });
  });
});

describe('verifyVaultTriggerSignature', () => {
  const secret = `vtsec_${'x'.repeat(43)}`;
  const body = '{"why":"deploy finished"}';
  const now = 1_800_000_000;
  const header = (t: number, s = secret, b = body) => `t=${t},v1=${vaultTriggerSignatureV1(s, t, b)}`;
  const check = (h: string | undefined, b = body) => verifyVaultTriggerSignature({ secret, header: h, body: b, nowSec: now, skewSecMax: 300 });

  it('accepts the HMAC of "<t>.<body>" under the secret within the skew, one of several v1 entries', () => {
    expect(check(header(now))).toBe(true);
    expect(check(header(now - 300))).toBe(true);
    expect(check(`t=${now},v1=${'0'.repeat(64)},v1=${vaultTriggerSignatureV1(secret, now, body)}`)).toBe(true);
  });

  it('refuses a stale or future t, another secret, another body, and a malformed header', () => {
    expect(check(header(now - 301))).toBe(false);
    expect(check(header(now + 301))).toBe(false);
    expect(check(header(now, `vtsec_${'y'.repeat(43)}`))).toBe(false);
    expect(check(header(now), '{"why":"other"}')).toBe(false);
    for (const bad of [undefined, '', 't=abc,v1=00', `v1=${vaultTriggerSignatureV1(secret, now, body)}`, `t=${now}`, 'x'.repeat(2000)]) expect(check(bad)).toBe(false);
  });
});
