import { EVENT_SCHEMAS, LIMITS, type AggregateEvent, type EventData } from '@starminer/events';
import { assertNever, draft, snapshotValue as v, SnapshotShapeError, type Decider, type Draft, type JsonValue, type SnapshotCodec } from './decider';
import { refuse } from './errors';
import { validateJobSpec } from './job';
import { validateVaultTriggers, vaultFiringId, vaultFiringJobId, type VaultTrigger } from './vault-schedule';

export type VaultTemplate = EventData<'VaultCreated'>['template'];

/**
 * A requester's compute vault on `trade.vault.<vaultId>`: created with a deposit, a cap per period,
 * one job template and its triggers; edited, paused, resumed and closed by its org; fired once per
 * (trigger, slot). The firing id is a hash of the vault, the trigger and the slot, so whichever
 * replica or restart decides a slot finds it already recorded and appends nothing. Time comes in
 * on the command (`atMs`, `slotAtMs`).
 */
export type VaultCommand =
  | {
      readonly type: 'CreateVault';
      readonly vaultId: string;
      readonly orgId: string;
      /** The org's custodial account: owns the vault on chain, pays its deposit. */
      readonly ownerAddress: string;
      readonly depositWei: bigint;
      readonly capPerPeriodWei: bigint;
      readonly periodSec: number;
      readonly template: VaultTemplate;
      readonly triggers: readonly VaultTrigger[];
      readonly atMs: number;
    }
  | { readonly type: 'EditVaultTemplate'; readonly orgId: string; readonly template: VaultTemplate }
  | { readonly type: 'PauseVault'; readonly orgId: string }
  /** atMs: the resume's time; a cron slot before it passed while paused and never fires. */
  | { readonly type: 'ResumeVault'; readonly orgId: string; readonly atMs?: number }
  | { readonly type: 'CloseVault'; readonly orgId: string }
  /**
   * Fire a slot: refused while paused or closed, over the period's cap or the balance; nothing when
   * the slot was already decided (cron: at or before the trigger's last decided slot; url, price:
   * its key remembered). A key older than the window, or one more than the window holds, is refused.
   */
  | { readonly type: 'FireVault'; readonly triggerId: string; readonly slot: string; readonly slotAtMs: number }
  /**
   * Record that a slot did not fire (missed, or refused and so recorded): nothing when the slot was
   * already decided, or when the trigger's last recorded decision is a skip of the same code (a
   * refusal streak is recorded once, at its first slot, not once a slot).
   */
  | { readonly type: 'SkipFiring'; readonly triggerId: string; readonly slot: string; readonly slotAtMs: number; readonly code: string; readonly reason: string }
  /** The deployer's reconciler made the chain so (its receipt final): appended when it moves what the log knows of the chain. */
  | { readonly type: 'RecordChainSynced'; readonly action: VaultChainAction; readonly txHash: string | null; readonly blockNumber: string | null; readonly remainderWei?: bigint }
  /**
   * A firing's job is past drawing: the chain drew `drawnWei` of its budget (its escrow; 0 when its
   * open failed or it ended before one). The rest of the budget leaves the committed amount; a job
   * that drew nothing also leaves its period's cap. Nothing for a job not pending (recorded already).
   */
  | { readonly type: 'RecordFiringEnded'; readonly jobId: string; readonly drawnWei: bigint }
  /** The open was refused for good (the deposit not covered, the terms refused): once, and only before an open. */
  | { readonly type: 'RecordOpenFailed'; readonly code: string; readonly reason: string };

export type VaultChainAction = EventData<'VaultChainSynced'>['action'];

export interface VaultFiring {
  readonly firingId: string;
  readonly triggerId: string;
  readonly slot: string;
  readonly slotAtMs: number;
  readonly outcome: 'fired' | 'skipped';
  /** fired: the job it submits and the budget it holds against the cap and the balance. */
  readonly jobId: string | null;
  readonly budgetWei: bigint;
  readonly periodIndex: number | null;
  /** skipped: why. */
  readonly code: string | null;
}

export interface OpenVault {
  readonly vaultId: string;
  readonly orgId: string;
  readonly ownerAddress: string;
  readonly depositWei: bigint;
  readonly capPerPeriodWei: bigint;
  readonly periodSec: number;
  readonly periodAnchorMs: number;
  readonly template: VaultTemplate;
  readonly triggers: readonly VaultTrigger[];
  /** Per trigger, what makes a slot decided once (bounded: a cursor, and a window of keys). */
  readonly decided: ReadonlyMap<string, VaultTriggerDecided>;
  /** The newest recorded firings and skips, oldest first, at most LIMITS.vaultFiringsListedMax. */
  readonly recentFirings: readonly VaultFiring[];
  readonly firedCount: number;
  readonly skippedCount: number;
  /** The last resume's time (cron slots before it never fire); null when it was never resumed with one. */
  readonly resumedAtMs: number | null;
  /** Budgets fired, by period index: the newest VAULT_PERIODS_KEPT periods. */
  readonly spentByPeriodWei: ReadonlyMap<number, bigint>;
  /** What the firings drew or may still draw from the deposit: their budgets, lowered to the draw once it is known. */
  readonly committedWei: bigint;
  /** The fired jobs whose draw is not known yet, by job id: their budget counts in full until then. */
  readonly pendingJobs: ReadonlyMap<string, { readonly firingId: string; readonly budgetWei: bigint; readonly periodIndex: number }>;
  /** The vault as the chain has it, per the deployer's last VaultChainSynced; null before it is open. */
  readonly chain: { readonly status: 'active' | 'paused' | 'closed'; readonly templateHash: string; readonly remainderWei: bigint | null } | null;
  /** Its open was refused for good: why. */
  readonly openFailedCode: string | null;
}

/** One trigger's decided slots. */
export interface VaultTriggerDecided {
  /** The newest slot recorded: for a cron trigger every slot at or before it is decided (the ticker never decides one there). */
  readonly lastSlotAtMs: number;
  /** The last recorded outcome and its code: a skip of the same code again is the same streak, not recorded. */
  readonly lastOutcome: 'fired' | 'skipped';
  readonly lastCode: string | null;
  /** url and price triggers: the keys recorded within LIMITS.vaultTriggerKeyWindowSec of the newest, oldest first (at most LIMITS.vaultTriggerKeysMax). */
  readonly keys: readonly { readonly slot: string; readonly atMs: number }[];
}

/** Periods whose spending is kept (the current one and the one before): a firing of an older slot is refused as over the cap. */
export const VAULT_PERIODS_KEPT = 2;

export type VaultState = { readonly status: 'none' } | ({ readonly status: 'active' | 'paused' | 'closed' } & OpenVault);

export type VaultEvent = AggregateEvent<'vault'>;

export const initialVaultState = (): VaultState => ({ status: 'none' });

/** The period a time falls in: periods run back to back from the anchor, periodSec each (a time before the anchor is in the first). */
export function vaultPeriodIndex(v: Pick<OpenVault, 'periodAnchorMs' | 'periodSec'>, atMs: number): number {
  return Math.max(0, Math.floor((atMs - v.periodAnchorMs) / (v.periodSec * 1000)));
}

/** What a vault still holds, as the log knows it: the deposit less what its firings may draw. */
export const vaultAvailableWei = (v: OpenVault): bigint => v.depositWei - v.committedWei;

/** Whether a slot of a trigger is decided: 'expired' when it is a key older than the window (whether it was decided is no longer known). */
export function vaultSlotDecided(v: OpenVault, trigger: VaultTrigger, slot: string, slotAtMs: number): boolean | 'expired' {
  const d = v.decided.get(trigger.triggerId);
  if (!d) return false;
  if (trigger.kind === 'cron') return slotAtMs <= d.lastSlotAtMs;
  if (d.keys.some((k) => k.slot === slot)) return true;
  return slotAtMs < d.lastSlotAtMs - LIMITS.vaultTriggerKeyWindowSec * 1000 ? 'expired' : false;
}

/** A key trigger that holds LIMITS.vaultTriggerKeysMax keys within the window of a slot at `slotAtMs` takes no more. */
function keysFull(v: OpenVault, trigger: VaultTrigger, slotAtMs: number): boolean {
  const d = v.decided.get(trigger.triggerId);
  if (!d || trigger.kind === 'cron') return false;
  const fromMs = Math.max(d.lastSlotAtMs, slotAtMs) - LIMITS.vaultTriggerKeyWindowSec * 1000;
  return d.keys.filter((k) => k.atMs >= fromMs).length >= LIMITS.vaultTriggerKeysMax;
}

/** The cap a firing at `atMs` would see: the period's spending and what is left of the cap. */
export function vaultPeriodAt(v: OpenVault, atMs: number): { periodIndex: number; periodStartMs: number; spentWei: bigint; remainingCapWei: bigint } {
  const periodIndex = vaultPeriodIndex(v, atMs);
  const spentWei = v.spentByPeriodWei.get(periodIndex) ?? 0n;
  return { periodIndex, periodStartMs: v.periodAnchorMs + periodIndex * v.periodSec * 1000, spentWei, remainingCapWei: v.capPerPeriodWei - spentWei };
}

function validateTerms(capPerPeriodWei: bigint, template: VaultTemplate): void {
  validateJobSpec(template);
  if (capPerPeriodWei < template.budgetWei)
    refuse('CAP_BELOW_TEMPLATE_BUDGET', `capPerPeriodWei ${capPerPeriodWei} is below one job's budget ${template.budgetWei}`, { budgetWei: template.budgetWei.toString() });
}

function ownedBy(state: VaultState, orgId: string): Exclude<VaultState, { status: 'none' }> {
  // another org's vault is not found: its existence is not told
  if (state.status === 'none' || state.orgId !== orgId) return refuse('VAULT_NOT_FOUND', 'no such vault in your org');
  return state;
}

function editable(state: VaultState, orgId: string): Exclude<VaultState, { status: 'none' }> {
  const v = ownedBy(state, orgId);
  if (v.status === 'closed') refuse('VAULT_CLOSED', `vault ${v.vaultId} is closed`);
  return v;
}

export function decideVault(command: VaultCommand, state: VaultState): Draft<VaultEvent['type']>[] {
  switch (command.type) {
    case 'CreateVault': {
      if (state.status !== 'none') return refuse('VAULT_ID_IN_USE', `vault ${command.vaultId} exists`);
      if (command.depositWei <= 0n) refuse('AMOUNT_NOT_POSITIVE', 'depositWei must be greater than 0', { field: 'depositWei' });
      validateTerms(command.capPerPeriodWei, command.template);
      validateVaultTriggers(command.triggers);
      const c = command;
      return [
        draft('VaultCreated', {
          vaultId: c.vaultId,
          orgId: c.orgId,
          ownerAddress: c.ownerAddress,
          depositWei: c.depositWei,
          capPerPeriodWei: c.capPerPeriodWei,
          periodSec: c.periodSec,
          periodAnchorMs: c.atMs,
          template: c.template,
          triggers: [...c.triggers],
        }),
      ];
    }
    case 'EditVaultTemplate': {
      const v = editable(state, command.orgId);
      validateTerms(v.capPerPeriodWei, command.template);
      if (v.template.templateHash === command.template.templateHash) return [];
      return [draft('VaultTemplateEdited', { vaultId: v.vaultId, template: command.template })];
    }
    case 'PauseVault': {
      const v = editable(state, command.orgId);
      return v.status === 'paused' ? [] : [draft('VaultPaused', { vaultId: v.vaultId })];
    }
    case 'ResumeVault': {
      const v = editable(state, command.orgId);
      return v.status === 'active' ? [] : [draft('VaultResumed', { vaultId: v.vaultId, ...(command.atMs === undefined ? {} : { atMs: command.atMs }) })];
    }
    case 'CloseVault': {
      const v = ownedBy(state, command.orgId);
      return v.status === 'closed' ? [] : [draft('VaultClosed', { vaultId: v.vaultId })];
    }
    case 'FireVault': {
      if (state.status === 'none') return refuse('VAULT_NOT_FOUND', 'no such vault');
      const firingId = vaultFiringId(state.vaultId, command.triggerId, command.slot);
      const trigger = state.triggers.find((t) => t.triggerId === command.triggerId) ?? refuse('TRIGGER_NOT_FOUND', `vault ${state.vaultId} has no trigger '${command.triggerId}'`);
      const decided = vaultSlotDecided(state, trigger, command.slot, command.slotAtMs);
      if (decided === true) return [];
      if (decided === 'expired') refuse('TRIGGER_KEY_EXPIRED', `slot '${command.slot}' is older than the ${LIMITS.vaultTriggerKeyWindowSec} s trigger '${command.triggerId}' remembers`, { triggerId: command.triggerId });
      if (keysFull(state, trigger, command.slotAtMs))
        refuse('TRIGGER_KEYS_FULL', `trigger '${command.triggerId}' decided ${LIMITS.vaultTriggerKeysMax} keys within ${LIMITS.vaultTriggerKeyWindowSec} s`, { triggerId: command.triggerId, keysMax: LIMITS.vaultTriggerKeysMax });
      if (state.status === 'closed') refuse('VAULT_CLOSED', `vault ${state.vaultId} is closed`);
      if (state.status === 'paused') refuse('VAULT_PAUSED', `vault ${state.vaultId} is paused`);
      if (trigger.kind === 'cron' && state.resumedAtMs !== null && command.slotAtMs < state.resumedAtMs)
        refuse('VAULT_PAUSED', `slot ${command.slot} passed while vault ${state.vaultId} was paused`);
      if (state.openFailedCode !== null) refuse('VAULT_OPEN_FAILED', `vault ${state.vaultId} could not be opened on chain: ${state.openFailedCode}`, { code: state.openFailedCode });
      const budgetWei = state.template.budgetWei;
      const period = vaultPeriodAt(state, command.slotAtMs);
      const newestPeriod = Math.max(-1, ...state.spentByPeriodWei.keys());
      if (period.periodIndex <= newestPeriod - VAULT_PERIODS_KEPT)
        refuse('VAULT_CAP_EXCEEDED', `slot ${command.slot} is in period ${period.periodIndex}, whose spending is no longer kept`, { periodIndex: period.periodIndex, periodStart: new Date(period.periodStartMs).toISOString(), remainingCapWei: '0' });
      if (budgetWei > period.remainingCapWei)
        refuse('VAULT_CAP_EXCEEDED', `a job of ${budgetWei} wei would take period ${period.periodIndex} above its cap of ${state.capPerPeriodWei}`, {
          periodIndex: period.periodIndex,
          periodStart: new Date(period.periodStartMs).toISOString(),
          remainingCapWei: period.remainingCapWei.toString(),
        });
      const availableWei = vaultAvailableWei(state);
      if (budgetWei > availableWei)
        refuse('VAULT_BALANCE_INSUFFICIENT', `a job of ${budgetWei} wei is above what the vault holds (${availableWei})`, { availableWei: availableWei.toString() });
      return [
        draft('VaultFired', {
          vaultId: state.vaultId,
          firingId,
          triggerId: command.triggerId,
          slot: command.slot,
          slotAtMs: command.slotAtMs,
          periodIndex: period.periodIndex,
          jobId: vaultFiringJobId(firingId),
          budgetWei,
          templateHash: state.template.templateHash,
        }),
      ];
    }
    case 'SkipFiring': {
      if (state.status === 'none') return refuse('VAULT_NOT_FOUND', 'no such vault');
      const firingId = vaultFiringId(state.vaultId, command.triggerId, command.slot);
      const trigger = state.triggers.find((t) => t.triggerId === command.triggerId) ?? refuse('TRIGGER_NOT_FOUND', `vault ${state.vaultId} has no trigger '${command.triggerId}'`);
      if (vaultSlotDecided(state, trigger, command.slot, command.slotAtMs) !== false || keysFull(state, trigger, command.slotAtMs)) return [];
      const last = state.decided.get(trigger.triggerId);
      // the streak goes on: its first slot is recorded, with the code
      if (last?.lastOutcome === 'skipped' && last.lastCode === command.code) return [];
      const c = command;
      return [draft('VaultFiringSkipped', { vaultId: state.vaultId, firingId, triggerId: c.triggerId, slot: c.slot, slotAtMs: c.slotAtMs, code: c.code, reason: c.reason })];
    }
    case 'RecordChainSynced': {
      if (state.status === 'none') return refuse('VAULT_NOT_FOUND', 'no such vault');
      const c = command;
      const status = c.action === 'close' ? 'closed' : c.action === 'pause' ? 'paused' : c.action === 'resume' ? 'active' : state.chain?.status ?? 'active';
      const templateHash = c.action === 'template' || c.action === 'open' ? state.template.templateHash : (state.chain?.templateHash ?? state.template.templateHash);
      if (state.chain && state.chain.status === status && state.chain.templateHash === templateHash) return [];
      if (!state.chain && c.action !== 'open') return refuse('VAULT_NOT_FOUND', `vault ${state.vaultId} is not open on chain`);
      if (state.chain?.status === 'closed') return [];
      return [
        draft('VaultChainSynced', {
          vaultId: state.vaultId,
          action: c.action,
          status,
          templateHash,
          txHash: c.txHash,
          blockNumber: c.blockNumber,
          ...(c.remainderWei === undefined ? {} : { remainderWei: c.remainderWei }),
        }),
      ];
    }
    case 'RecordFiringEnded': {
      if (state.status === 'none') return refuse('VAULT_NOT_FOUND', 'no such vault');
      const pending = state.pendingJobs.get(command.jobId);
      if (!pending) return [];
      if (command.drawnWei < 0n || command.drawnWei > pending.budgetWei)
        refuse('AMOUNT_NOT_POSITIVE', `job ${command.jobId} cannot have drawn ${command.drawnWei} of a budget of ${pending.budgetWei}`, { field: 'drawnWei' });
      return [draft('VaultFiringEnded', { vaultId: state.vaultId, firingId: pending.firingId, jobId: command.jobId, budgetWei: pending.budgetWei, drawnWei: command.drawnWei })];
    }
    case 'RecordOpenFailed': {
      if (state.status === 'none') return refuse('VAULT_NOT_FOUND', 'no such vault');
      if (state.chain || state.openFailedCode !== null) return [];
      return [draft('VaultOpenFailed', { vaultId: state.vaultId, code: command.code, reason: command.reason })];
    }
    default:
      return assertNever(command);
  }
}

/**
 * What the deployer's reconciler does next to bring the chain to the log: open the vault, then
 * its template, then its status; undefined when the chain is as the log asks, its open failed for
 * good, or it was closed before it ever opened (nothing was deposited).
 */
export function vaultChainPlan(state: VaultState): VaultChainAction | undefined {
  if (state.status === 'none' || state.openFailedCode !== null) return undefined;
  const chain = state.chain;
  if (!chain) return state.status === 'closed' ? undefined : 'open';
  if (chain.status === 'closed') return undefined;
  if (state.status === 'closed') return 'close';
  if (chain.templateHash !== state.template.templateHash) return 'template';
  if (chain.status !== state.status) return state.status === 'paused' ? 'pause' : 'resume';
  return undefined;
}

type FiringPart = 'decided' | 'recentFirings' | 'firedCount' | 'skippedCount' | 'spentByPeriodWei' | 'committedWei';

/** A recorded slot: the trigger's cursor (and, for a key trigger, its window of keys), the listing, the counts and the spending. */
function withFiring(v: OpenVault, f: VaultFiring): Pick<OpenVault, FiringPart> {
  const trigger = v.triggers.find((t) => t.triggerId === f.triggerId);
  const before = v.decided.get(f.triggerId);
  const lastSlotAtMs = Math.max(before?.lastSlotAtMs ?? f.slotAtMs, f.slotAtMs);
  const fromMs = lastSlotAtMs - LIMITS.vaultTriggerKeyWindowSec * 1000;
  const keys = trigger?.kind === 'cron' ? [] : [...(before?.keys ?? []), { slot: f.slot, atMs: f.slotAtMs }].filter((k) => k.atMs >= fromMs).slice(-LIMITS.vaultTriggerKeysMax);
  const decided = new Map(v.decided).set(f.triggerId, { lastSlotAtMs, lastOutcome: f.outcome, lastCode: f.code, keys });
  const recentFirings = [...v.recentFirings, f].slice(-LIMITS.vaultFiringsListedMax);
  const counted = { decided, recentFirings, firedCount: v.firedCount + (f.outcome === 'fired' ? 1 : 0), skippedCount: v.skippedCount + (f.outcome === 'skipped' ? 1 : 0) };
  if (f.outcome !== 'fired' || f.periodIndex === null) return { ...counted, spentByPeriodWei: v.spentByPeriodWei, committedWei: v.committedWei };
  const spent = new Map(v.spentByPeriodWei).set(f.periodIndex, (v.spentByPeriodWei.get(f.periodIndex) ?? 0n) + f.budgetWei);
  const newest = Math.max(...spent.keys());
  const spentByPeriodWei = new Map([...spent].filter(([period]) => period > newest - VAULT_PERIODS_KEPT));
  return { ...counted, spentByPeriodWei, committedWei: v.committedWei + f.budgetWei };
}

/** Whether an event's slot is recorded already (a replay of the same decision appends nothing, and evolve is idempotent on it). */
const recorded = (v: OpenVault, triggerId: string, slot: string, slotAtMs: number): boolean => {
  const t = v.triggers.find((x) => x.triggerId === triggerId);
  return t !== undefined && vaultSlotDecided(v, t, slot, slotAtMs) === true;
};

export function evolveVault(state: VaultState, event: VaultEvent): VaultState {
  if (event.type === 'VaultCreated') {
    if (state.status !== 'none') return state;
    const d = event.data;
    return {
      status: 'active',
      vaultId: d.vaultId,
      orgId: d.orgId,
      ownerAddress: d.ownerAddress,
      depositWei: d.depositWei,
      capPerPeriodWei: d.capPerPeriodWei,
      periodSec: d.periodSec,
      periodAnchorMs: d.periodAnchorMs,
      template: d.template,
      triggers: d.triggers,
      decided: new Map(),
      recentFirings: [],
      firedCount: 0,
      skippedCount: 0,
      resumedAtMs: null,
      spentByPeriodWei: new Map(),
      committedWei: 0n,
      pendingJobs: new Map(),
      chain: null,
      openFailedCode: null,
    };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'VaultTemplateEdited':
      return { ...state, template: event.data.template };
    case 'VaultPaused':
      return state.status === 'active' ? { ...state, status: 'paused' } : state;
    case 'VaultResumed':
      return state.status === 'paused' ? { ...state, status: 'active', resumedAtMs: event.data.atMs ?? state.resumedAtMs } : state;
    case 'VaultClosed':
      return { ...state, status: 'closed' };
    case 'VaultFired': {
      const d = event.data;
      if (recorded(state, d.triggerId, d.slot, d.slotAtMs)) return state;
      const f: VaultFiring = { firingId: d.firingId, triggerId: d.triggerId, slot: d.slot, slotAtMs: d.slotAtMs, outcome: 'fired', jobId: d.jobId, budgetWei: d.budgetWei, periodIndex: d.periodIndex, code: null };
      return { ...state, ...withFiring(state, f), pendingJobs: new Map(state.pendingJobs).set(d.jobId, { firingId: d.firingId, budgetWei: d.budgetWei, periodIndex: d.periodIndex }) };
    }
    case 'VaultFiringEnded': {
      const d = event.data;
      const pending = state.pendingJobs.get(d.jobId);
      if (!pending) return state;
      const pendingJobs = new Map(state.pendingJobs);
      pendingJobs.delete(d.jobId);
      const returnedWei = d.budgetWei - d.drawnWei;
      // the cap counts the period's firings by their budgets (a period fires at most cap / budget jobs); a job that drew nothing fired none
      const spent = state.spentByPeriodWei.get(pending.periodIndex);
      const spentByPeriodWei = spent === undefined || d.drawnWei > 0n ? state.spentByPeriodWei : new Map(state.spentByPeriodWei).set(pending.periodIndex, spent - d.budgetWei);
      return { ...state, pendingJobs, spentByPeriodWei, committedWei: state.committedWei - returnedWei };
    }
    case 'VaultChainSynced': {
      const d = event.data;
      return { ...state, chain: { status: d.status, templateHash: d.templateHash, remainderWei: d.remainderWei ?? state.chain?.remainderWei ?? null } };
    }
    case 'VaultOpenFailed':
      return { ...state, openFailedCode: event.data.code };
    case 'VaultFiringSkipped': {
      const d = event.data;
      if (recorded(state, d.triggerId, d.slot, d.slotAtMs)) return state;
      const f: VaultFiring = { firingId: d.firingId, triggerId: d.triggerId, slot: d.slot, slotAtMs: d.slotAtMs, outcome: 'skipped', jobId: null, budgetWei: 0n, periodIndex: null, code: d.code };
      return { ...state, ...withFiring(state, f) };
    }
    default:
      return assertNever(event);
  }
}

/** A vault's subject grows by one event per fired slot and per refusal streak: a snapshot every this many events. */
export const VAULT_SNAPSHOT_EVERY = 500;

const TEMPLATE = EVENT_SCHEMAS.VaultCreated.shape.template;
const TRIGGERS = EVENT_SCHEMAS.VaultCreated.shape.triggers;
const STATUSES = ['active', 'paused', 'closed'] as const;
const statusOf = (value: unknown, what: string): (typeof STATUSES)[number] => {
  const s = v.string(value, what);
  if (!(STATUSES as readonly string[]).includes(s)) throw new SnapshotShapeError(`${what}: not a vault status`);
  return s as (typeof STATUSES)[number];
};
const outcomeOf = (value: unknown, what: string): 'fired' | 'skipped' => {
  const s = v.string(value, what);
  if (s !== 'fired' && s !== 'skipped') throw new SnapshotShapeError(`${what}: not fired or skipped`);
  return s;
};
const nullableBigint = (value: unknown, what: string): bigint | null => (value === null ? null : v.bigint(value, what));
const schemaValue = <T>(schema: { safeParse(x: unknown): { success: true; data: T } | { success: false } }, value: unknown, what: string): T => {
  const r = schema.safeParse(value);
  if (!r.success) throw new SnapshotShapeError(`${what}: not of its catalogue shape`);
  return r.data;
};

/**
 * The vault's snapshot: its terms, template and triggers (in their catalogue wire form), per
 * trigger what makes a slot decided once (its cursor and window of keys: bounded), the newest
 * firings, the spending of the kept periods and the chain's state. Amounts as decimal strings.
 * Version 2: the bounded decided state replaced every firing of version 1; the pending jobs added.
 */
export const vaultSnapshot: SnapshotCodec<VaultState> = {
  name: 'vault',
  version: 2,
  every: VAULT_SNAPSHOT_EVERY,
  encode(state: VaultState): JsonValue | undefined {
    if (state.status === 'none') return { status: 'none' };
    return {
      status: state.status,
      vaultId: state.vaultId,
      orgId: state.orgId,
      ownerAddress: state.ownerAddress,
      depositWei: state.depositWei.toString(),
      capPerPeriodWei: state.capPerPeriodWei.toString(),
      periodSec: state.periodSec,
      periodAnchorMs: state.periodAnchorMs,
      template: TEMPLATE.encode(state.template) as unknown as JsonValue,
      triggers: TRIGGERS.encode([...state.triggers]) as unknown as JsonValue,
      decided: [...state.decided.entries()].map(([triggerId, d]) => [triggerId, d.lastSlotAtMs, d.lastOutcome, d.lastCode, d.keys.map((k) => [k.slot, k.atMs])]),
      recentFirings: state.recentFirings.map((f) => [f.firingId, f.triggerId, f.slot, f.slotAtMs, f.outcome, f.jobId, f.budgetWei.toString(), f.periodIndex, f.code]),
      firedCount: state.firedCount,
      skippedCount: state.skippedCount,
      resumedAtMs: state.resumedAtMs,
      spentByPeriodWei: [...state.spentByPeriodWei.entries()].map(([period, wei]) => [period, wei.toString()]),
      committedWei: state.committedWei.toString(),
      pendingJobs: [...state.pendingJobs.entries()].map(([jobId, j]) => [jobId, j.firingId, j.budgetWei.toString(), j.periodIndex]),
      chain: state.chain && { status: state.chain.status, templateHash: state.chain.templateHash, remainderWei: state.chain.remainderWei === null ? null : state.chain.remainderWei.toString() },
      openFailedCode: state.openFailedCode,
    };
  },
  decode(value: unknown): VaultState {
    const o = v.record(value, 'vault');
    if (o.status === 'none') return { status: 'none' };
    const recentFirings: VaultFiring[] = [];
    for (const [i, raw] of v.array(o.recentFirings, 'recentFirings').entries()) {
      const f = v.array(raw, `recentFirings[${i}]`);
      recentFirings.push({
        firingId: v.string(f[0], `recentFirings[${i}].firingId`),
        triggerId: v.string(f[1], `recentFirings[${i}].triggerId`),
        slot: v.string(f[2], `recentFirings[${i}].slot`),
        slotAtMs: v.count(f[3], `recentFirings[${i}].slotAtMs`),
        outcome: outcomeOf(f[4], `recentFirings[${i}].outcome`),
        jobId: v.nullableString(f[5], `recentFirings[${i}].jobId`),
        budgetWei: v.bigint(f[6], `recentFirings[${i}].budgetWei`),
        periodIndex: f[7] === null ? null : v.count(f[7], `recentFirings[${i}].periodIndex`),
        code: v.nullableString(f[8], `recentFirings[${i}].code`),
      });
    }
    const decided = new Map<string, VaultTriggerDecided>();
    for (const [i, raw] of v.array(o.decided, 'decided').entries()) {
      const d = v.array(raw, `decided[${i}]`);
      const keys = v.array(d[4], `decided[${i}].keys`).map((k, j) => {
        const [slot, atMs] = v.array(k, `decided[${i}].keys[${j}]`);
        return { slot: v.string(slot, `decided[${i}].keys[${j}].slot`), atMs: v.count(atMs, `decided[${i}].keys[${j}].atMs`) };
      });
      decided.set(v.string(d[0], `decided[${i}].triggerId`), {
        lastSlotAtMs: v.count(d[1], `decided[${i}].lastSlotAtMs`),
        lastOutcome: outcomeOf(d[2], `decided[${i}].lastOutcome`),
        lastCode: v.nullableString(d[3], `decided[${i}].lastCode`),
        keys,
      });
    }
    const spentByPeriodWei = new Map<number, bigint>();
    for (const [i, raw] of v.array(o.spentByPeriodWei, 'spentByPeriodWei').entries()) {
      const [period, wei] = v.array(raw, `spentByPeriodWei[${i}]`);
      spentByPeriodWei.set(v.count(period, `spentByPeriodWei[${i}].period`), v.bigint(wei, `spentByPeriodWei[${i}].wei`));
    }
    const chain = o.chain === null ? null : v.record(o.chain, 'chain');
    return {
      status: statusOf(o.status, 'status'),
      vaultId: v.string(o.vaultId, 'vaultId'),
      orgId: v.string(o.orgId, 'orgId'),
      ownerAddress: v.string(o.ownerAddress, 'ownerAddress'),
      depositWei: v.bigint(o.depositWei, 'depositWei'),
      capPerPeriodWei: v.bigint(o.capPerPeriodWei, 'capPerPeriodWei'),
      periodSec: v.count(o.periodSec, 'periodSec'),
      periodAnchorMs: v.count(o.periodAnchorMs, 'periodAnchorMs'),
      template: schemaValue(TEMPLATE, o.template, 'template'),
      triggers: schemaValue(TRIGGERS, o.triggers, 'triggers'),
      decided,
      recentFirings,
      firedCount: v.count(o.firedCount, 'firedCount'),
      skippedCount: v.count(o.skippedCount, 'skippedCount'),
      resumedAtMs: o.resumedAtMs === null ? null : v.count(o.resumedAtMs, 'resumedAtMs'),
      spentByPeriodWei,
      committedWei: v.bigint(o.committedWei, 'committedWei'),
      pendingJobs: new Map(
        v.array(o.pendingJobs, 'pendingJobs').map((raw, i) => {
          const [jobId, firingId, budgetWei, periodIndex] = v.array(raw, `pendingJobs[${i}]`);
          return [v.string(jobId, `pendingJobs[${i}].jobId`), { firingId: v.string(firingId, `pendingJobs[${i}].firingId`), budgetWei: v.bigint(budgetWei, `pendingJobs[${i}].budgetWei`), periodIndex: v.count(periodIndex, `pendingJobs[${i}].periodIndex`) }] as const;
        }),
      ),
      chain: chain && { status: statusOf(chain.status, 'chain.status'), templateHash: v.string(chain.templateHash, 'chain.templateHash'), remainderWei: nullableBigint(chain.remainderWei, 'chain.remainderWei') },
      openFailedCode: v.nullableString(o.openFailedCode, 'openFailedCode'),
    };
  },
};

export const vaultDecider: Decider<'vault', VaultCommand, VaultState> = { aggregate: 'vault', decide: decideVault, evolve: evolveVault, initialState: initialVaultState, snapshot: vaultSnapshot };
