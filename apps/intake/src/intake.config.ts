import { z } from 'zod';
import { baseConfigSchema, chainConfigSchema } from '@starminer/service-kit';

/** A queued job is failed this long after its deadline, by default (the grace covers a match in flight and clock skew). */
export const DEADLINE_GRACE_MS_DEFAULT = 60_000;
export const DEADLINE_GRACE_MS_MAX = 3_600_000;
/**
 * A reservation with no JobSubmitted after this long is released as abandoned (a crash between the
 * reservation and the job). Far longer than any submission takes, and than the gateway's
 * in-progress expiry, so a retry of a live request finds its reservation open.
 */
export const RESERVATION_ABANDONED_MS_DEFAULT = 15 * 60_000;
export const RESERVATION_ABANDONED_MS_MAX = 24 * 3_600_000;
/** How often intake looks for queued jobs past their deadline and abandoned reservations. */
export const SWEEP_INTERVAL_MS_DEFAULT = 5_000;

/** How often intake decides the vaults' cron slots that came due (a schedule faster than this fires once per tick: the latest slot). */
export const VAULT_TICK_MS_DEFAULT = 5_000;

/** Intake reads the org's AGPU balance from the chain to reserve a budget against it. */
export const intakeConfigSchema = baseConfigSchema.extend(chainConfigSchema.shape).extend({
  INTAKE_DEADLINE_GRACE_MS: z.coerce.number().int().min(0).max(DEADLINE_GRACE_MS_MAX).default(DEADLINE_GRACE_MS_DEFAULT),
  INTAKE_RESERVATION_ABANDONED_MS: z.coerce.number().int().min(1_000).max(RESERVATION_ABANDONED_MS_MAX).default(RESERVATION_ABANDONED_MS_DEFAULT),
  INTAKE_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(SWEEP_INTERVAL_MS_DEFAULT),
  INTAKE_VAULT_TICK_MS: z.coerce.number().int().min(100).max(600_000).default(VAULT_TICK_MS_DEFAULT),
});
export type IntakeConfig = z.output<typeof intakeConfigSchema>;
