/** The header a vault trigger URL's call carries: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. */
export const VAULT_TRIGGER_SIGNATURE_HEADER = 'starminer-signature';

function hexOf(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The signature header of one call of a vault's trigger URL: HMAC-SHA256 over `"<t>.<body>"` with
 * the vault's trigger secret (createVault answered it once), `t` now. The gateway refuses a `t`
 * too far from its clock, so sign each call when it is sent. WebCrypto only (browsers, Node 20+).
 */
export async function signVaultTrigger(p: { secret: string; body: string; nowSec?: number }): Promise<string> {
  if (typeof p.secret !== 'string' || p.secret.length === 0) throw new TypeError('signVaultTrigger needs the vault trigger secret');
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('signVaultTrigger needs WebCrypto (globalThis.crypto.subtle): a browser in a secure context, or Node 20+');
  const t = p.nowSec ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(t) || t < 0) throw new TypeError(`signVaultTrigger: nowSec must be a non-negative integer, got ${String(t)}`);
  const encoder = new TextEncoder();
  const key = await subtle.importKey('raw', encoder.encode(p.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return `t=${t},v1=${hexOf(await subtle.sign('HMAC', key, encoder.encode(`${t}.${p.body}`)))}`;
}
