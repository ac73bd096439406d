import type { Vault } from '@starminer/sdk';
import { firedText, vaultCreatedText, vaultDetails, vaultTable } from './vault-format';

const AGPU = '000000000000000000';
const vault: Vault = {
  vaultId: 'vault_1',
  status: 'active',
  ownerAddress: '0x00000000000000000000000000000000000000a1',
  depositWei: `100${AGPU}`,
  balanceWei: `90${AGPU}`,
  capPerPeriodWei: `20${AGPU}`,
  periodSec: 86_400,
  currentPeriod: { index: 0, startsAt: '2026-11-27T12:00:00.000Z', endsAt: '2026-11-28T12:00:00.000Z', spentWei: `10${AGPU}`, remainingCapWei: `10${AGPU}` },
  template: {
    category: 'inference',
    budgetWei: `10${AGPU}`,
    urgency: 'normal',
    latencyPreference: 'normal',
    requirements: { gpuModels: [], gpuCount: 1, minVramGiB: 8, tee: false, regions: [] },
    expectedRuntimeSec: 60,
    deadlineSec: 600,
    green: false,
    workload: { kind: 'hash-chain', seed: 's', iterations: 100 },
    specHash: `0x${'5a'.repeat(32)}`,
    templateHash: `0x${'5b'.repeat(32)}`,
  },
  triggers: [
    { triggerId: 'cron-1', kind: 'cron', expression: '0 2 * * *', timeZone: 'Europe/Berlin' },
    { triggerId: 'url', kind: 'url', path: '/v1/vault-triggers/vault_1/url' },
  ],
  firedCount: 1,
  skippedCount: 1,
  firings: [
    { firingId: 'vf_1', triggerId: 'cron-1', slot: '2026-11-28T01:00:00.000Z', slotAt: '2026-11-28T01:00:00.000Z', outcome: 'fired', jobId: 'vj_1', budgetWei: `10${AGPU}`, code: null },
    { firingId: 'vf_0', triggerId: 'cron-1', slot: '2026-11-27T01:00:00.000Z', slotAt: '2026-11-27T01:00:00.000Z', outcome: 'skipped', jobId: null, budgetWei: '0', code: 'SLOT_MISSED' },
  ],
  createdAt: '2026-11-27T12:00:00.000Z',
};

describe('vault formatting', () => {
  it('vaults get: the terms in AGPU, the period, the triggers, then the firings with their jobs or why they were skipped', () => {
    const text = vaultDetails(vault);
    expect(text).toMatch(/^vault +vault_1$/m);
    expect(text).toMatch(/^balance +90 AGPU$/m);
    expect(text).toMatch(/^this period +10 AGPU spent, 10 AGPU left, until 2026-11-28 12:00:00Z$/m);
    expect(text).toContain("cron-1: cron '0 2 * * *' (Europe/Berlin); url: POST /v1/vault-triggers/vault_1/url");
    expect(text).toMatch(/fired .* vj_1/);
    expect(text).toMatch(/skipped .* SLOT_MISSED/);
  });

  it('vaults create shows the trigger secret once; list is one row per vault; fire names the job', () => {
    expect(vaultCreatedText({ vault, triggerSecret: `vtsec_${'A'.repeat(43)}` })).toContain(`trigger secret (shown once; \`vaults fire\` signs with it): vtsec_${'A'.repeat(43)}`);
    expect(vaultCreatedText({ vault, triggerSecret: null })).not.toContain('secret');
    expect(vaultTable([vault])).toMatch(/vault_1.*active.*90 AGPU/);
    expect(firedText({ vaultId: 'vault_1', triggerId: 'url', firingId: 'vf_2', jobId: 'vj_2' })).toBe('vault vault_1 trigger url fired: job vj_2 (firing vf_2)');
  });
});
