import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, type JSONWebKeySet, type JWK } from 'jose';

/** NRAS's format and issuer, as settlement's verifier (apps/settlement/src/verify-attestation/nvidia-nras.ts) names them. */
export const NRAS_FORMAT = 'nvidia-nras-eat';
const NRAS_ISSUER = 'https://nras.attestation.nvidia.com';

/**
 * NVIDIA's Remote Attestation Service played by a key of our own, for specs: it signs detached
 * EATs in NRAS's format and claims (ES384, issuer NRAS's) that settlement checks against this
 * key's JWKS (ATTESTATION_JWKS_FILE). A real token needs a GPU in confidential-computing mode and
 * NVIDIA's service; the H200 in ../shared/data/gpu has CC off. Settlement's specs check that these
 * tokens verify with its NRAS verifier, so the format and issuer here cannot drift from its own.
 */
export interface TestNras {
  /** The public key set settlement is configured with. */
  readonly jwks: JSONWebKeySet;
  /** Writes the key set to `dir` and returns the file's path. */
  writeJwks(dir: string): string;
  /** A report for one GPU that passed, bound to `nonceHex`; `claims` replaces the GPU's claims. */
  report(nonceHex: string, o?: { gpuClaims?: Record<string, unknown>; expiresInSec?: number }): Promise<string>;
}

const KID = 'test-nras-1';

/** A fresh key (made synchronously, so a spec can configure settlement with it before it boots). */
export function testNras(): TestNras {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const jwks: JSONWebKeySet = { keys: [{ ...(pair.publicKey.export({ format: 'jwk' }) as JWK), kid: KID, alg: 'ES384', use: 'sig' }] };
  const sign = (claims: Record<string, unknown>, expiresInSec: number) => {
    const nowSec = Math.floor(Date.now() / 1000);
    return new SignJWT(claims).setProtectedHeader({ alg: 'ES384', kid: KID }).setIssuer(NRAS_ISSUER).setIssuedAt(nowSec - 5).setExpirationTime(nowSec + expiresInSec).sign(pair.privateKey);
  };
  return {
    jwks,
    writeJwks(dir) {
      const file = join(dir, 'test-nras-jwks.json');
      writeFileSync(file, JSON.stringify(jwks));
      return file;
    },
    async report(nonceHex, o = {}) {
      const expiresInSec = o.expiresInSec ?? 3600;
      const gpu = await sign(
        {
          'x-nvidia-gpu-arch-check': true,
          measres: 'success',
          secboot: true,
          dbgstat: 'disabled',
          hwmodel: 'GH100 A01 GSP BROM',
          'x-nvidia-gpu-driver-version': '580.159.04',
          eat_nonce: nonceHex,
          ...o.gpuClaims,
        },
        expiresInSec,
      );
      const digest = createHash('sha256').update(gpu).digest('hex');
      const overall = await sign(
        { 'x-nvidia-ver': '3.0', 'x-nvidia-overall-att-result': true, sub: 'NVIDIA-PLATFORM-ATTESTATION', eat_nonce: nonceHex, submods: { 'GPU-0': ['DIGEST', ['SHA256', digest]] } },
        expiresInSec,
      );
      return JSON.stringify([['JWT', overall], { 'GPU-0': gpu }]);
    },
  };
}
