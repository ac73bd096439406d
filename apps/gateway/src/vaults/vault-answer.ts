import { vaultAvailableWei, vaultPeriodAt, type VaultState } from '@starminer/domain';
import { LIMITS, type VaultAnswer } from '@starminer/events';

type KnownVault = Exclude<VaultState, { status: 'none' }>;

/** Where a vault's URL trigger is called (POST, signed with the vault's trigger secret). */
export const vaultTriggerPath = (vaultId: string, triggerId: string): string => `/v1/vault-triggers/${vaultId}/${triggerId}`;

const iso = (ms: number): string => new Date(ms).toISOString();

/** A vault as the API answers it: its terms, balance, the period now, and its newest firings first (bounded). Created when its periods start. */
export function vaultAnswerOf(v: KnownVault, nowMs: number): VaultAnswer {
  const period = vaultPeriodAt(v, nowMs);
  // the vault keeps its newest firings, recorded order; listed newest slot first
  const newest = v.recentFirings
    .slice()
    .sort((a, b) => b.slotAtMs - a.slotAtMs || (a.firingId < b.firingId ? -1 : 1))
    .slice(0, LIMITS.vaultFiringsListedMax);
  return {
    vaultId: v.vaultId,
    status: v.status,
    ownerAddress: v.ownerAddress,
    depositWei: v.depositWei.toString(),
    balanceWei: vaultAvailableWei(v).toString(),
    capPerPeriodWei: v.capPerPeriodWei.toString(),
    periodSec: v.periodSec,
    currentPeriod: {
      index: period.periodIndex,
      startsAt: iso(period.periodStartMs),
      endsAt: iso(period.periodStartMs + v.periodSec * 1000),
      spentWei: period.spentWei.toString(),
      remainingCapWei: (period.remainingCapWei < 0n ? 0n : period.remainingCapWei).toString(),
    },
    template: { ...v.template, budgetWei: v.template.budgetWei.toString() },
    triggers: v.triggers.map((t) =>
      t.kind === 'url' ? { ...t, path: vaultTriggerPath(v.vaultId, t.triggerId) } : t.kind === 'price' ? { ...t, belowWeiPerHour: t.belowWeiPerHour.toString() } : t,
    ),
    firedCount: v.firedCount,
    skippedCount: v.skippedCount,
    firings: newest.map((f) => ({
      firingId: f.firingId,
      triggerId: f.triggerId,
      slot: f.slot,
      slotAt: iso(f.slotAtMs),
      outcome: f.outcome,
      jobId: f.jobId,
      budgetWei: f.budgetWei.toString(),
      code: f.code,
    })),
    createdAt: iso(v.periodAnchorMs),
  };
}
