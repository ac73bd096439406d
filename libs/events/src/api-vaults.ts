import { z } from 'zod';
import { submitJobRequestSchema } from './api';
import { apiComponent } from './api-components';
import { EVENT_SCHEMAS, vaultTriggerSchema } from './catalogue';
import { LIMITS } from './limits';
import { addressSchema, codeSchema, idSchema, weiSchema } from './primitives';

/**
 * The vaults of the v1 HTTP API (issue 16): a requester's deposit, a cap per period, one job
 * template (the body of a POST /v1/jobs) and its triggers: cron schedules in a time zone, a
 * market's price under a threshold, and a signed trigger URL.
 */

/** The header a trigger URL's call is signed with: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, as webhooks are. */
export const VAULT_TRIGGER_SIGNATURE_HEADER = 'starminer-signature';

/** A vault's trigger secret: `vtsec_` and 32 random bytes as base64url. */
export const VAULT_TRIGGER_SECRET_PATTERN = /^vtsec_[A-Za-z0-9_-]{43}$/;

const instantSchema = z.iso.datetime({ offset: true });

/** The job a vault fires, as POST /v1/jobs takes it: one job, one escrow drawn from the vault (no redundancy). */
const vaultJobRequestSchema = submitJobRequestSchema.pick({
  category: true, budgetWei: true, urgency: true, latencyPreference: true, requirements: true, expectedRuntimeSec: true, deadlineSec: true, green: true, workload: true,
});
const [cronTriggerSchema, priceTriggerSchema, urlTriggerSchema] = vaultTriggerSchema.options;

export const vaultTriggerRequestSchema = apiComponent(
  'VaultTriggerRequest',
  z.discriminatedUnion('kind', [cronTriggerSchema.extend({ timeZone: cronTriggerSchema.shape.timeZone.optional() }), priceTriggerSchema, urlTriggerSchema]),
  `what fires the vault: \`cron\` (a cron-parser expression of 5 fields, no seconds, slots at least ${LIMITS.vaultCronIntervalSecMin} s apart, in timeZone, an IANA name, default UTC), \`price\` (the market's tier price for gpuModel in region falls under belowWeiPerHour), \`url\` (a signed POST to the vault's trigger URL; its Idempotency-Key is remembered ${LIMITS.vaultTriggerKeyWindowSec} s, at most ${LIMITS.vaultTriggerKeysMax} keys a trigger within that)`,
);

export const createVaultRequestSchema = apiComponent(
  'CreateVaultRequest',
  z.strictObject({
    /** from the org's custodial account into the vault, on chain */
    depositWei: weiSchema,
    /** the most the vault's jobs may draw in one period (at least one job's template budget) */
    capPerPeriodWei: weiSchema,
    periodSec: EVENT_SCHEMAS.VaultCreated.shape.periodSec,
    template: vaultJobRequestSchema,
    triggers: z.array(vaultTriggerRequestSchema).min(1).max(LIMITS.vaultTriggersMax),
  }),
  `a vault to create: a deposit, a cap per period (periods of periodSec, ${LIMITS.vaultPeriodSecMin}..${LIMITS.vaultPeriodSecMax}, back to back from its creation), the job it fires (as POST /v1/jobs takes it) and 1..${LIMITS.vaultTriggersMax} triggers`,
);
export type CreateVaultRequest = z.output<typeof createVaultRequestSchema>;

export const editVaultTemplateRequestSchema = apiComponent(
  'EditVaultTemplateRequest',
  z.strictObject({ template: vaultJobRequestSchema }),
  "the vault's new job template (as POST /v1/jobs takes it): firings from now on submit it; its budget must stay within the cap",
);

export const vaultFiringSchema = apiComponent(
  'VaultFiring',
  z.strictObject({
    firingId: idSchema,
    triggerId: idSchema,
    /** cron: the scheduled time; url: the caller's Idempotency-Key; price: the price event's id */
    slot: z.string().max(LIMITS.vaultSlotLengthMax),
    slotAt: instantSchema,
    outcome: z.enum(['fired', 'skipped']),
    /** fired: the job it submits (GET /v1/jobs/{jobId}) */
    jobId: idSchema.nullable(),
    /** fired: what it holds against the cap and the balance (the template's budget) */
    budgetWei: weiSchema,
    /** skipped: why (e.g. SLOT_MISSED, VAULT_PAUSED, VAULT_CAP_EXCEEDED) */
    code: codeSchema.nullable(),
  }),
  "one slot of a vault's trigger: fired (with its job) or skipped (with why), recorded once",
);

const vaultTriggerAnswerSchema = z.discriminatedUnion('kind', [
  cronTriggerSchema,
  priceTriggerSchema,
  urlTriggerSchema.extend({ /** POST here, signed with the vault's trigger secret */ path: z.string() }),
]);

export const vaultSchema = apiComponent(
  'Vault',
  z.strictObject({
    vaultId: idSchema,
    status: z.enum(['active', 'paused', 'closed']),
    /** the org's custodial account: owns the vault on chain */
    ownerAddress: addressSchema,
    depositWei: weiSchema,
    /** the deposit less what the vault's jobs drew (their escrows) or may still draw (the budgets of jobs not yet opened); a job that ended without a draw counts nothing */
    balanceWei: weiSchema,
    capPerPeriodWei: weiSchema,
    periodSec: z.number().int().positive(),
    currentPeriod: z.strictObject({ index: z.number().int().nonnegative(), startsAt: instantSchema, endsAt: instantSchema, spentWei: weiSchema, remainingCapWei: weiSchema }),
    template: EVENT_SCHEMAS.VaultCreated.shape.template,
    triggers: z.array(vaultTriggerAnswerSchema).max(LIMITS.vaultTriggersMax),
    firedCount: z.number().int().nonnegative(),
    skippedCount: z.number().int().nonnegative(),
    /** the newest firings and skips first, at most LIMITS.vaultFiringsListedMax (a refusal streak is recorded once, at its first slot) */
    firings: z.array(vaultFiringSchema).max(LIMITS.vaultFiringsListedMax),
    createdAt: instantSchema,
  }),
  "an org's vault: its terms, balance, the current period's spending, its template and triggers, and its newest firings with their jobs",
);
export type VaultAnswer = z.input<typeof vaultSchema>;

export const vaultCreatedSchema = apiComponent(
  'VaultCreated',
  z.strictObject({
    vault: vaultSchema,
    /** shown once, here: sign every call of the vault's trigger URLs with it (null when it has no URL trigger) */
    triggerSecret: z.string().regex(VAULT_TRIGGER_SECRET_PATTERN).nullable(),
  }),
  'a vault just created, with the secret of its trigger URLs: shown this once, never again',
);

export const vaultPageSchema = apiComponent(
  'VaultPage',
  z.strictObject({ vaults: z.array(vaultSchema).max(LIMITS.pageSizeMax), nextCursor: z.string().nullable() }),
  "one page of the org's vaults, oldest first",
);

export const vaultFiredSchema = apiComponent(
  'VaultFired',
  z.strictObject({ vaultId: idSchema, triggerId: idSchema, firingId: idSchema, jobId: idSchema }),
  'the firing of a trigger URL call (the same call again answers the same firing)',
);
