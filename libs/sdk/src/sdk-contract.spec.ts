import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FINAL_JOB_STATUSES as EVENTS_FINAL, JOB_STATUSES as EVENTS_STATUSES, LIMITS } from '@starminer/events';
import { FINAL_JOB_STATUSES, JOB_STATUSES, newIdempotencyKey, SDK_LIMITS, SDK_VERSION } from './index';

// The SDK is a package of its own and cannot import the catalogue; what it mirrors is checked here.
describe('what the SDK mirrors of the gateway', () => {
  it('pages: the same largest and default page size', () => {
    expect(SDK_LIMITS.pageSizeMax).toBe(LIMITS.pageSizeMax);
    expect(SDK_LIMITS.pageSizeDefault).toBe(LIMITS.pageSizeDefault);
  });

  it('idempotency keys: the same length bound, and the keys it makes keep it', () => {
    expect(SDK_LIMITS.idempotencyKeyCharsMax).toBe(LIMITS.idempotencyKeyLengthMax);
    const key = newIdempotencyKey();
    expect(key.length).toBeLessThanOrEqual(SDK_LIMITS.idempotencyKeyCharsMax);
    expect(key).toMatch(/^[\x21-\x7e]+$/);
    expect(newIdempotencyKey()).not.toBe(key);
  });

  it('job statuses: the same vocabulary, the same final ones', () => {
    expect([...JOB_STATUSES]).toEqual([...EVENTS_STATUSES]);
    expect([...FINAL_JOB_STATUSES].sort()).toEqual([...EVENTS_FINAL].sort());
  });

  it('SDK_VERSION is the package version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')) as { version: string };
    expect(SDK_VERSION).toBe(pkg.version);
  });
});
