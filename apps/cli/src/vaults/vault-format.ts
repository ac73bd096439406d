import type { Vault, VaultCreated, VaultFired } from '@starminer/sdk';
import { agpu, duration, fields, instant, table } from '../shared/output';

const triggerText = (t: Vault['triggers'][number]): string => {
  switch (t.kind) {
    case 'cron':
      return `${t.triggerId}: cron '${t.expression}' (${t.timeZone})`;
    case 'price':
      return `${t.triggerId}: price of ${t.gpuModel} in ${t.region} under ${agpu(t.belowWeiPerHour)}/h`;
    case 'url':
      return `${t.triggerId}: POST ${t.path}`;
  }
};

/** `starminer vaults get`: the vault field by field, then its newest firings. */
export function vaultDetails(v: Vault): string {
  const head = fields([
    ['vault', v.vaultId],
    ['status', v.status],
    ['owner', v.ownerAddress],
    ['deposit', agpu(v.depositWei)],
    ['balance', agpu(v.balanceWei)],
    ['cap', `${agpu(v.capPerPeriodWei)} per ${duration(v.periodSec)}`],
    ['this period', `${agpu(v.currentPeriod.spentWei)} spent, ${agpu(v.currentPeriod.remainingCapWei)} left, until ${instant(v.currentPeriod.endsAt)}`],
    ['template', `${v.template.category}, ${agpu(v.template.budgetWei)} budget, ${duration(v.template.expectedRuntimeSec)} (${v.template.templateHash})`],
    ['triggers', v.triggers.map(triggerText).join('; ')],
    ['fired', `${v.firedCount} (skipped ${v.skippedCount})`],
    ['created', instant(v.createdAt)],
  ]);
  if (v.firings.length === 0) return head;
  return `${head}\n\n${table(
    ['slot', 'trigger', 'outcome', 'job', 'code'],
    v.firings.map((f) => [instant(f.slotAt), f.triggerId, f.outcome, f.jobId, f.code]),
  )}`;
}

/** `starminer vaults list`: one row per vault. */
export function vaultTable(vaults: readonly Vault[]): string {
  return table(
    ['vault', 'status', 'balance', 'cap/period', 'fired', 'created'],
    vaults.map((v) => [v.vaultId, v.status, agpu(v.balanceWei), `${agpu(v.capPerPeriodWei)}/${duration(v.periodSec)}`, v.firedCount, instant(v.createdAt)]),
  );
}

/** `starminer vaults create`: the vault, and its trigger secret this once. */
export function vaultCreatedText(c: VaultCreated): string {
  const secret = c.triggerSecret ? `\n\ntrigger secret (shown once; \`vaults fire\` signs with it): ${c.triggerSecret}` : '';
  return `${vaultDetails(c.vault)}${secret}`;
}

export const firedText = (f: VaultFired): string => `vault ${f.vaultId} trigger ${f.triggerId} fired: job ${f.jobId} (firing ${f.firingId})`;
