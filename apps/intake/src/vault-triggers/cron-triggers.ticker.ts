import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { In, MoreThan } from 'typeorm';
import { cronSlotOf, cronSlotsBetween, vaultDecider } from '@starminer/domain';
import { InjectConfig, ServiceRuntime, Ticker } from '@starminer/service-kit';
import type { IntakeConfig } from '../intake.config';
import { IntakeVault } from './intake-vault.entity';
import { SLOT_MISSED, VaultFirings } from './vault-firings';

/** Vaults one tick looks at (in id order, from where the last tick stopped); the rest wait for the next. */
export const SCHEDULED_VAULTS_PER_TICK_MAX = 200;
/**
 * Missed slots of one trigger recorded as skipped in one tick, besides the one that fires: after a
 * long downtime the older ones are neither fired nor recorded (a log line counts them).
 */
export const MISSED_SLOTS_RECORDED_MAX = 20;

/**
 * Fires the vaults' cron schedules from the log, exactly once per slot, on every replica:
 * each tick computes, per cron trigger, the slots in (last decided slot, now] (the first window
 * starts at the vault's creation), from the schedule in its time zone and intake's clock, and
 * decides them through the vault's decider, whose firing id (vault, trigger, slot) makes a second
 * replica or a restart find the slot already decided.
 *
 * Catch-up rule (intake was down, or a tick ran late): of the slots that passed since the last
 * decided one, only the latest fires (late, counted in the period of its slot); the older ones are
 * skipped with SLOT_MISSED (once: the decider records a streak of one code at its first slot). A
 * slot refused when it is decided (paused, over the cap or the balance) is recorded as skipped with
 * the refusal's code, once per streak: the trigger's cursor stays at the streak's first slot, so
 * each tick decides only the latest slot since (the ones between are the streak's, not missed)
 * until one fires or is refused for another reason. A resume never fires slots that passed while
 * paused (the decider refuses cron slots before the resume's time).
 */
@Injectable()
export class CronTriggersTicker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('vault-cron-triggers');
  private readonly ticker: Ticker;
  /** Where the last tick stopped, when there were more vaults than one tick looks at. */
  private after = '';

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly firings: VaultFirings,
    @InjectConfig() config: IntakeConfig,
  ) {
    this.ticker = new Ticker('vault-cron-triggers', config.INTAKE_VAULT_TICK_MS, async () => void (await this.tick()));
  }

  onApplicationBootstrap(): void {
    this.ticker.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.ticker.stop();
  }

  /** One tick at `nowMs` (intake's clock): returns the slots it fired. */
  async tick(nowMs: number = Date.now()): Promise<number> {
    const rows = await this.rt.db.getRepository(IntakeVault).find({
      select: { vaultId: true },
      where: { scheduled: true, status: In(['active', 'paused']), vaultId: MoreThan(this.after) },
      order: { vaultId: 'ASC' },
      take: SCHEDULED_VAULTS_PER_TICK_MAX,
    });
    this.after = rows.length === SCHEDULED_VAULTS_PER_TICK_MAX ? rows[rows.length - 1].vaultId : '';
    let fired = 0;
    for (const { vaultId } of rows) {
      try {
        fired += await this.tickVault(vaultId, nowMs);
      } catch (err) {
        // one vault that cannot be decided (its subject unreadable, a conflict storm) does not stop the others
        this.logger.warn(`vault ${vaultId}: schedule not decided: ${(err as Error).message}`);
      }
    }
    return fired;
  }

  private async tickVault(vaultId: string, nowMs: number): Promise<number> {
    const { state } = await this.rt.load('vault', vaultId, vaultDecider);
    if (state.status === 'none' || state.status === 'closed') return 0;
    let fired = 0;
    for (const t of state.triggers) {
      if (t.kind !== 'cron') continue;
      const decided = state.decided.get(t.triggerId);
      const lastDecidedMs = Math.max(state.periodAnchorMs, decided?.lastSlotAtMs ?? 0);
      const { slotsMs, truncated } = cronSlotsBetween(t, lastDecidedMs, nowMs, MISSED_SLOTS_RECORDED_MAX + 1);
      if (slotsMs.length === 0) continue;
      const latest = slotsMs[slotsMs.length - 1];
      // a refusal streak goes on from its recorded first slot: the slots since are in it (refused, not recorded), not missed
      const inStreak = decided?.lastOutcome === 'skipped';
      if (truncated && !inStreak) this.logger.warn(`vault ${vaultId} trigger ${t.triggerId}: more than ${MISSED_SLOTS_RECORDED_MAX} slots missed; the older ones are not recorded`);
      for (const missed of inStreak ? [] : slotsMs.slice(0, -1)) {
        await this.firings.skip(vaultId, t.triggerId, cronSlotOf(missed), missed, SLOT_MISSED, `missed: not decided before ${cronSlotOf(latest)}, the latest slot, which fires instead`);
      }
      if ((await this.firings.fire(vaultId, t.triggerId, cronSlotOf(latest), latest)) === 'fired') fired += 1;
    }
    return fired;
  }
}
