import { checkNodeSessionToken, nodeSessionOf, nodeSessionSecretSchema, nodeSessionToken } from './node-sessions';

const DEPLOYMENT = { chainId: 1, escrow: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' };

const SECRET = Buffer.from('unit-spec-secret-of-at-least-32-bytes');
const ADDRESS = '0xAbCdEf0123456789aBcDeF0123456789AbCdEf01';
const AT_SEC = 1_800_000_000;

describe('node session tokens', () => {
  it('a token checks until its expiry (exclusive), and names the address in lower case', () => {
    const token = nodeSessionToken(SECRET, DEPLOYMENT, ADDRESS, AT_SEC);
    expect(token.startsWith(`v1.${ADDRESS.toLowerCase()}.${AT_SEC}.`)).toBe(true);
    expect(checkNodeSessionToken(SECRET, DEPLOYMENT, token, AT_SEC * 1000 - 1)).toEqual({ ok: true, nodeAddress: ADDRESS.toLowerCase(), expiresAtSec: AT_SEC });
    expect(checkNodeSessionToken(SECRET, DEPLOYMENT, token, AT_SEC * 1000)).toMatchObject({ ok: false, code: 'NODE_SESSION_EXPIRED' });
  });

  it('the MAC is checked before the expiry: an expired token of another secret is INVALID, not EXPIRED', () => {
    const token = nodeSessionToken(Buffer.from('another-secret-of-at-least-32-bytes!!'), DEPLOYMENT, ADDRESS, AT_SEC);
    expect(checkNodeSessionToken(SECRET, DEPLOYMENT, token, (AT_SEC + 10) * 1000)).toMatchObject({ ok: false, code: 'NODE_SESSION_INVALID' });
    // another deployment on the same chain (another escrow), even under the same secret
    const elsewhere = nodeSessionToken(SECRET, { ...DEPLOYMENT, escrow: '0x0000000000000000000000000000000000000001' }, ADDRESS, AT_SEC);
    expect(checkNodeSessionToken(SECRET, DEPLOYMENT, elsewhere, 0)).toMatchObject({ ok: false, code: 'NODE_SESSION_INVALID' });
  });

  it.each([
    ['upper-case address (tokens are issued lower case)', (t: string) => t.replace(ADDRESS.toLowerCase(), ADDRESS)],
    ['another version', (t: string) => t.replace(/^v1\./, 'v2.')],
    ['a padded MAC', (t: string) => `${t}=`],
    ['a leading zero on the expiry', (t: string) => t.replace(`.${AT_SEC}.`, `.0${AT_SEC}.`)],
    ['an extra field', (t: string) => `${t}.x`],
    ['empty', () => ''],
  ])('refuses %s: INVALID', (_what, alter) => {
    expect(checkNodeSessionToken(SECRET, DEPLOYMENT, alter(nodeSessionToken(SECRET, DEPLOYMENT, ADDRESS, AT_SEC)), 0)).toMatchObject({ ok: false, code: 'NODE_SESSION_INVALID' });
  });

  it('reads Authorization: NodeSession <token>, leaves other schemes to the signed path, and flags the scheme without a token', () => {
    expect(nodeSessionOf('NodeSession v1.abc')).toBe('v1.abc');
    expect(nodeSessionOf('NodeSession   v1.abc  ')).toBe('v1.abc');
    expect(nodeSessionOf(undefined)).toBeUndefined();
    expect(nodeSessionOf('Bearer sm_x')).toBeUndefined();
    expect(nodeSessionOf('NodeSessions x')).toBeUndefined();
    expect(nodeSessionOf(['NodeSession a', 'NodeSession b'])).toBeUndefined();
    expect(nodeSessionOf('NodeSession')).toBeNull();
    expect(nodeSessionOf('NodeSession \u00e9')).toBeNull();
  });

  it('NODE_SESSION_SECRET: at least 32 bytes', () => {
    expect(nodeSessionSecretSchema.safeParse('x'.repeat(31)).success).toBe(false);
    expect(nodeSessionSecretSchema.safeParse('x'.repeat(32)).success).toBe(true);
  });
});
