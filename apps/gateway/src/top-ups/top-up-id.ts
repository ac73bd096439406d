import { createHash } from 'node:crypto';
import { uuidv7 } from 'uuidv7';
import { TOP_UP_ID_PREFIX } from '@starminer/events';

/** Domain separation: no other hash of the gateway's over the same strings yields these bytes. */
const TOP_UP_ID_DOMAIN = 'starminer/gateway/top-up-id/v1';
export { TOP_UP_ID_PREFIX };

/**
 * The top-up id of an org's request for one job with an Idempotency-Key: 32 hex of SHA-256 over
 * the domain, the org, the job and the key (each length-prefixed), after TOP_UP_ID_PREFIX. Every
 * attempt of the request names the same top-up, which the escrow pays once. Without a key, one is
 * minted once per request.
 */
export function topUpIdOf(orgId: string, jobId: string, idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return `${TOP_UP_ID_PREFIX}${uuidv7().replaceAll('-', '')}`;
  const hash = createHash('sha256');
  for (const part of [TOP_UP_ID_DOMAIN, orgId, jobId, idempotencyKey]) {
    const bytes = Buffer.from(part, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  return `${TOP_UP_ID_PREFIX}${hash.digest('hex').slice(0, 32)}`;
}

/** The top-ups' idempotency records live beside the jobs' under their own prefix: one key may name a job and a top-up. */
export const topUpRecordKey = (key: string): string => `top-up:${key}`;
