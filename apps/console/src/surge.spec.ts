import type { MatchReceipt } from '@starminer/sdk';
import { receiptSurge, surgeBadge, surgeSummary } from './surge';

const SINCE = '2026-11-28T15:04:05.000Z';
const candidate = (nodeId: string, total: number, reservedLiquidity: number): MatchReceipt['winner'] => ({
  nodeId,
  gpuModel: 'H100',
  region: 'eu-west',
  gpuCount: 1,
  score: { priceFit: 0.3, reservedLiquidity, total },
});
type SurgeReceipt = Parameters<typeof receiptSurge>[0];
const receipt = (over: Partial<SurgeReceipt>): SurgeReceipt => ({ surge: true, surgePreference: { sinceAt: SINCE, winnerStaked: true }, winner: candidate('n-staked', 1.4, 1), runnerUp: candidate('n-2', 0.9, 0), ...over });

describe('surgeBadge', () => {
  it('given a market in surge, then the word "surge" and since when; given none, then no badge', () => {
    expect(surgeBadge({ sinceAt: SINCE })).toEqual({ text: 'surge', since: '2026-11-28 15:04:05 UTC', label: 'In surge since 2026-11-28 15:04:05 UTC' });
    expect(surgeBadge(null)).toBeNull();
    expect(surgeBadge(undefined)).toBeNull();
  });
});

describe('surgeSummary', () => {
  it('counts the markets in surge and says what it means; none, no line', () => {
    expect(surgeSummary([{ surge: { sinceAt: SINCE } }, { surge: null }])).toBe("One market is in surge: there, a staked pool's node is ranked before every unstaked node.");
    expect(surgeSummary([{ surge: { sinceAt: SINCE } }, { surge: { sinceAt: SINCE } }])).toMatch(/^2 markets are in surge/);
    expect(surgeSummary([{ surge: null }, {}])).toBeNull();
  });
});

describe('receiptSurge', () => {
  it('given a match outside a surge, then no sentence', () => {
    expect(receiptSurge(receipt({ surge: false, surgePreference: undefined }))).toBeNull();
  });

  it('given a staked winner that the runner-up beats without the preference, then the preference decided it, naming the runner-up', () => {
    const r = receiptSurge(receipt({}))!;
    expect(r.decision).toBe('decided');
    expect(r.sentence).toBe(
      "Matched while H100 in eu-west was in surge (since 2026-11-28 15:04:05 UTC): the staked-pool preference decided it. The winner is a staked pool's node; without the preference, n-2 would have scored higher.",
    );
  });

  it('given a staked winner above the runner-up even without the preference, then it did not decide it', () => {
    const r = receiptSurge(receipt({ winner: candidate('n-staked', 2.1, 1), runnerUp: candidate('n-2', 0.9, 0) }))!;
    expect(r.decision).toBe('not-needed');
    expect(r.sentence).toContain('the preference did not decide it');
  });

  it('given a staked winner whose lead the scores cannot settle (a staked runner-up, no runner-up, or no terms), then it says it was ranked first, no more', () => {
    // without either term the winner (0.5) beats the runner-up (0.4), but not the runner-up's whole score (1.4)
    expect(receiptSurge(receipt({ winner: candidate('n-staked', 1.5, 1), runnerUp: candidate('n-2', 1.4, 1) }))!.decision).toBe('staked-first');
    expect(receiptSurge(receipt({ runnerUp: null }))!.decision).toBe('staked-first');
    const noTerms = receiptSurge(receipt({ winner: { ...candidate('n-staked', 1, 1), score: { total: 1 } } }))!;
    expect(noTerms.decision).toBe('staked-first');
    expect(noTerms.sentence).toContain('ranked before every unstaked node of its market by the staked-pool preference');
  });

  it('given an unstaked winner in a surge, then no staked node could take the job and the preference did not decide it', () => {
    const r = receiptSurge(receipt({ surgePreference: { sinceAt: SINCE, winnerStaked: false }, winner: candidate('n-1', 0.9, 0) }))!;
    expect(r.decision).toBe('no-staked-node');
    expect(r.sentence).toBe(
      "Matched while H100 in eu-west was in surge (since 2026-11-28 15:04:05 UTC): no staked pool's node of the market could take the job, so the staked-pool preference did not decide it.",
    );
  });

  it('given a receipt made in a surge before the preference was recorded, then it says so without a start or a verdict', () => {
    const r = receiptSurge(receipt({ surgePreference: undefined }))!;
    expect(r.decision).toBe('not-recorded');
    expect(r.sentence).toBe('Matched while H100 in eu-west was in surge. The receipt predates the record of the staked-pool preference, so it does not say whether that decided it.');
  });
});
