import type { z } from 'zod';
import type { createVaultRequestSchema, vaultSchema } from '@starminer/events';
import { SUBMIT_JOB_EXAMPLE } from '../jobs/job-examples';

const AGPU = '000000000000000000';

export const CREATE_VAULT_EXAMPLE: z.input<typeof createVaultRequestSchema> = {
  depositWei: `500${AGPU}`,
  capPerPeriodWei: `100${AGPU}`,
  periodSec: 86_400,
  template: SUBMIT_JOB_EXAMPLE,
  triggers: [
    { triggerId: 'nightly', kind: 'cron', expression: '0 2 * * *', timeZone: 'Europe/Berlin' },
    { triggerId: 'cheap', kind: 'price', gpuModel: 'RTX4090', region: 'eu-west', belowWeiPerHour: `1${AGPU}` },
    { triggerId: 'hook', kind: 'url' },
  ],
};

export const VAULT_EXAMPLE: z.input<typeof vaultSchema> = {
  vaultId: 'vault_5f0c6a1e9b2d4c7f8a3e1b0d9c8f7a6e',
  status: 'active',
  ownerAddress: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  depositWei: `500${AGPU}`,
  balanceWei: `450${AGPU}`,
  capPerPeriodWei: `100${AGPU}`,
  periodSec: 86_400,
  currentPeriod: { index: 0, startsAt: '2026-11-27T12:00:00.000Z', endsAt: '2026-11-28T12:00:00.000Z', spentWei: `50${AGPU}`, remainingCapWei: `50${AGPU}` },
  template: {
    ...SUBMIT_JOB_EXAMPLE,
    deadlineSec: 600,
    green: false,
    specHash: `0x${'5a'.repeat(32)}`,
    templateHash: `0x${'5b'.repeat(32)}`,
  },
  triggers: [
    { triggerId: 'nightly', kind: 'cron', expression: '0 2 * * *', timeZone: 'Europe/Berlin' },
    { triggerId: 'cheap', kind: 'price', gpuModel: 'RTX4090', region: 'eu-west', belowWeiPerHour: `1${AGPU}` },
    { triggerId: 'hook', kind: 'url', path: '/v1/vault-triggers/vault_5f0c6a1e9b2d4c7f8a3e1b0d9c8f7a6e/hook' },
  ],
  firedCount: 1,
  skippedCount: 0,
  firings: [
    {
      firingId: `vf_${'0a'.repeat(20)}`,
      triggerId: 'nightly',
      slot: '2026-11-28T01:00:00.000Z',
      slotAt: '2026-11-28T01:00:00.000Z',
      outcome: 'fired',
      jobId: `vj_${'0a'.repeat(20)}`,
      budgetWei: `50${AGPU}`,
      code: null,
    },
  ],
  createdAt: '2026-11-27T12:00:00.000Z',
};
