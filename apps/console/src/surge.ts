/**
 * Surges as the console shows them. A market is in surge when the matching engine decided so from
 * its utilization and queue (SurgeStarted on the log, no SurgeEnded since): meanwhile a staked
 * pool's node of it ranks before every unstaked one. The price board and the supply say since
 * when; a job's receipt says whether it was matched in one, and whether that preference decided it.
 */
import type { MarketSurge, MatchReceipt } from '@starminer/sdk';
import { formatTime } from './format';

export interface SurgeBadge {
  /** the badge's word: the sign is the text, the colour only repeats it */
  readonly text: 'surge';
  /** since when, as formatTime writes it */
  readonly since: string;
  /** the whole of it, for a title or a screen reader */
  readonly label: string;
}

/** A market's surge as a badge, or null when the market is not in surge. */
export function surgeBadge(surge: MarketSurge | null | undefined): SurgeBadge | null {
  if (!surge) return null;
  const since = formatTime(surge.sinceAt);
  return { text: 'surge', since, label: `In surge since ${since}` };
}

/** A line under a table of markets: how many are in surge and what that means; null when none is. */
export function surgeSummary(markets: readonly { surge?: MarketSurge | null }[]): string | null {
  const n = markets.filter((m) => m.surge).length;
  if (n === 0) return null;
  return `${n === 1 ? 'One market is' : `${n} markets are`} in surge: there, a staked pool's node is ranked before every unstaked node.`;
}

/**
 * What the staked-pool preference did to a match made in a surge:
 * - `decided`: the winner is a staked pool's node, and without the preference's term the
 *   runner-up would have scored higher: the preference chose the winner;
 * - `not-needed`: the winner is staked, and scores more than the runner-up's whole score without
 *   the term: it would have won without the preference (no other node scored more than the runner-up);
 * - `staked-first`: the winner is staked and was ranked first by the preference, but the receipt
 *   cannot tell whether another node would have won without it;
 * - `no-staked-node`: the winner is not staked: no staked node of its market could take the job;
 * - `not-recorded`: a receipt made before the engine recorded the preference (engine < 2.1.0).
 */
export type SurgeDecision = 'decided' | 'not-needed' | 'staked-first' | 'no-staked-node' | 'not-recorded';

export interface ReceiptSurge {
  readonly decision: SurgeDecision;
  /** one sentence a requester reads on the job's page */
  readonly sentence: string;
}

type SurgeReceipt = Pick<MatchReceipt, 'surge' | 'surgePreference' | 'winner' | 'runnerUp'>;

const term = (score: Record<string, number>, name: string): number | null => {
  const x = score[name];
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
};

/** The decision from the scores: the receipt's terms are weighted, and `total` is their sum. */
function decisionOf(receipt: SurgeReceipt): SurgeDecision {
  const pref = receipt.surgePreference;
  if (!pref) return 'not-recorded';
  if (!pref.winnerStaked) return 'no-staked-node';
  const winnerTotal = term(receipt.winner.score, 'total');
  const winnerBonus = term(receipt.winner.score, 'reservedLiquidity');
  const runner = receipt.runnerUp;
  if (!runner) return 'staked-first';
  const runnerTotal = term(runner.score, 'total');
  const runnerBonus = term(runner.score, 'reservedLiquidity') ?? 0;
  if (winnerTotal === null || winnerBonus === null || runnerTotal === null) return 'staked-first';
  const winnerWithout = winnerTotal - winnerBonus;
  // the runner-up beats the winner with neither's term: the preference chose
  if (winnerWithout < runnerTotal - runnerBonus) return 'decided';
  // above the runner-up's whole score, so above every other node's: no preference needed
  if (winnerWithout > runnerTotal) return 'not-needed';
  return 'staked-first';
}

/**
 * The sentence a job's receipt gets when the match was made in a surge (null otherwise): the
 * market, since when, and whether the staked-pool preference decided the match.
 */
export function receiptSurge(receipt: SurgeReceipt): ReceiptSurge | null {
  if (!receipt.surge) return null;
  const market = `${receipt.winner.gpuModel} in ${receipt.winner.region}`;
  const since = receipt.surgePreference ? ` (since ${formatTime(receipt.surgePreference.sinceAt)})` : '';
  const lead = `Matched while ${market} was in surge${since}`;
  const decision = decisionOf(receipt);
  switch (decision) {
    case 'decided':
      return { decision, sentence: `${lead}: the staked-pool preference decided it. The winner is a staked pool's node; without the preference, ${receipt.runnerUp!.nodeId} would have scored higher.` };
    case 'not-needed':
      return { decision, sentence: `${lead}: the winner is a staked pool's node, routed first by the staked-pool preference, but it would have won without it: the preference did not decide it.` };
    case 'staked-first':
      return { decision, sentence: `${lead}: the winner is a staked pool's node, ranked before every unstaked node of its market by the staked-pool preference.` };
    case 'no-staked-node':
      return { decision, sentence: `${lead}: no staked pool's node of the market could take the job, so the staked-pool preference did not decide it.` };
    case 'not-recorded':
      return { decision, sentence: `${lead}. The receipt predates the record of the staked-pool preference, so it does not say whether that decided it.` };
    default: {
      const unknown: never = decision;
      throw new Error(`unknown surge decision ${String(unknown)}`);
    }
  }
}
