import { createHmac, randomBytes } from 'node:crypto';
import { verifyWebhookSignature } from './webhooks';

// signed the way the gateway signs (node:crypto), verified by the SDK's WebCrypto code
const secret = `whsec_${randomBytes(32).toString('base64url')}`;
const body = JSON.stringify({ deliveryId: 'd1', webhookId: 'w1', event: { seq: '7', type: 'job.settled', jobId: 'j1', status: 'settled', note: 'ünïcødé' } });
const t = 1_772_366_400;
const hmac = (key: string, text: string): string => createHmac('sha256', key).update(text, 'utf8').digest('hex');
const header = (sig = hmac(secret, `${t}.${body}`), ts = t): string => `t=${ts},v1=${sig}`;
const verify = (over: Partial<Parameters<typeof verifyWebhookSignature>[0]> = {}) => verifyWebhookSignature({ secret, body, signatureHeader: header(), nowSec: t + 10, ...over });

describe('verifyWebhookSignature', () => {
  it('given a delivery signed with node:crypto HMAC-SHA256 over "<t>.<body>", verifies it (string, bytes or ArrayBuffer body)', async () => {
    await expect(verify()).resolves.toBe(true);
    const bytes = new TextEncoder().encode(body);
    await expect(verify({ body: bytes })).resolves.toBe(true);
    await expect(verify({ body: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) })).resolves.toBe(true);
  });

  it('given several v1 signatures (a secret being rotated), verifies when one matches', async () => {
    await expect(verify({ signatureHeader: `t=${t}, v1=${hmac('whsec_old', `${t}.${body}`)}, v1=${hmac(secret, `${t}.${body}`)}` })).resolves.toBe(true);
  });

  it.each([
    ['another secret', { secret: 'whsec_other' }],
    ['a changed body', { body: body.replace('settled', 'refunded') }],
    ['a re-serialised body', { body: JSON.stringify(JSON.parse(body), null, 1) }],
    ['a changed timestamp', { signatureHeader: header(undefined, t + 1), nowSec: t }],
    ['a signature too old', { nowSec: t + 301 }],
    ['a signature from the future', { nowSec: t - 301 }],
    ['no header', { signatureHeader: undefined }],
    ['no v1', { signatureHeader: `t=${t}` }],
    ['no t', { signatureHeader: `v1=${hmac(secret, `${t}.${body}`)}` }],
    ['a v1 that is not hex', { signatureHeader: `t=${t},v1=${'z'.repeat(64)}` }],
    ['a t that is not a number', { signatureHeader: `t=soon,v1=${hmac(secret, `${t}.${body}`)}` }],
    ['a header past its size limit', { signatureHeader: `${header()},${'x'.repeat(5000)}` }],
    ['a separate timestamp header that disagrees', { timestampHeader: String(t + 5) }],
  ])('given %s, refuses', async (_what, over) => {
    await expect(verify(over)).resolves.toBe(false);
  });

  it('given a wider tolerance, accepts an older signature; with the timestamp in its own header, reads it there', async () => {
    await expect(verify({ nowSec: t + 3600, toleranceSec: 7200 })).resolves.toBe(true);
    await expect(verify({ signatureHeader: `v1=${hmac(secret, `${t}.${body}`)}`, timestampHeader: String(t) })).resolves.toBe(true);
  });

  it.each([
    ['toleranceSec NaN (e.g. Number(process.env.UNSET))', { toleranceSec: NaN }],
    ['toleranceSec Infinity', { toleranceSec: Infinity }],
    ['toleranceSec negative', { toleranceSec: -1 }],
    ['toleranceSec not a number', { toleranceSec: '300' as unknown as number }],
    ['nowSec NaN', { nowSec: NaN }],
    ['nowSec Infinity', { nowSec: -Infinity }],
    ['nowSec negative', { nowSec: -5 }],
  ])('given %s, throws a TypeError rather than accepting a signature of any age', async (_what, over) => {
    // a signature a day old: refused when the settings are sound, and never accepted when they are not
    await expect(verify({ nowSec: t + 86_400 })).resolves.toBe(false);
    await expect(verify({ nowSec: t + 86_400, ...over })).rejects.toThrow(TypeError);
    await expect(verify({ ...over, signatureHeader: undefined })).rejects.toThrow(TypeError);
  });

  it('given toleranceSec 0, accepts only a signature of this very second', async () => {
    await expect(verify({ nowSec: t, toleranceSec: 0 })).resolves.toBe(true);
    await expect(verify({ nowSec: t + 1, toleranceSec: 0 })).resolves.toBe(false);
  });

  it('given no secret, throws: a receiver without its secret is misconfigured, not under attack', async () => {
    await expect(verify({ secret: '' })).rejects.toThrow(TypeError);
  });
});
