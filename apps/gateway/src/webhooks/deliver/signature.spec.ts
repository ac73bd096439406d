import { createHmac, timingSafeEqual } from 'node:crypto';
import { WEBHOOK_SECRET_PATTERN } from '@starminer/events';
import { newWebhookSecret, webhookSignatureHeader } from './signature';

/** A receiver's check, written from the wire format alone (the SDK's verifier is another implementation of it). */
function verifies(secret: string, body: string, header: string): boolean {
  const m = /^t=([0-9]+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2], 'hex'));
}

describe('the webhook signature', () => {
  const body = JSON.stringify({ deliveryId: 'dlv_1', webhookId: 'wh_1', event: { type: 'job.queued', note: 'ünïcödé' } });

  it('given a secret, a time and a body, then the header is t=<seconds>,v1=<hex HMAC-SHA256 of "t.body">', () => {
    // a fixed vector, so a change of the format shows here and not only at a receiver
    expect(webhookSignatureHeader('whsec_test', 1_700_000_000, '{"a":1}')).toBe(
      `t=1700000000,v1=${createHmac('sha256', 'whsec_test').update('1700000000.{"a":1}').digest('hex')}`,
    );
    expect(webhookSignatureHeader('whsec_test', 1_700_000_000, '{"a":1}')).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
  });

  it('given the header, then a receiver with the secret verifies it over the raw body (utf-8 included)', () => {
    const secret = newWebhookSecret();
    expect(verifies(secret, body, webhookSignatureHeader(secret, 1_800_000_000, body))).toBe(true);
  });

  it('given another secret, another body or another time, then it does not verify', () => {
    const secret = newWebhookSecret();
    const header = webhookSignatureHeader(secret, 1_800_000_000, body);
    expect(verifies(newWebhookSecret(), body, header)).toBe(false);
    expect(verifies(secret, body.replace('queued', 'settled'), header)).toBe(false);
    expect(verifies(secret, body, header.replace('t=1800000000', 't=1800000001'))).toBe(false);
  });

  it('given a time that is not a whole non-negative number of seconds, then it refuses to sign', () => {
    expect(() => webhookSignatureHeader('whsec_x', 1.5, body)).toThrow(RangeError);
    expect(() => webhookSignatureHeader('whsec_x', -1, body)).toThrow(RangeError);
  });

  it('new secrets are whsec_ and 32 random bytes as base64url, never twice the same', () => {
    const a = newWebhookSecret();
    const b = newWebhookSecret();
    expect(a).toMatch(WEBHOOK_SECRET_PATTERN);
    expect(Buffer.from(a.slice('whsec_'.length), 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
  });
});
