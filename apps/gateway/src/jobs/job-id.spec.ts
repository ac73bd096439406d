import { idSchema } from '@starminer/events';
import { jobIdFor, jobIdOf } from './job-id';

describe('the job id of a request', () => {
  it('is derived from the org and the Idempotency-Key: the same on every attempt, a UUID of version 8 that fits the catalogue', () => {
    const id = jobIdFor('org-1', 'key-1');
    expect(jobIdFor('org-1', 'key-1')).toBe(id);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(idSchema.safeParse(id).success).toBe(true);
    expect(jobIdOf('org-1', 'key-1')).toBe(id);
  });

  it('differs for another org, another key, and for the same characters split otherwise between org and key', () => {
    const ids = [jobIdFor('org-1', 'key-1'), jobIdFor('org-2', 'key-1'), jobIdFor('org-1', 'key-2'), jobIdFor('ab', 'c'), jobIdFor('a', 'bc')];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('without a key is minted at the edge, a new one for each request', () => {
    const a = jobIdOf('org-1', undefined);
    expect(jobIdOf('org-1', undefined)).not.toBe(a);
    expect(idSchema.safeParse(a).success).toBe(true);
  });
});
