import { createHash } from 'node:crypto';
import { uuidv7 } from 'uuidv7';

/** Domain separation: no other hash of the gateway's over the same strings yields these bytes. */
const JOB_ID_DOMAIN = 'starminer/gateway/job-id/v1';

/**
 * The job id of an org's request with an Idempotency-Key: the first 16 bytes of SHA-256 over the
 * domain, the org and the key, each length-prefixed (so no two (org, key) pairs share an encoding),
 * shaped as an RFC 9562 UUID version 8 (custom). Every attempt of the request, on any gateway and
 * after any crash, names the same job, so intake finds the first one instead of making a second.
 */
export function jobIdFor(orgId: string, idempotencyKey: string): string {
  const hash = createHash('sha256');
  for (const part of [JOB_ID_DOMAIN, orgId, idempotencyKey]) {
    const bytes = Buffer.from(part, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  const b = hash.digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x80; // version 8
  b[8] = (b[8] & 0x3f) | 0x80; // variant 10
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The job id of a request: derived from its Idempotency-Key, or without one minted here, once per request. */
export const jobIdOf = (orgId: string, idempotencyKey: string | undefined): string => (idempotencyKey === undefined ? uuidv7() : jobIdFor(orgId, idempotencyKey));
