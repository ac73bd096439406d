import { createHash } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { attestationNonceFor, AttestationVerifiers, reportHashOf } from './attestation';
import { NVIDIA_NRAS_FORMAT, NVIDIA_NRAS_ISSUER, NvidiaNrasVerifier } from './nvidia-nras';

/**
 * NRAS's detached EAT, made here with a key of our own in NRAS's place (a real token needs a GPU
 * in confidential-computing mode and NVIDIA's service; the H200 in ../shared/data/gpu has CC off).
 * The format, the claims and ES384 are NVIDIA's; jose checks the signatures.
 */
const NOW_SEC = 1_790_000_000;
const nonce = attestationNonceFor('job-attested-1');

type Claims = Record<string, unknown>;
const gpuClaims = (over: Claims = {}): Claims => ({
  'x-nvidia-gpu-arch-check': true,
  measres: 'success',
  secboot: true,
  dbgstat: 'disabled',
  hwmodel: 'GH100 A01 GSP BROM',
  'x-nvidia-gpu-driver-version': '580.159.04',
  eat_nonce: nonce,
  ...over,
});

let nras: { privateKey: CryptoKey; jwk: JWK };
let stranger: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('ES384', { extractable: true });
  nras = { privateKey: pair.privateKey as CryptoKey, jwk: { ...(await exportJWK(pair.publicKey)), kid: 'nras-1', alg: 'ES384' } };
  stranger = (await generateKeyPair('ES384')).privateKey as CryptoKey;
});

const sign = (claims: Claims, key: CryptoKey = nras.privateKey, { expSec = NOW_SEC + 3600, alg = 'ES384' } = {}) =>
  new SignJWT(claims).setProtectedHeader({ alg, kid: 'nras-1' }).setIssuer(NVIDIA_NRAS_ISSUER).setIssuedAt(NOW_SEC - 10).setExpirationTime(expSec).sign(key);

const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

async function report({ gpus = [gpuClaims()], overall = {}, key, expSec, tamper }: { gpus?: Claims[]; overall?: Claims; key?: CryptoKey; expSec?: number; tamper?: (devices: Record<string, string>) => void } = {}) {
  const devices: Record<string, string> = {};
  for (const [i, claims] of gpus.entries()) devices[`GPU-${i}`] = await sign(claims, key, { expSec });
  const submods = Object.fromEntries(Object.entries(devices).map(([id, token]) => [id, ['DIGEST', ['SHA256', sha256Hex(token)]]]));
  const top = await sign({ 'x-nvidia-ver': '3.0', 'x-nvidia-overall-att-result': true, sub: 'NVIDIA-PLATFORM-ATTESTATION', eat_nonce: nonce, submods, ...overall }, key, { expSec });
  tamper?.(devices);
  return JSON.stringify([['JWT', top], devices]);
}

const verifier = () => new NvidiaNrasVerifier({ keys: createLocalJWKSet({ keys: [nras.jwk] }) });
const check = async (r: string, nonceHex = nonce) => verifier().verify(r, { nonceHex, nowSec: NOW_SEC });

describe('NvidiaNrasVerifier', () => {
  it('given an NRAS token for two GPUs that passed, bound to the job\'s nonce, then it is verified, with each device and the report\'s hash', async () => {
    const r = await report({ gpus: [gpuClaims(), gpuClaims({ hwmodel: 'GH100 A01 GSP BROM' })] });
    expect(await check(r)).toEqual({
      verdict: 'verified',
      format: NVIDIA_NRAS_FORMAT,
      reportHash: reportHashOf(r),
      devices: [
        { id: 'GPU-0', hwModel: 'GH100 A01 GSP BROM', driverVersion: '580.159.04' },
        { id: 'GPU-1', hwModel: 'GH100 A01 GSP BROM', driverVersion: '580.159.04' },
      ],
    });
  });

  it.each<[string, string, () => Promise<string>, RegExp]>([
    ['another job\'s nonce', 'ATTESTATION_NONCE_MISMATCH', async () => report(), /eat_nonce is not the job's nonce/],
    ['a token NRAS did not sign', 'ATTESTATION_SIGNATURE_INVALID', async () => report({ key: stranger }), /overall token/],
    ['an expired token', 'ATTESTATION_EXPIRED', async () => report({ expSec: NOW_SEC - 3600 }), /expired/],
    ['overall result false', 'ATTESTATION_CLAIMS_FAILED', async () => report({ overall: { 'x-nvidia-overall-att-result': false } }), /x-nvidia-overall-att-result/],
    ['a GPU whose measurements failed, in debug mode', 'ATTESTATION_CLAIMS_FAILED', async () => report({ gpus: [gpuClaims({ measres: 'fail', dbgstat: 'enabled' })] }), /GPU-0: measres "fail", dbgstat "enabled"/],
    ['a device token swapped after signing', 'ATTESTATION_SIGNATURE_INVALID', async () => report({ tamper: (d) => void (d['GPU-0'] = d['GPU-0'].replace(/\.[^.]+$/, '.AAAA')) }), /does not match the digest/],
    ['a device token the overall token does not declare', 'ATTESTATION_MALFORMED', async () => report({ tamper: (d) => void (d['GPU-9'] = d['GPU-0']) }), /GPU-9's token is not declared/],
    ['a declared device whose token is missing', 'ATTESTATION_MALFORMED', async () => report({ tamper: (d) => void delete d['GPU-0'] }), /GPU-0 is declared in submods but its token is missing/],
    ['not JSON', 'ATTESTATION_MALFORMED', async () => 'eyJ.not.json', /not JSON/],
    ['another shape', 'ATTESTATION_MALFORMED', async () => JSON.stringify({ token: 'x' }), /not \[\["JWT"/],
  ])('given %s, then it is rejected with %s', async (what, code, make, reason) => {
    const r = await make();
    const verdict = await check(r, what === 'another job\'s nonce' ? attestationNonceFor('job-other') : nonce);
    expect(verdict).toMatchObject({ verdict: 'rejected', format: NVIDIA_NRAS_FORMAT, reportHash: reportHashOf(r), code });
    expect(verdict.verdict === 'rejected' && verdict.reason).toMatch(reason);
  });

  it('given a token signed with a shared secret (alg HS256) instead of ES384, then it is rejected: only NRAS\'s algorithm counts', async () => {
    const secret = new TextEncoder().encode('x'.repeat(32));
    const top = await new SignJWT({ 'x-nvidia-overall-att-result': true, eat_nonce: nonce, submods: {} }).setProtectedHeader({ alg: 'HS256' }).setIssuer(NVIDIA_NRAS_ISSUER).setIssuedAt().setExpirationTime('1h').sign(secret);
    expect(await check(JSON.stringify([['JWT', top], {}]))).toMatchObject({ verdict: 'rejected', code: 'ATTESTATION_SIGNATURE_INVALID' });
  });
});

describe('AttestationVerifiers', () => {
  it('routes a report to the verifier of its format, and rejects a format it has no verifier for, still recording the report\'s hash', async () => {
    const verifiers = new AttestationVerifiers([verifier()]);
    const r = await report();
    await expect(verifiers.verify({ format: NVIDIA_NRAS_FORMAT, report: r }, { nonceHex: nonce, nowSec: NOW_SEC })).resolves.toMatchObject({ verdict: 'verified' });
    await expect(verifiers.verify({ format: 'amd-sev-snp', report: 'AAAA' }, { nonceHex: nonce, nowSec: NOW_SEC })).resolves.toEqual({
      verdict: 'rejected',
      format: 'amd-sev-snp',
      reportHash: reportHashOf('AAAA'),
      code: 'ATTESTATION_FORMAT_UNKNOWN',
      reason: 'no verifier for format "amd-sev-snp"; known: nvidia-nras-eat',
    });
  });

  it('rejects a report over the length limit without parsing it', async () => {
    const verdict = await new AttestationVerifiers([verifier()]).verify({ format: NVIDIA_NRAS_FORMAT, report: 'x'.repeat(256 * 1024 + 1) }, { nonceHex: nonce, nowSec: NOW_SEC });
    expect(verdict).toMatchObject({ verdict: 'rejected', code: 'ATTESTATION_MALFORMED' });
  });

  it('binds a nonce to one job', () => {
    expect(attestationNonceFor('job-a')).toMatch(/^[0-9a-f]{64}$/);
    expect(attestationNonceFor('job-a')).not.toBe(attestationNonceFor('job-b'));
  });
});
