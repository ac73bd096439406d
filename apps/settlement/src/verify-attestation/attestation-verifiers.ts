import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { LIMITS, truncateText } from '@starminer/events';
import type { AttestationRecord } from '@starminer/domain';
import { AttestationVerifiers, type AttestationVerdict } from './attestation';
import { NvidiaNrasVerifier } from './nvidia-nras';

/** How long NRAS's fetched keys are used before they are fetched again (NVIDIA rotates them rarely). */
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
/** A token signed with a key the cached set lacks fetches the set again at most this often. */
export const JWKS_COOLDOWN_MS = 30_000;
/** The default bound on one fetch of the keys: a command waits at most this long for them. */
export const JWKS_TIMEOUT_MS_DEFAULT = 5_000;
/** Keys in a local set (NRAS publishes a few). */
const LOCAL_KEYS_MAX = 64;

export interface AttestationSettings {
  /** Where NRAS publishes its signing keys (fetched with a timeout, cached). */
  readonly ATTESTATION_NRAS_JWKS_URL: string;
  /** A JWKS file used instead of the URL: tests, and operators without a route to NVIDIA. */
  readonly ATTESTATION_JWKS_FILE?: string;
  /** The issuer an NRAS token must name. */
  readonly ATTESTATION_NRAS_ISSUER: string;
  readonly ATTESTATION_JWKS_TIMEOUT_MS: number;
}

export class AttestationConfigError extends Error {
  override readonly name = 'AttestationConfigError';
  readonly code = 'CONFIG_INVALID';
}

const jwksFileSchema = z.object({ keys: z.array(z.looseObject({ kty: z.string() })).min(1).max(LOCAL_KEYS_MAX) });

/** The keys of a JWKS file, read once at boot: a file that is missing or not a key set stops settlement, naming the variable. */
export function localKeysFrom(file: string): JWTVerifyGetKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AttestationConfigError(`ATTESTATION_JWKS_FILE ${file} cannot be read as JSON: ${(err as Error).message}`);
  }
  const set = jwksFileSchema.safeParse(parsed);
  if (!set.success) throw new AttestationConfigError(`ATTESTATION_JWKS_FILE ${file} is not a JWKS ({"keys": [1..${LOCAL_KEYS_MAX} keys]}): ${z.prettifyError(set.error)}`);
  return createLocalJWKSet(set.data as JSONWebKeySet);
}

/**
 * The verifiers settlement knows: NVIDIA's NRAS tokens, checked against the keys of a local file
 * when ATTESTATION_JWKS_FILE is set, else against the keys NRAS publishes, fetched with a timeout
 * and cached (jose's remote set). A new format is one more verifier here.
 */
export function attestationVerifiersFrom(settings: AttestationSettings): AttestationVerifiers {
  const keys = settings.ATTESTATION_JWKS_FILE
    ? localKeysFrom(settings.ATTESTATION_JWKS_FILE)
    : createRemoteJWKSet(new URL(settings.ATTESTATION_NRAS_JWKS_URL), {
        timeoutDuration: settings.ATTESTATION_JWKS_TIMEOUT_MS,
        cooldownDuration: JWKS_COOLDOWN_MS,
        cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
      });
  return new AttestationVerifiers([new NvidiaNrasVerifier({ keys, issuer: settings.ATTESTATION_NRAS_ISSUER })]);
}

/** What ResultSubmitted records of a verdict: the format, the report's hash, the verdict, and a rejection's code and reason. */
export function attestationRecordOf(verdict: AttestationVerdict): AttestationRecord {
  if (verdict.verdict === 'verified') return { format: verdict.format, reportHash: verdict.reportHash, verdict: 'verified' };
  return { format: verdict.format, reportHash: verdict.reportHash, verdict: 'rejected', code: verdict.code, reason: truncateText(verdict.reason, LIMITS.reasonLengthMax) };
}
