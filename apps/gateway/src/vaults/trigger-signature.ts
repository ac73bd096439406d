import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new trigger secret: `vtsec_` + 32 random bytes, base64url (VAULT_TRIGGER_SECRET_PATTERN). */
export const newVaultTriggerSecret = (): string => `vtsec_${randomBytes(32).toString('base64url')}`;

/** hex HMAC-SHA256 of `"<t>.<body>"` under the secret: what `v1=` carries (the webhooks' scheme). */
export function vaultTriggerSignatureV1(secret: string, timestampSec: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSec}.${body}`, 'utf8').digest('hex');
}

const HEX_64 = /^[0-9a-f]{64}$/i;
const UNIX_SEC = /^[0-9]{1,12}$/;

/**
 * Whether a trigger URL's call was signed with the vault's secret: `t=<unix seconds>,v1=<hex>`
 * (several v1 allowed, any may match), t within `skewSecMax` of now, compared in constant time.
 * False for anything a caller controls that is wrong; never throws.
 */
export function verifyVaultTriggerSignature(p: { secret: string; header: string | string[] | undefined; body: string; nowSec: number; skewSecMax: number }): boolean {
  if (typeof p.header !== 'string' || p.header.length > 1000) return false;
  let t: number | undefined;
  const v1: string[] = [];
  for (const part of p.header.split(',')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === 't' && v !== undefined && UNIX_SEC.test(v)) t = Number(v);
    else if (k === 'v1' && v !== undefined && HEX_64.test(v)) v1.push(v.toLowerCase());
  }
  if (t === undefined || v1.length === 0 || Math.abs(p.nowSec - t) > p.skewSecMax) return false;
  const expected = Buffer.from(vaultTriggerSignatureV1(p.secret, t, p.body), 'hex');
  return v1.some((sig) => timingSafeEqual(Buffer.from(sig, 'hex'), expected));
}
