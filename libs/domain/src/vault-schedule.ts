import { createHash } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import { LIMITS, type EventData } from '@starminer/events';
import { refuse } from './errors';

export type VaultTrigger = EventData<'VaultCreated'>['triggers'][number];
export type CronTrigger = Extract<VaultTrigger, { kind: 'cron' }>;

/** Domain separation: no other hash of ours over the same strings yields these bytes. */
const FIRING_ID_DOMAIN = 'starminer/vault-firing/v1';

function digest(parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    const bytes = Buffer.from(part, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  return hash.digest('hex').slice(0, 40);
}

/**
 * The id of one firing: a hash of the vault, the trigger and the slot (length-prefixed, so no two
 * triples share an encoding). Every replica, and the same replica after a restart, names a slot's
 * firing the same, so the vault's decider records it once.
 */
export const vaultFiringId = (vaultId: string, triggerId: string, slot: string): string => `vf_${digest([FIRING_ID_DOMAIN, vaultId, triggerId, slot])}`;

/** The job a firing submits: derived from the firing id, so a retry of the firing finds the first job. */
export const vaultFiringJobId = (firingId: string): string => `vj_${firingId.slice(3)}`;

/** An IANA time zone name the runtime knows (Intl throws RangeError on an unknown one). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The market's rules for a vault's triggers beyond their shape: unique ids, cron expressions that
 * parse in a known time zone. Pure, so the gateway, intake and the decider agree.
 */
export function validateVaultTriggers(triggers: readonly VaultTrigger[]): void {
  const seen = new Set<string>();
  for (const t of triggers) {
    if (seen.has(t.triggerId)) refuse('DUPLICATE_TRIGGER_ID', `trigger id '${t.triggerId}' is used twice`, { triggerId: t.triggerId });
    seen.add(t.triggerId);
    if (t.kind !== 'cron') continue;
    if (!isTimeZone(t.timeZone)) refuse('BAD_TIME_ZONE', `'${t.timeZone}' is not an IANA time zone`, { triggerId: t.triggerId });
    validateCronSpacing(t);
  }
}

/** Slots of a new schedule looked at for their spacing: enough to cover an hour of a minute schedule and the turns of a day. */
const CRON_SPACING_SAMPLE = 64;

/**
 * A cron trigger's expression: five fields (minute resolution; no seconds field) or a predefined
 * one (`@hourly`...; not `@secondly`), and consecutive slots at least
 * LIMITS.vaultCronIntervalSecMin apart, so a schedule adds a bounded number of events to its
 * vault's log. The spacing is checked on the first slots from now in the trigger's time zone.
 */
function validateCronSpacing(t: CronTrigger): void {
  const expression = t.expression.trim();
  const fields = expression.split(/\s+/);
  if (expression.startsWith('@') ? expression === '@secondly' : fields.length !== 5)
    refuse('BAD_CRON', `trigger '${t.triggerId}': a cron expression has 5 fields (minute hour day-of-month month day-of-week), or is a predefined one other than @secondly`, { triggerId: t.triggerId });
  let slots: number[];
  try {
    const it = CronExpressionParser.parse(expression, { tz: t.timeZone, strict: false });
    slots = [];
    while (slots.length < CRON_SPACING_SAMPLE && it.hasNext()) slots.push(it.next().getTime());
  } catch (err) {
    return refuse('BAD_CRON', `trigger '${t.triggerId}': ${(err as Error).message}`, { triggerId: t.triggerId });
  }
  const minMs = LIMITS.vaultCronIntervalSecMin * 1000;
  for (let i = 1; i < slots.length; i++) {
    if (slots[i] - slots[i - 1] < minMs)
      refuse('BAD_CRON', `trigger '${t.triggerId}': slots ${cronSlotOf(slots[i - 1])} and ${cronSlotOf(slots[i])} are closer than ${LIMITS.vaultCronIntervalSecMin} s`, { triggerId: t.triggerId, intervalSecMin: LIMITS.vaultCronIntervalSecMin });
  }
}

/** A cron slot's name: its time as ISO-8601 UTC (the same instant has one name in every zone). */
export const cronSlotOf = (atMs: number): string => new Date(atMs).toISOString();

/**
 * The schedule's slots in (afterMs, upToMs], oldest first, at most `max` of the newest: what a
 * ticker at `upToMs` that last looked at `afterMs` has to decide. `truncated` says older slots were
 * left out (the caller records them as missed, or not, by its catch-up rule).
 */
export function cronSlotsBetween(t: CronTrigger, afterMs: number, upToMs: number, max: number): { slotsMs: number[]; truncated: boolean } {
  if (upToMs <= afterMs || max <= 0) return { slotsMs: [], truncated: false };
  // walk back from the end: the newest slots are the ones kept
  const it = CronExpressionParser.parse(t.expression, { tz: t.timeZone, currentDate: new Date(upToMs + 1), strict: false });
  const slotsMs: number[] = [];
  while (it.hasPrev()) {
    const at = it.prev().getTime();
    if (at <= afterMs) return { slotsMs: slotsMs.reverse(), truncated: false };
    if (slotsMs.length === max) return { slotsMs: slotsMs.reverse(), truncated: true };
    slotsMs.push(at);
  }
  return { slotsMs: slotsMs.reverse(), truncated: false };
}
