import { EVENT_SCHEMAS, LIMITS } from '@starminer/events';
import { draft } from './decider';
import { specFor } from './spec-kit';
import { decideVault, initialVaultState, vaultChainPlan, vaultDecider, vaultPeriodIndex, vaultSnapshot, type VaultCommand, type VaultEvent, type VaultTemplate } from './vault';
import { cronSlotOf, cronSlotsBetween, validateVaultTriggers, vaultFiringId, vaultFiringJobId, type CronTrigger, type VaultTrigger } from './vault-schedule';

const given = specFor(vaultDecider);

const AGPU = 10n ** 18n;
const VAULT = 'vault-1';
const ORG = 'org-1';
const OWNER = '0x1111111111111111111111111111111111111111';
const T0 = Date.parse('2026-11-01T00:00:00.000Z');
const HOUR_MS = 3_600_000;

const template = (over: Partial<VaultTemplate> = {}): VaultTemplate => ({
  category: 'inference',
  budgetWei: 10n * AGPU,
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: ['H100'], gpuCount: 1, minVramGiB: 40, tee: false, regions: ['eu-west'] },
  expectedRuntimeSec: 600,
  deadlineSec: 3600,
  green: false,
  workload: { kind: 'hash-chain', seed: 'abc', iterations: 1000 },
  specHash: `0x${'aa'.repeat(32)}`,
  templateHash: `0x${'bb'.repeat(32)}`,
  ...over,
});

const hourly: VaultTrigger = { triggerId: 'hourly', kind: 'cron', expression: '0 * * * *', timeZone: 'Europe/Berlin' };
const hook: VaultTrigger = { triggerId: 'hook', kind: 'url' };

const create = (over: Partial<Extract<VaultCommand, { type: 'CreateVault' }>> = {}): VaultCommand => ({
  type: 'CreateVault',
  vaultId: VAULT,
  orgId: ORG,
  ownerAddress: OWNER,
  depositWei: 100n * AGPU,
  capPerPeriodWei: 20n * AGPU,
  periodSec: 24 * 3600,
  template: template(),
  triggers: [hourly, hook],
  atMs: T0,
  ...over,
});

const created = (over: Partial<Extract<VaultCommand, { type: 'CreateVault' }>> = {}): VaultEvent => {
  const c = create(over) as Extract<VaultCommand, { type: 'CreateVault' }>;
  return draft('VaultCreated', {
    vaultId: c.vaultId,
    orgId: c.orgId,
    ownerAddress: c.ownerAddress,
    depositWei: c.depositWei,
    capPerPeriodWei: c.capPerPeriodWei,
    periodSec: c.periodSec,
    periodAnchorMs: c.atMs,
    template: c.template,
    triggers: [...c.triggers],
  });
};

const slotAt = (atMs: number) => cronSlotOf(atMs);
const fire = (atMs: number, triggerId = 'hourly'): VaultCommand => ({ type: 'FireVault', triggerId, slot: slotAt(atMs), slotAtMs: atMs });
const fired = (atMs: number, periodIndex = 0, triggerId = 'hourly', budgetWei = 10n * AGPU): VaultEvent => {
  const firingId = vaultFiringId(VAULT, triggerId, slotAt(atMs));
  return draft('VaultFired', {
    vaultId: VAULT,
    firingId,
    triggerId,
    slot: slotAt(atMs),
    slotAtMs: atMs,
    periodIndex,
    jobId: vaultFiringJobId(firingId),
    budgetWei,
    templateHash: template().templateHash,
  });
};
const paused = draft('VaultPaused', { vaultId: VAULT });
const resumed = draft('VaultResumed', { vaultId: VAULT });
const closed = draft('VaultClosed', { vaultId: VAULT });

describe('vault decider', () => {
  describe('CreateVault', () => {
    it('records the vault with its terms, template and triggers; periods start at its creation', () => {
      given([]).when(create()).then([created()]);
    });

    it('writes what the catalogue accepts', () => {
      const [e] = decideVault(create(), initialVaultState());
      expect(EVENT_SCHEMAS.VaultCreated.safeParse(EVENT_SCHEMAS.VaultCreated.encode(e.data as never)).success).toBe(true);
    });

    it('refuses an id that exists', () => {
      given([created()]).when(create()).thenThrows('VAULT_ID_IN_USE');
    });

    it.each<[string, Partial<Extract<VaultCommand, { type: 'CreateVault' }>>]>([
      ['AMOUNT_NOT_POSITIVE', { depositWei: 0n }],
      ['CAP_BELOW_TEMPLATE_BUDGET', { capPerPeriodWei: 10n * AGPU - 1n }],
      ['BUDGET_NOT_POSITIVE', { template: template({ budgetWei: 0n }) }],
      ['UNKNOWN_GPU_MODEL', { template: template({ requirements: { ...template().requirements, gpuModels: ['GTX-FAKE'] } }) }],
      ['DUPLICATE_TRIGGER_ID', { triggers: [hourly, { ...hook, triggerId: 'hourly' }] }],
      ['BAD_CRON', { triggers: [{ ...hourly, expression: '61 * * * *' } as VaultTrigger] }],
      ['BAD_TIME_ZONE', { triggers: [{ ...hourly, timeZone: 'Mars/Olympus' } as VaultTrigger] }],
    ])('refuses %s', (code, over) => {
      given([]).when(create(over)).thenThrows(code);
    });
  });

  describe('EditVaultTemplate, PauseVault, ResumeVault, CloseVault', () => {
    const next = template({ templateHash: `0x${'cc'.repeat(32)}`, budgetWei: 5n * AGPU });

    it('edits the template; the same template again appends nothing', () => {
      given([created()]).when({ type: 'EditVaultTemplate', orgId: ORG, template: next }).then([draft('VaultTemplateEdited', { vaultId: VAULT, template: next })]);
      given([created()]).when({ type: 'EditVaultTemplate', orgId: ORG, template: template() }).then([]);
    });

    it('refuses a template over the cap, a closed vault, and another org', () => {
      given([created()]).when({ type: 'EditVaultTemplate', orgId: ORG, template: template({ budgetWei: 21n * AGPU }) }).thenThrows('CAP_BELOW_TEMPLATE_BUDGET');
      given([created(), closed]).when({ type: 'EditVaultTemplate', orgId: ORG, template: next }).thenThrows('VAULT_CLOSED');
      given([created()]).when({ type: 'EditVaultTemplate', orgId: 'org-2', template: next }).thenThrows('VAULT_NOT_FOUND');
      given([]).when({ type: 'PauseVault', orgId: ORG }).thenThrows('VAULT_NOT_FOUND');
    });

    it('pauses and resumes, each once', () => {
      given([created()]).when({ type: 'PauseVault', orgId: ORG }).then([paused]);
      given([created(), paused]).when({ type: 'PauseVault', orgId: ORG }).then([]);
      given([created(), paused]).when({ type: 'ResumeVault', orgId: ORG }).then([resumed]);
      given([created()]).when({ type: 'ResumeVault', orgId: ORG }).then([]);
      given([created(), closed]).when({ type: 'ResumeVault', orgId: ORG }).thenThrows('VAULT_CLOSED');
      given([created(), closed]).when({ type: 'PauseVault', orgId: ORG }).thenThrows('VAULT_CLOSED');
    });

    it('closes once, paused or not', () => {
      given([created()]).when({ type: 'CloseVault', orgId: ORG }).then([closed]);
      given([created(), paused]).when({ type: 'CloseVault', orgId: ORG }).then([closed]);
      given([created(), closed]).when({ type: 'CloseVault', orgId: ORG }).then([]);
      given([created()]).when({ type: 'CloseVault', orgId: 'org-2' }).thenThrows('VAULT_NOT_FOUND');
    });
  });

  describe('FireVault', () => {
    it('fires a slot: a firing id and a job id derived from the vault, trigger and slot', () => {
      given([created()]).when(fire(T0 + HOUR_MS)).then([fired(T0 + HOUR_MS)]);
    });

    it('records a slot once: the same slot again (a second replica, a restart) appends nothing', () => {
      given([created(), fired(T0 + HOUR_MS)]).when(fire(T0 + HOUR_MS)).then([]);
      // even when the vault was paused or closed since
      given([created(), fired(T0 + HOUR_MS), closed]).when(fire(T0 + HOUR_MS)).then([]);
    });

    it('names a slot the same on every call, and differently per vault, trigger and slot', () => {
      const id = vaultFiringId(VAULT, 'hourly', 'a');
      expect(vaultFiringId(VAULT, 'hourly', 'a')).toBe(id);
      expect(new Set([id, vaultFiringId('vault-2', 'hourly', 'a'), vaultFiringId(VAULT, 'hook', 'a'), vaultFiringId(VAULT, 'hourly', 'b'), vaultFiringId(VAULT, 'hourlya', '')]).size).toBe(5);
      expect(vaultFiringJobId(id)).toMatch(/^vj_[0-9a-f]{40}$/);
    });

    it('refuses while paused or closed, and an unknown trigger', () => {
      given([created(), paused]).when(fire(T0 + HOUR_MS)).thenThrows('VAULT_PAUSED');
      given([created(), paused, resumed]).when(fire(T0 + HOUR_MS)).then([fired(T0 + HOUR_MS)]);
      given([created(), closed]).when(fire(T0 + HOUR_MS)).thenThrows('VAULT_CLOSED');
      given([created()]).when(fire(T0 + HOUR_MS, 'nope')).thenThrows('TRIGGER_NOT_FOUND');
      given([]).when(fire(T0 + HOUR_MS)).thenThrows('VAULT_NOT_FOUND');
    });

    it('fires up to the cap of a period, exactly, and refuses the next; a new period starts afresh', () => {
      const two = [created(), fired(T0 + HOUR_MS), fired(T0 + 2 * HOUR_MS)];
      given(two).when(fire(T0 + 3 * HOUR_MS)).thenThrows('VAULT_CAP_EXCEEDED');
      const day = 24 * HOUR_MS;
      given(two).when(fire(T0 + day)).then([fired(T0 + day, 1)]);
    });

    it('says the period and what is left of its cap when it refuses', () => {
      const run = () => decideVault(fire(T0 + 3 * HOUR_MS), [created(), fired(T0 + HOUR_MS), fired(T0 + 2 * HOUR_MS)].reduce(vaultDecider.evolve, initialVaultState()));
      expect(run).toThrow(expect.objectContaining({ code: 'VAULT_CAP_EXCEEDED', kind: 'conflict', details: expect.objectContaining({ periodIndex: 0, remainingCapWei: '0' }) }));
    });

    it('refuses a firing the balance no longer covers', () => {
      const small = created({ depositWei: 15n * AGPU });
      given([small, fired(T0 + HOUR_MS)]).when(fire(T0 + 24 * HOUR_MS)).thenThrows('VAULT_BALANCE_INSUFFICIENT');
    });

    it('fires at the edited template budget from the edit on', () => {
      const next = template({ templateHash: `0x${'cc'.repeat(32)}`, budgetWei: 5n * AGPU });
      const events = decideVault(fire(T0 + HOUR_MS), [created(), draft('VaultTemplateEdited', { vaultId: VAULT, template: next })].reduce(vaultDecider.evolve, initialVaultState()));
      expect(events).toEqual([expect.objectContaining({ type: 'VaultFired', data: expect.objectContaining({ budgetWei: 5n * AGPU, templateHash: next.templateHash }) })]);
    });
  });

  describe('SkipFiring', () => {
    const skip = (atMs: number): VaultCommand => ({ type: 'SkipFiring', triggerId: 'hourly', slot: slotAt(atMs), slotAtMs: atMs, code: 'SLOT_MISSED', reason: 'intake was down' });

    it('records a skipped slot once, and a skipped slot never fires afterwards', () => {
      const firingId = vaultFiringId(VAULT, 'hourly', slotAt(T0 + HOUR_MS));
      const skipped = draft('VaultFiringSkipped', { vaultId: VAULT, firingId, triggerId: 'hourly', slot: slotAt(T0 + HOUR_MS), slotAtMs: T0 + HOUR_MS, code: 'SLOT_MISSED', reason: 'intake was down' });
      given([created()]).when(skip(T0 + HOUR_MS)).then([skipped]);
      given([created(), skipped]).when(skip(T0 + HOUR_MS)).then([]);
      given([created(), skipped]).when(fire(T0 + HOUR_MS)).then([]);
      given([created(), fired(T0 + HOUR_MS)]).when(skip(T0 + HOUR_MS)).then([]);
      given([created(), closed]).when(skip(T0 + HOUR_MS)).then([skipped]);
    });

    it('does not count a skip against the cap', () => {
      const firingId = vaultFiringId(VAULT, 'hourly', slotAt(T0 + HOUR_MS));
      const skipped = draft('VaultFiringSkipped', { vaultId: VAULT, firingId, triggerId: 'hourly', slot: slotAt(T0 + HOUR_MS), slotAtMs: T0 + HOUR_MS, code: 'SLOT_MISSED', reason: 'x' });
      given([created(), skipped, fired(T0 + 2 * HOUR_MS)]).when(fire(T0 + 3 * HOUR_MS)).then([fired(T0 + 3 * HOUR_MS)]);
    });

    const skippedAt = (atMs: number, code: string, triggerId = 'hourly', slot = slotAt(atMs)) =>
      draft('VaultFiringSkipped', { vaultId: VAULT, firingId: vaultFiringId(VAULT, triggerId, slot), triggerId, slot, slotAtMs: atMs, code, reason: 'r' });
    const skipCode = (atMs: number, code: string): VaultCommand => ({ type: 'SkipFiring', triggerId: 'hourly', slot: slotAt(atMs), slotAtMs: atMs, code, reason: 'r' });

    it('records a refusal streak once, at its first slot: again when the code changes or a slot fired between', () => {
      const first = [created(), paused, skippedAt(T0 + HOUR_MS, 'VAULT_PAUSED')];
      given(first).when(skipCode(T0 + 2 * HOUR_MS, 'VAULT_PAUSED')).then([]);
      given(first).when(skipCode(T0 + 2 * HOUR_MS, 'SLOT_MISSED')).then([skippedAt(T0 + 2 * HOUR_MS, 'SLOT_MISSED')]);
      given([created(), skippedAt(T0 + HOUR_MS, 'VAULT_CAP_EXCEEDED'), fired(T0 + 2 * HOUR_MS)]).when(skipCode(T0 + 3 * HOUR_MS, 'VAULT_CAP_EXCEEDED')).then([skippedAt(T0 + 3 * HOUR_MS, 'VAULT_CAP_EXCEEDED')]);
    });

    it('decides a cron slot at or before the trigger\'s last recorded slot as decided', () => {
      given([created(), skippedAt(T0 + 3 * HOUR_MS, 'SLOT_MISSED')]).when(fire(T0 + 2 * HOUR_MS)).then([]);
      given([created(), fired(T0 + 3 * HOUR_MS)]).when(fire(T0 + 3 * HOUR_MS)).then([]);
      given([created(), fired(T0 + 3 * HOUR_MS)]).when(fire(T0 + 4 * HOUR_MS)).then([fired(T0 + 4 * HOUR_MS)]);
    });

    it('never fires a cron slot that passed while paused, after the resume', () => {
      const resumedAt = (atMs: number) => draft('VaultResumed', { vaultId: VAULT, atMs });
      given([created(), paused]).when({ type: 'ResumeVault', orgId: ORG, atMs: T0 + 2 * HOUR_MS + 5 }).then([resumedAt(T0 + 2 * HOUR_MS + 5)]);
      given([created(), paused, resumedAt(T0 + 2 * HOUR_MS + 5)]).when(fire(T0 + 2 * HOUR_MS)).thenThrows('VAULT_PAUSED');
      given([created(), paused, resumedAt(T0 + 2 * HOUR_MS + 5)]).when(fire(T0 + 3 * HOUR_MS)).then([fired(T0 + 3 * HOUR_MS)]);
    });
  });

  describe('the state stays bounded', () => {
    const fold = (events: VaultEvent[]) => events.reduce(vaultDecider.evolve, initialVaultState());
    const call = (key: string, atMs: number): VaultCommand => ({ type: 'FireVault', triggerId: 'hook', slot: key, slotAtMs: atMs });
    const calledEvent = (key: string, atMs: number, periodIndex = 0, budgetWei = 1n): VaultEvent => {
      const firingId = vaultFiringId(VAULT, 'hook', key);
      return draft('VaultFired', { vaultId: VAULT, firingId, triggerId: 'hook', slot: key, slotAtMs: atMs, periodIndex, jobId: vaultFiringJobId(firingId), budgetWei, templateHash: template().templateHash });
    };
    const cheap = () => created({ template: template({ budgetWei: 1n }), capPerPeriodWei: 10n * AGPU, periodSec: 3600 });

    it('keeps one cursor per cron trigger, the newest firings listed, and the spending of the kept periods only', () => {
      const events: VaultEvent[] = [cheap()];
      for (let h = 1; h <= 200; h += 1) events.push({ ...fired(T0 + h * HOUR_MS, h, 'hourly', 1n) });
      const state = fold(events);
      if (state.status === 'none') throw new Error('unreachable');
      expect(state.decided.get('hourly')).toEqual({ lastSlotAtMs: T0 + 200 * HOUR_MS, lastOutcome: 'fired', lastCode: null, keys: [] });
      expect(state.recentFirings).toHaveLength(LIMITS.vaultFiringsListedMax);
      expect([state.firedCount, state.skippedCount, state.committedWei]).toEqual([200, 0, 200n]);
      expect([...state.spentByPeriodWei.keys()]).toEqual([199, 200]);
      // a slot of a period no longer kept is refused, never fired over the cap
      expect(() => decideVault(call('late', T0 + 150 * HOUR_MS), state)).toThrow(expect.objectContaining({ code: 'VAULT_CAP_EXCEEDED' }));
    });

    it('remembers a URL trigger\'s keys within the window: the same key answers nothing new; a key older than the window is expired; a full window refuses', () => {
      const day = LIMITS.vaultTriggerKeyWindowSec * 1000;
      given([cheap(), calledEvent('k1', T0 + 1000)]).when(call('k1', T0 + 5000)).then([]);
      given([cheap(), calledEvent('k1', T0 + 1000)]).when(call('k2', T0 + 5000)).then([calledEvent('k2', T0 + 5000)]);
      given([cheap(), calledEvent('k1', T0 + day + 10)]).when(call('old', T0)).thenThrows('TRIGGER_KEY_EXPIRED');
      // the window forgets keys older than it, so the kept keys stay bounded
      const later = fold([cheap(), calledEvent('k1', T0 + 1000), calledEvent('k2', T0 + 2 * day, 48)]);
      if (later.status === 'none') throw new Error('unreachable');
      expect(later.decided.get('hook')?.keys).toEqual([{ slot: 'k2', atMs: T0 + 2 * day }]);
      const full: VaultEvent[] = [created({ template: template({ budgetWei: 1n }), capPerPeriodWei: 10n * AGPU, depositWei: 10n * AGPU })];
      for (let i = 0; i < LIMITS.vaultTriggerKeysMax; i += 1) full.push(calledEvent(`k${i}`, T0 + i));
      given(full).when(call('one-more', T0 + 10_000)).thenThrows('TRIGGER_KEYS_FULL');
      given(full).when(call('k0', T0 + 10_000)).then([]);
    });
  });

  describe('RecordFiringEnded: the vault gets back what a job did not draw', () => {
    const fold = (events: VaultEvent[]) => events.reduce(vaultDecider.evolve, initialVaultState());
    const jobOf = (atMs: number) => vaultFiringJobId(vaultFiringId(VAULT, 'hourly', slotAt(atMs)));
    const ended = (atMs: number, drawnWei: bigint) =>
      draft('VaultFiringEnded', { vaultId: VAULT, firingId: vaultFiringId(VAULT, 'hourly', slotAt(atMs)), jobId: jobOf(atMs), budgetWei: 10n * AGPU, drawnWei });
    const small = () => created({ depositWei: 15n * AGPU });

    it('a job that drew nothing (its open refused on chain) gives its whole budget back: the next slot fires again', () => {
      given([small(), fired(T0 + HOUR_MS)]).when({ type: 'RecordFiringEnded', jobId: jobOf(T0 + HOUR_MS), drawnWei: 0n }).then([ended(T0 + HOUR_MS, 0n)]);
      given([small(), fired(T0 + HOUR_MS)]).when(fire(T0 + 2 * HOUR_MS)).thenThrows('VAULT_BALANCE_INSUFFICIENT');
      given([small(), fired(T0 + HOUR_MS), ended(T0 + HOUR_MS, 0n)]).when(fire(T0 + 2 * HOUR_MS)).then([fired(T0 + 2 * HOUR_MS)]);
    });

    it('a job that cost less than its budget keeps only its draw against the balance; the cap counts its budget (a job fired)', () => {
      const state = fold([created(), fired(T0 + HOUR_MS), fired(T0 + 2 * HOUR_MS), ended(T0 + HOUR_MS, 4n * AGPU)]);
      if (state.status === 'none') throw new Error('unreachable');
      expect(state.committedWei).toBe(14n * AGPU);
      expect(state.spentByPeriodWei.get(0)).toBe(20n * AGPU);
      expect(state.pendingJobs.has(jobOf(T0 + HOUR_MS))).toBe(false);
      given([created(), fired(T0 + HOUR_MS), fired(T0 + 2 * HOUR_MS), ended(T0 + HOUR_MS, 4n * AGPU)]).when(fire(T0 + 3 * HOUR_MS)).thenThrows('VAULT_CAP_EXCEEDED');
      // one that drew nothing fired no job: the period's cap has room again
      given([created(), fired(T0 + HOUR_MS), fired(T0 + 2 * HOUR_MS), ended(T0 + HOUR_MS, 4n * AGPU), ended(T0 + 2 * HOUR_MS, 0n)]).when(fire(T0 + 3 * HOUR_MS)).then([fired(T0 + 3 * HOUR_MS)]);
    });

    it('records a job\'s end once (a redelivery, a second end event: nothing), and nothing for a job the vault did not fire', () => {
      given([small(), fired(T0 + HOUR_MS), ended(T0 + HOUR_MS, 0n)]).when({ type: 'RecordFiringEnded', jobId: jobOf(T0 + HOUR_MS), drawnWei: 10n * AGPU }).then([]);
      given([small()]).when({ type: 'RecordFiringEnded', jobId: 'vj_other', drawnWei: 0n }).then([]);
      given([small(), fired(T0 + HOUR_MS)]).when({ type: 'RecordFiringEnded', jobId: jobOf(T0 + HOUR_MS), drawnWei: 11n * AGPU }).thenThrows('AMOUNT_NOT_POSITIVE');
    });
  });

  describe('the chain: RecordChainSynced, RecordOpenFailed, and what to do next', () => {
    const fold = (events: VaultEvent[]) => events.reduce(vaultDecider.evolve, initialVaultState());
    const synced = (action: 'open' | 'template' | 'pause' | 'resume' | 'close', status: 'active' | 'paused' | 'closed', templateHash = template().templateHash, extra: { remainderWei?: bigint } = {}) =>
      draft('VaultChainSynced', { vaultId: VAULT, action, status, templateHash, txHash: `0x${'ee'.repeat(32)}`, blockNumber: '7', ...extra });
    const record = (action: 'open' | 'template' | 'pause' | 'resume' | 'close', extra: { remainderWei?: bigint } = {}): VaultCommand => ({ type: 'RecordChainSynced', action, txHash: `0x${'ee'.repeat(32)}`, blockNumber: '7', ...extra });

    it('opens first, once; then follows the template and the status; a closed chain is final', () => {
      expect(vaultChainPlan(fold([created()]))).toBe('open');
      given([created()]).when(record('open')).then([synced('open', 'active')]);
      given([created(), synced('open', 'active')]).when(record('open')).then([]);
      expect(vaultChainPlan(fold([created(), synced('open', 'active')]))).toBeUndefined();
      expect(vaultChainPlan(fold([created(), synced('open', 'active'), paused]))).toBe('pause');
      given([created(), synced('open', 'active'), paused]).when(record('pause')).then([synced('pause', 'paused')]);
      expect(vaultChainPlan(fold([created(), synced('open', 'active'), paused, resumed, closed]))).toBe('close');
      given([created(), synced('open', 'active'), closed]).when(record('close', { remainderWei: 40n * AGPU })).then([synced('close', 'closed', template().templateHash, { remainderWei: 40n * AGPU })]);
      expect(vaultChainPlan(fold([created(), synced('open', 'active'), closed, synced('close', 'closed')]))).toBeUndefined();
    });

    it('moves the template on chain when the log edits it', () => {
      const next = template({ templateHash: `0x${'cc'.repeat(32)}` });
      const edited = draft('VaultTemplateEdited', { vaultId: VAULT, template: next });
      expect(vaultChainPlan(fold([created(), synced('open', 'active'), edited]))).toBe('template');
      given([created(), synced('open', 'active'), edited]).when(record('template')).then([synced('template', 'active', next.templateHash)]);
    });

    it('a vault closed before it opened is never opened; one whose open failed neither opens nor fires', () => {
      expect(vaultChainPlan(fold([created(), closed]))).toBeUndefined();
      const failed = draft('VaultOpenFailed', { vaultId: VAULT, code: 'ERC20InsufficientBalance', reason: 'x' });
      given([created()]).when({ type: 'RecordOpenFailed', code: 'ERC20InsufficientBalance', reason: 'x' }).then([failed]);
      given([created(), synced('open', 'active')]).when({ type: 'RecordOpenFailed', code: 'X', reason: 'x' }).then([]);
      expect(vaultChainPlan(fold([created(), failed]))).toBeUndefined();
      given([created(), failed]).when(fire(T0 + HOUR_MS)).thenThrows('VAULT_OPEN_FAILED');
    });
  });

  describe('snapshot', () => {
    it('reads back every state it writes (through JSON, as jsonb stores it), and refuses another shape', () => {
      const price: VaultTrigger = { triggerId: 'cheap', kind: 'price', gpuModel: 'H100', region: 'eu-west', belowWeiPerHour: 2n * AGPU };
      const firingId = vaultFiringId(VAULT, 'hourly', slotAt(T0 + 2 * HOUR_MS));
      const skipped = draft('VaultFiringSkipped', { vaultId: VAULT, firingId, triggerId: 'hourly', slot: slotAt(T0 + 2 * HOUR_MS), slotAtMs: T0 + 2 * HOUR_MS, code: 'SLOT_MISSED', reason: 'x' });
      const synced = draft('VaultChainSynced', { vaultId: VAULT, action: 'close', status: 'closed', templateHash: template().templateHash, txHash: null, blockNumber: null, remainderWei: 5n });
      const histories: VaultEvent[][] = [
        [],
        [created({ triggers: [hourly, hook, price] })],
        [created(), fired(T0 + HOUR_MS), skipped, fired(T0 + 25 * HOUR_MS, 1), paused],
        [created(), fired(T0 + HOUR_MS), fired(T0 + 2 * HOUR_MS), draft('VaultFiringEnded', { vaultId: VAULT, firingId: vaultFiringId(VAULT, 'hourly', slotAt(T0 + HOUR_MS)), jobId: vaultFiringJobId(vaultFiringId(VAULT, 'hourly', slotAt(T0 + HOUR_MS))), budgetWei: 10n * AGPU, drawnWei: 3n })],
        [created(), paused, draft('VaultResumed', { vaultId: VAULT, atMs: T0 + 5 }), fired(T0 + HOUR_MS), fired(T0 + 2 * HOUR_MS, 0, 'hook')],
        [created(), draft('VaultOpenFailed', { vaultId: VAULT, code: 'X', reason: 'y' })],
        [created(), closed, synced],
      ];
      for (const events of histories) {
        const state = events.reduce(vaultDecider.evolve, initialVaultState());
        const back = vaultSnapshot.decode(JSON.parse(JSON.stringify(vaultSnapshot.encode(state))));
        expect(back).toEqual(state);
      }
      expect(() => vaultSnapshot.decode({ status: 'active' })).toThrow();
      expect(() => vaultSnapshot.decode([])).toThrow();
    });
  });

  describe('schedule', () => {
    it('puts a time before the anchor in the first period, and the period end in the next', () => {
      const v = { periodAnchorMs: T0, periodSec: 3600 };
      expect(vaultPeriodIndex(v, T0 - 1)).toBe(0);
      expect(vaultPeriodIndex(v, T0 + HOUR_MS - 1)).toBe(0);
      expect(vaultPeriodIndex(v, T0 + HOUR_MS)).toBe(1);
    });

    it('lists the slots of a cron schedule in its time zone, newest kept when bounded', () => {
      const daily: CronTrigger = { triggerId: 'd', kind: 'cron', expression: '0 9 * * *', timeZone: 'America/New_York' };
      // 09:00 in New York is 14:00 UTC in November (EST)
      const { slotsMs, truncated } = cronSlotsBetween(daily, T0, T0 + 3 * 24 * HOUR_MS, 10);
      expect(slotsMs.map(cronSlotOf)).toEqual(['2026-11-01T14:00:00.000Z', '2026-11-02T14:00:00.000Z', '2026-11-03T14:00:00.000Z']);
      expect(truncated).toBe(false);
      const bounded = cronSlotsBetween(daily, T0, T0 + 3 * 24 * HOUR_MS, 1);
      expect(bounded).toEqual({ slotsMs: [Date.parse('2026-11-03T14:00:00.000Z')], truncated: true });
      // the bounds: after is excluded, up to is included
      expect(cronSlotsBetween(daily, Date.parse('2026-11-01T14:00:00.000Z'), Date.parse('2026-11-02T14:00:00.000Z'), 10).slotsMs).toEqual([Date.parse('2026-11-02T14:00:00.000Z')]);
    });

    it('accepts five field expressions and predefined ones; refuses seconds and slots closer than the minimum', () => {
      expect(() => validateVaultTriggers([{ triggerId: 'a', kind: 'cron', expression: '*/1 * * * *', timeZone: 'UTC' }, { triggerId: 'b', kind: 'cron', expression: '@daily', timeZone: 'Asia/Tokyo' }])).not.toThrow();
      for (const expression of ['*/1 * * * * *', '0 */5 * * * *', '@secondly', '* * * *']) {
        expect(() => validateVaultTriggers([{ triggerId: 'a', kind: 'cron', expression, timeZone: 'UTC' }])).toThrow(expect.objectContaining({ code: 'BAD_CRON', kind: 'invalid' }));
      }
      expect(LIMITS.vaultCronIntervalSecMin).toBeGreaterThanOrEqual(60);
    });
  });
});
