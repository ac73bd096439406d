import { createHash } from 'node:crypto';
import { uuidv7 } from 'uuidv7';

/** Domain separation: no other hash of the gateway's over the same strings yields these bytes (a job id included). */
const VAULT_ID_DOMAIN = 'starminer/gateway/vault-id/v1';

/** The vault id of an org's request with an Idempotency-Key: every attempt, on any gateway, names the same vault. */
export function vaultIdFor(orgId: string, idempotencyKey: string): string {
  const hash = createHash('sha256');
  for (const part of [VAULT_ID_DOMAIN, orgId, idempotencyKey]) {
    const bytes = Buffer.from(part, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  return `vault_${hash.digest('hex').slice(0, 32)}`;
}

/** The vault id of a request: derived from its Idempotency-Key, or without one minted here, once per request. */
export const vaultIdOf = (orgId: string, idempotencyKey: string | undefined): string => (idempotencyKey === undefined ? `vault_${uuidv7().replaceAll('-', '')}` : vaultIdFor(orgId, idempotencyKey));
