import { SDK_LIMITS } from './limits';

/** The headers of a webhook delivery (lower-case, as Node and fetch give them). */
export const WEBHOOK_HEADERS = {
  webhookId: 'starminer-webhook-id',
  deliveryId: 'starminer-delivery-id',
  event: 'starminer-event',
  signature: 'starminer-signature',
} as const;

export interface VerifyWebhookSignatureParams {
  /** The webhook's secret (`whsec_...`), as createWebhook answered it once. */
  secret: string;
  /** The raw body exactly as received (not re-serialised JSON: one changed byte fails the check). */
  body: string | Uint8Array | ArrayBuffer;
  /** The `starminer-signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256>` (several v1 entries allowed). */
  signatureHeader: string | null | undefined;
  /** A timestamp sent apart from the signature header, where a proxy moved it; must agree with `t=` when both are present. */
  timestampHeader?: string | null;
  /**
   * How old (or how far ahead) the signature may be, in seconds (default 300): a captured delivery
   * replays only that long. A finite number, at least 0 (anything else throws a TypeError).
   */
  toleranceSec?: number;
  /** Now, in unix seconds (default the clock's): a finite number, at least 0 (anything else throws a TypeError). */
  nowSec?: number;
}

const HEX_64 = /^[0-9a-f]{64}$/i;
const UNIX_SEC = /^[0-9]{1,12}$/;

/**
 * Whether a webhook delivery was signed with `secret`: HMAC-SHA256 over `"<t>.<raw body>"` (key:
 * the secret's UTF-8 bytes), compared in constant time by WebCrypto, and `t` within `toleranceSec`
 * of now. False for a missing or malformed header; never throws for what a sender controls (it
 * throws a TypeError for a receiver's misconfiguration: no secret, a toleranceSec or nowSec that is
 * not a finite number at least 0).
 * Works in browsers, Node 20+, Deno, Bun and edge runtimes (`globalThis.crypto.subtle`).
 */
export async function verifyWebhookSignature(params: VerifyWebhookSignatureParams): Promise<boolean> {
  const { secret, body, signatureHeader } = params;
  if (typeof secret !== 'string' || secret.length === 0) throw new TypeError('verifyWebhookSignature needs the webhook secret');
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('verifyWebhookSignature needs WebCrypto (globalThis.crypto.subtle): a browser in a secure context, or Node 20+');
  // the receiver's settings, not the sender's: a NaN here would make every timestamp pass (any
  // comparison with NaN is false) and replay protection would be gone without a word
  const nowSec = params.nowSec ?? Math.floor(Date.now() / 1000);
  const toleranceSec = params.toleranceSec ?? SDK_LIMITS.webhookToleranceSecDefault;
  if (!isNonNegativeFinite(toleranceSec)) throw new TypeError(`verifyWebhookSignature: toleranceSec must be a finite number of seconds, at least 0, got ${String(toleranceSec)}`);
  if (!isNonNegativeFinite(nowSec)) throw new TypeError(`verifyWebhookSignature: nowSec must be a finite unix time in seconds, at least 0, got ${String(nowSec)}`);
  if (typeof signatureHeader !== 'string' || signatureHeader.length > SDK_LIMITS.webhookSignatureHeaderCharsMax) return false;

  let t: string | undefined;
  const signatures: string[] = [];
  for (const part of signatureHeader.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') t = value;
    else if (key === 'v1' && HEX_64.test(value)) signatures.push(value.toLowerCase());
  }
  const separate = params.timestampHeader?.trim();
  if (t !== undefined && separate && separate !== t) return false;
  t ??= separate;
  if (t === undefined || !UNIX_SEC.test(t) || signatures.length === 0) return false;

  if (!(Math.abs(nowSec - Number(t)) <= toleranceSec)) return false;

  const encoder = new TextEncoder();
  const bodyBytes = typeof body === 'string' ? encoder.encode(body) : body instanceof Uint8Array ? body : new Uint8Array(body);
  const prefix = encoder.encode(`${t}.`);
  const signed = new Uint8Array(prefix.length + bodyBytes.length);
  signed.set(prefix, 0);
  signed.set(bodyBytes, prefix.length);
  const key = await subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  for (const hex of signatures) {
    if (await subtle.verify('HMAC', key, bytesOfHex(hex), signed)) return true;
  }
  return false;
}

const isNonNegativeFinite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;

function bytesOfHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
