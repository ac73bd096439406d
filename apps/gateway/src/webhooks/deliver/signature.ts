import { createHmac, randomBytes } from 'node:crypto';

/** A new signing secret: `whsec_` + 32 random bytes, base64url (WEBHOOK_SECRET_PATTERN). */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

/** hex HMAC-SHA256 of `"<t>.<body>"` under the secret: what `v1=` carries. */
export function webhookSignatureV1(secret: string, timestampSec: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSec}.${body}`, 'utf8').digest('hex');
}

/**
 * The `starminer-signature` header of one attempt: `t=<unix seconds>,v1=<hex>`. The timestamp is
 * signed with the body, so a receiver that checks it against its clock refuses a captured
 * delivery replayed later; each attempt is signed anew with its own time.
 */
export function webhookSignatureHeader(secret: string, timestampSec: number, body: string): string {
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) throw new RangeError('timestampSec must be a non-negative integer');
  return `t=${timestampSec},v1=${webhookSignatureV1(secret, timestampSec, body)}`;
}
