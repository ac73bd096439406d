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

  it("watchJob's idle limit: at least twice the longest heartbeat period the gateway may be configured with", () => {
    // read from the gateway's source (a library may not import an app): JOB_EVENTS_HEARTBEAT_SEC_MAX
    const limits = readFileSync(join(__dirname, '../../../apps/gateway/src/job-events/job-events-limits.ts'), 'utf8');
    const m = /export const JOB_EVENTS_HEARTBEAT_SEC_MAX = ([0-9_]+);/.exec(limits);
    expect(m).not.toBeNull();
    const heartbeatSecMax = Number(m![1].replace(/_/g, ''));
    expect(heartbeatSecMax).toBeGreaterThan(0);
    expect(SDK_LIMITS.watchStreamIdleMsMax).toBeGreaterThanOrEqual(2 * heartbeatSecMax * 1000);
    // and past exactly twice: a stream is not dropped for one heartbeat lost and the next a moment late
    expect(SDK_LIMITS.watchStreamIdleMsMax).toBeGreaterThan(2 * heartbeatSecMax * 1000);
  });

  it('SDK_VERSION is the package version', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')) as { version: string };
    expect(SDK_VERSION).toBe(pkg.version);
  });
});
