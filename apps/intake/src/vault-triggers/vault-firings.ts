import { Injectable } from '@nestjs/common';
import { DomainError, vaultDecider, vaultFiringId, vaultFiringJobId } from '@starminer/domain';
import { LIMITS, truncateText } from '@starminer/events';
import { ServiceRuntime, type Causation } from '@starminer/service-kit';

/**
 * Refusals of a firing that are the slot's outcome, recorded as its skip (once per streak of one
 * code; a key trigger's full or expired window records nothing).
 */
export const FIRING_REFUSALS: ReadonlySet<string> = new Set(['VAULT_PAUSED', 'VAULT_CLOSED', 'VAULT_CAP_EXCEEDED', 'VAULT_BALANCE_INSUFFICIENT', 'VAULT_OPEN_FAILED', 'TRIGGER_KEYS_FULL', 'TRIGGER_KEY_EXPIRED']);
/** The code of a slot that passed while nobody looked (intake down) and was not the latest one. */
export const SLOT_MISSED = 'SLOT_MISSED';

export type SlotOutcome = 'fired' | 'skipped' | 'already-decided';

/**
 * Decides one slot of one trigger on the vault's subject, exactly once: the firing id is a hash of
 * (vault, trigger, slot), and the decider appends nothing for a slot already decided, whoever
 * decided it (another replica, this one before a restart). A refusal that is the slot's outcome
 * (paused, over the cap...) is recorded as a skip with its code.
 */
@Injectable()
export class VaultFirings {
  constructor(private readonly rt: ServiceRuntime) {}

  async fire(vaultId: string, triggerId: string, slot: string, slotAtMs: number): Promise<SlotOutcome> {
    try {
      const { events } = await this.rt.execute('vault', vaultId, vaultDecider, { type: 'FireVault', triggerId, slot, slotAtMs }, causationOf(vaultId, triggerId, slot));
      return events.length > 0 ? 'fired' : 'already-decided';
    } catch (err) {
      if (!(err instanceof DomainError && FIRING_REFUSALS.has(err.code))) throw err;
      return this.skip(vaultId, triggerId, slot, slotAtMs, err.code, err.message);
    }
  }

  async skip(vaultId: string, triggerId: string, slot: string, slotAtMs: number, code: string, reason: string): Promise<SlotOutcome> {
    const command = { type: 'SkipFiring', triggerId, slot, slotAtMs, code, reason: truncateText(reason, LIMITS.reasonLengthMax) } as const;
    const { events } = await this.rt.execute('vault', vaultId, vaultDecider, command, causationOf(vaultId, triggerId, slot));
    return events.length > 0 ? 'skipped' : 'already-decided';
  }
}

/** The firing's job is its correlation (its causation is the slot itself, the same for every replica). */
function causationOf(vaultId: string, triggerId: string, slot: string): Causation {
  return { correlationId: vaultFiringJobId(vaultFiringId(vaultId, triggerId, slot)), causationId: vaultFiringId(vaultId, triggerId, slot), actor: 'service:intake' };
}
