import { idSchema, LIMITS, topUpRequestSchema } from '@starminer/events';
import { runwaySecOf } from '../jobs/job-answer';
import { TOP_UP_ID_PREFIX, topUpIdOf, topUpRecordKey } from './top-up-id';
import { topUpPriceWei, topUpRefusal } from './top-up-price';

const AGPU = 10n ** 18n;

describe('a top-up request at the edge (POST /v1/jobs/{jobId}/top-ups)', () => {
  it('names the same top-up for every attempt of one request, and another for another org, job or key; every name is an id the log takes', () => {
    const id = topUpIdOf('org-1', 'job-1', 'key-1');
    expect(topUpIdOf('org-1', 'job-1', 'key-1')).toBe(id);
    expect(new Set([id, topUpIdOf('org-2', 'job-1', 'key-1'), topUpIdOf('org-1', 'job-2', 'key-1'), topUpIdOf('org-1', 'job-1', 'key-2')]).size).toBe(4);
    // length-prefixed: moving a character from one part to the next is another top-up
    expect(topUpIdOf('org-1', 'job-1a', 'b')).not.toBe(topUpIdOf('org-1', 'job-1', 'ab'));
    expect(id).toMatch(new RegExp(`^${TOP_UP_ID_PREFIX}[0-9a-f]{32}$`));
    const minted = topUpIdOf('org-1', 'job-1', undefined);
    expect(minted).not.toBe(topUpIdOf('org-1', 'job-1', undefined));
    for (const x of [id, minted]) expect(idSchema.safeParse(x).success).toBe(true);
    expect(topUpRecordKey('k')).toBe('top-up:k');
  });

  it("prices the extra time at the match's hourly price for all the GPUs, rounded up to the wei", () => {
    expect(topUpPriceWei(4n * AGPU, 1_800)).toBe(2n * AGPU);
    expect(topUpPriceWei(1n, 1)).toBe(1n);
    expect(topUpPriceWei(3_600n, 3_601)).toBe(3_601n);
  });

  it('takes 1 s to 7 days of extra runtime, whole seconds', () => {
    expect(topUpRequestSchema.safeParse({ extraRuntimeSec: 1 }).success).toBe(true);
    expect(topUpRequestSchema.safeParse({ extraRuntimeSec: LIMITS.topUpExtraRuntimeSecMax }).success).toBe(true);
    for (const extraRuntimeSec of [0, -1, 1.5, LIMITS.topUpExtraRuntimeSecMax + 1]) expect(topUpRequestSchema.safeParse({ extraRuntimeSec }).success).toBe(false);
    expect(topUpRequestSchema.safeParse({ extraRuntimeSec: 60, extraCostWei: '1' }).success).toBe(false);
  });

  it.each([
    ['queued', 'TOP_UP_NOT_OPEN'],
    ['matched', 'TOP_UP_NOT_OPEN'],
    ['completed', 'TOP_UP_NOT_OPEN'],
    ['settled', 'JOB_ALREADY_FINAL'],
    ['refunded', 'JOB_ALREADY_FINAL'],
    ['cancelled', 'JOB_ALREADY_FINAL'],
  ])('refuses a %s job (%s, naming its status)', (status, code) => {
    expect(topUpRefusal({ jobId: 'j', status, priceWeiPerHour: AGPU })).toMatchObject({ code, details: { status } });
  });

  it.each(['contracted', 'running'])('lets a %s job be topped up', (status) => {
    expect(topUpRefusal({ jobId: 'j', status, priceWeiPerHour: AGPU })).toBeNull();
  });
});

describe("a job's runway in its answer", () => {
  const NOW_MS = 1_800_000_000_000;
  it('is the seconds until the deadline while contracted or running, 0 once passed, null otherwise', () => {
    expect(runwaySecOf({ status: 'running', deadlineUnixSec: String(NOW_MS / 1000 + 90) }, NOW_MS)).toBe(90);
    expect(runwaySecOf({ status: 'contracted', deadlineUnixSec: String(NOW_MS / 1000 - 5) }, NOW_MS)).toBe(0);
    expect(runwaySecOf({ status: 'settled', deadlineUnixSec: String(NOW_MS / 1000 + 90) }, NOW_MS)).toBeNull();
    expect(runwaySecOf({ status: 'matched', deadlineUnixSec: null }, NOW_MS)).toBeNull();
  });
});
