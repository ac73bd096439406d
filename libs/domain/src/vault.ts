import { EVENT_SCHEMAS, type AggregateEvent, type EventData } from '@starminer/events';
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
  | { readonly type: 'ResumeVault'; readonly orgId: string }
  | { readonly type: 'CloseVault'; readonly orgId: string }
  /** Fire a slot: refused while paused or closed, over the period's cap or the balance; nothing when the slot was already decided. */
  | { readonly type: 'FireVault'; readonly triggerId: string; readonly slot: string; readonly slotAtMs: number }
  /** Record that a slot did not fire (missed, or refused and so recorded): nothing when the slot was already decided. */
  | { readonly type: 'SkipFiring'; readonly triggerId: string; readonly slot: string; readonly slotAtMs: number; readonly code: string; readonly reason: string }
  /** The deployer's reconciler made the chain so (its receipt final): appended when it moves what the log knows of the chain. */
  | { readonly type: 'RecordChainSynced'; readonly action: VaultChainAction; readonly txHash: string | null; readonly blockNumber: string | null; readonly remainderWei?: bigint }
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
  /** Every slot decided, by firing id: a slot is decided once. */
  readonly firings: ReadonlyMap<string, VaultFiring>;
  /** Budgets fired, by period index. */
  readonly spentByPeriodWei: ReadonlyMap<number, bigint>;
  /** What the firings may draw from the deposit (their budgets). */
  readonly committedWei: bigint;
  /** The vault as the chain has it, per the deployer's last VaultChainSynced; null before it is open. */
  readonly chain: { readonly status: 'active' | 'paused' | 'closed'; readonly templateHash: string; readonly remainderWei: bigint | null } | null;
  /** Its open was refused for good: why. */
  readonly openFailedCode: string | null;
}

export type VaultState = { readonly status: 'none' } | ({ readonly status: 'active' | 'paused' | 'closed' } & OpenVault);

export type VaultEvent = AggregateEvent<'vault'>;

export const initialVaultState = (): VaultState => ({ status: 'none' });

/** The period a time falls in: periods run back to back from the anchor, periodSec each (a time before the anchor is in the first). */
export function vaultPeriodIndex(v: Pick<OpenVault, 'periodAnchorMs' | 'periodSec'>, atMs: number): number {
  return Math.max(0, Math.floor((atMs - v.periodAnchorMs) / (v.periodSec * 1000)));
}

/** What a vault still holds, as the log knows it: the deposit less what its firings may draw. */
export const vaultAvailableWei = (v: OpenVault): bigint => v.depositWei - v.committedWei;

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
      return v.status === 'active' ? [] : [draft('VaultResumed', { vaultId: v.vaultId })];
    }
    case 'CloseVault': {
      const v = ownedBy(state, command.orgId);
      return v.status === 'closed' ? [] : [draft('VaultClosed', { vaultId: v.vaultId })];
    }
    case 'FireVault': {
      if (state.status === 'none') return refuse('VAULT_NOT_FOUND', 'no such vault');
      const firingId = vaultFiringId(state.vaultId, command.triggerId, command.slot);
      if (state.firings.has(firingId)) return [];
      if (!state.triggers.some((t) => t.triggerId === command.triggerId)) refuse('TRIGGER_NOT_FOUND', `vault ${state.vaultId} has no trigger '${command.triggerId}'`);
      if (state.status === 'closed') refuse('VAULT_CLOSED', `vault ${state.vaultId} is closed`);
      if (state.status === 'paused') refuse('VAULT_PAUSED', `vault ${state.vaultId} is paused`);
      if (state.openFailedCode !== null) refuse('VAULT_OPEN_FAILED', `vault ${state.vaultId} could not be opened on chain: ${state.openFailedCode}`, { code: state.openFailedCode });
      const budgetWei = state.template.budgetWei;
      const period = vaultPeriodAt(state, command.slotAtMs);
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
      if (state.firings.has(firingId)) return [];
      if (!state.triggers.some((t) => t.triggerId === command.triggerId)) refuse('TRIGGER_NOT_FOUND', `vault ${state.vaultId} has no trigger '${command.triggerId}'`);
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

function withFiring(v: OpenVault, f: VaultFiring): Pick<OpenVault, 'firings' | 'spentByPeriodWei' | 'committedWei'> {
  const firings = new Map(v.firings).set(f.firingId, f);
  if (f.outcome !== 'fired' || f.periodIndex === null) return { firings, spentByPeriodWei: v.spentByPeriodWei, committedWei: v.committedWei };
  const spentByPeriodWei = new Map(v.spentByPeriodWei).set(f.periodIndex, (v.spentByPeriodWei.get(f.periodIndex) ?? 0n) + f.budgetWei);
  return { firings, spentByPeriodWei, committedWei: v.committedWei + f.budgetWei };
}

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
      firings: new Map(),
      spentByPeriodWei: new Map(),
      committedWei: 0n,
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
      return state.status === 'paused' ? { ...state, status: 'active' } : state;
    case 'VaultClosed':
      return { ...state, status: 'closed' };
    case 'VaultFired': {
      const d = event.data;
      if (state.firings.has(d.firingId)) return state;
      const f: VaultFiring = { firingId: d.firingId, triggerId: d.triggerId, slot: d.slot, slotAtMs: d.slotAtMs, outcome: 'fired', jobId: d.jobId, budgetWei: d.budgetWei, periodIndex: d.periodIndex, code: null };
      return { ...state, ...withFiring(state, f) };
    }
    case 'VaultChainSynced': {
      const d = event.data;
      return { ...state, chain: { status: d.status, templateHash: d.templateHash, remainderWei: d.remainderWei ?? state.chain?.remainderWei ?? null } };
    }
    case 'VaultOpenFailed':
      return { ...state, openFailedCode: event.data.code };
    case 'VaultFiringSkipped': {
      const d = event.data;
      if (state.firings.has(d.firingId)) return state;
      const f: VaultFiring = { firingId: d.firingId, triggerId: d.triggerId, slot: d.slot, slotAtMs: d.slotAtMs, outcome: 'skipped', jobId: null, budgetWei: 0n, periodIndex: null, code: d.code };
      return { ...state, ...withFiring(state, f) };
    }
    default:
      return assertNever(event);
  }
}

/** A vault's subject grows by one event per slot (a schedule every ten minutes is 50,000 a year): a snapshot every this many events. */
export const VAULT_SNAPSHOT_EVERY = 500;

const TEMPLATE = EVENT_SCHEMAS.VaultCreated.shape.template;
const TRIGGERS = EVENT_SCHEMAS.VaultCreated.shape.triggers;
const STATUSES = ['active', 'paused', 'closed'] as const;
const statusOf = (value: unknown, what: string): (typeof STATUSES)[number] => {
  const s = v.string(value, what);
  if (!(STATUSES as readonly string[]).includes(s)) throw new SnapshotShapeError(`${what}: not a vault status`);
  return s as (typeof STATUSES)[number];
};
const nullableBigint = (value: unknown, what: string): bigint | null => (value === null ? null : v.bigint(value, what));
const schemaValue = <T>(schema: { safeParse(x: unknown): { success: true; data: T } | { success: false } }, value: unknown, what: string): T => {
  const r = schema.safeParse(value);
  if (!r.success) throw new SnapshotShapeError(`${what}: not of its catalogue shape`);
  return r.data;
};

/**
 * The vault's snapshot: its terms, template and triggers (in their catalogue wire form), every slot
 * decided (the firings: what makes a slot decided once), the spending per period and the chain's
 * state. Amounts as decimal strings.
 */
export const vaultSnapshot: SnapshotCodec<VaultState> = {
  name: 'vault',
  version: 1,
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
      firings: [...state.firings.values()].map((f) => [f.firingId, f.triggerId, f.slot, f.slotAtMs, f.outcome, f.jobId, f.budgetWei.toString(), f.periodIndex, f.code]),
      spentByPeriodWei: [...state.spentByPeriodWei.entries()].map(([period, wei]) => [period, wei.toString()]),
      committedWei: state.committedWei.toString(),
      chain: state.chain && { status: state.chain.status, templateHash: state.chain.templateHash, remainderWei: state.chain.remainderWei === null ? null : state.chain.remainderWei.toString() },
      openFailedCode: state.openFailedCode,
    };
  },
  decode(value: unknown): VaultState {
    const o = v.record(value, 'vault');
    if (o.status === 'none') return { status: 'none' };
    const firings = new Map<string, VaultFiring>();
    for (const [i, raw] of v.array(o.firings, 'firings').entries()) {
      const f = v.array(raw, `firings[${i}]`);
      const outcome = v.string(f[4], `firings[${i}].outcome`);
      if (outcome !== 'fired' && outcome !== 'skipped') throw new SnapshotShapeError(`firings[${i}].outcome: not fired or skipped`);
      const firing: VaultFiring = {
        firingId: v.string(f[0], `firings[${i}].firingId`),
        triggerId: v.string(f[1], `firings[${i}].triggerId`),
        slot: v.string(f[2], `firings[${i}].slot`),
        slotAtMs: v.count(f[3], `firings[${i}].slotAtMs`),
        outcome,
        jobId: v.nullableString(f[5], `firings[${i}].jobId`),
        budgetWei: v.bigint(f[6], `firings[${i}].budgetWei`),
        periodIndex: f[7] === null ? null : v.count(f[7], `firings[${i}].periodIndex`),
        code: v.nullableString(f[8], `firings[${i}].code`),
      };
      if (firings.has(firing.firingId)) throw new SnapshotShapeError(`firings[${i}]: ${firing.firingId} twice`);
      firings.set(firing.firingId, firing);
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
      firings,
      spentByPeriodWei,
      committedWei: v.bigint(o.committedWei, 'committedWei'),
      chain: chain && { status: statusOf(chain.status, 'chain.status'), templateHash: v.string(chain.templateHash, 'chain.templateHash'), remainderWei: nullableBigint(chain.remainderWei, 'chain.remainderWei') },
      openFailedCode: v.nullableString(o.openFailedCode, 'openFailedCode'),
    };
  },
};

export const vaultDecider: Decider<'vault', VaultCommand, VaultState> = { aggregate: 'vault', decide: decideVault, evolve: evolveVault, initialState: initialVaultState, snapshot: vaultSnapshot };
