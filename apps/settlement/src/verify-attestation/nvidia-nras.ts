import { createHash } from 'node:crypto';
import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AttestationUnavailableError, reportHashOf, type AttestationExpectation, type AttestationRejection, type AttestationVerdict, type AttestationVerifier, type AttestedDevice } from './attestation';

/**
 * NVIDIA's GPU attestation result as its Remote Attestation Service (NRAS) issues it: a detached
 * EAT (Entity Attestation Token), the JSON `[["JWT", <overall token>], {"GPU-0": <token>, ...}]`.
 * Each token is an ES384 JWT signed by a key NRAS publishes at `/.well-known/jwks.json`. The
 * overall token says whether attestation passed (`x-nvidia-overall-att-result`), echoes the nonce
 * (`eat_nonce`) and names each device's token by its SHA-256 (`submods`); each device token says
 * what was measured (`measres`, `x-nvidia-gpu-arch-check`, `secboot`, `dbgstat`, `hwmodel`).
 * Claims as in NVIDIA's claims guide (version 3.0); signatures are checked by `jose`.
 */
export const NVIDIA_NRAS_FORMAT = 'nvidia-nras-eat';
export const NVIDIA_NRAS_ISSUER = 'https://nras.attestation.nvidia.com';
/** NRAS's published keys (the verifier fetches and caches them where the network allows). */
export const NVIDIA_NRAS_JWKS_URL = `${NVIDIA_NRAS_ISSUER}/.well-known/jwks.json`;
/** Devices in one report: a node has at most 16 GPUs (LIMITS.gpusPerNodeMax), and NVSwitches besides. */
const DEVICES_MAX = 32;

class Rejected extends Error {
  constructor(
    readonly code: AttestationRejection,
    message: string,
  ) {
    super(message);
  }
}

export interface NvidiaNrasOptions {
  /** NRAS's signing keys: `createRemoteJWKSet(new URL(NVIDIA_NRAS_JWKS_URL))` in production, a local set where there is no network. */
  readonly keys: JWTVerifyGetKey;
  readonly issuer?: string;
  /** Clock skew allowed on `exp`/`nbf`/`iat`, seconds. */
  readonly clockToleranceSec?: number;
}

export class NvidiaNrasVerifier implements AttestationVerifier {
  readonly format = NVIDIA_NRAS_FORMAT;
  private readonly keys: JWTVerifyGetKey;

  constructor(private readonly options: NvidiaNrasOptions) {
    // a token whose key NRAS does not publish is a bad signature; keys that cannot be had now
    // (the JWKS fetch timed out, failed, or came back unreadable) decide nothing
    this.keys = async (header, token) => {
      try {
        return await options.keys(header, token);
      } catch (err) {
        if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys || err instanceof joseErrors.JOSENotSupported) throw err;
        throw new AttestationUnavailableError(`NRAS's signing keys could not be had: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      }
    };
  }

  async verify(report: string, expected: AttestationExpectation): Promise<AttestationVerdict> {
    const reportHash = reportHashOf(report);
    try {
      const devices = await this.check(report, expected);
      return { verdict: 'verified', format: this.format, reportHash, devices };
    } catch (err) {
      if (err instanceof Rejected) return { verdict: 'rejected', format: this.format, reportHash, code: err.code, reason: err.message };
      throw err;
    }
  }

  private async check(report: string, expected: AttestationExpectation): Promise<AttestedDevice[]> {
    const { overall, devices } = parseDetachedEat(report);
    const claims = await this.verifyToken(overall, 'the overall token', expected);
    if (claims['x-nvidia-overall-att-result'] !== true) throw new Rejected('ATTESTATION_CLAIMS_FAILED', 'x-nvidia-overall-att-result is not true');
    const submods = claims.submods;
    if (typeof submods !== 'object' || submods === null || Array.isArray(submods)) throw new Rejected('ATTESTATION_MALFORMED', 'the overall token has no submods');
    const declared = Object.entries(submods as Record<string, unknown>);
    if (declared.length === 0 || declared.length > DEVICES_MAX) throw new Rejected('ATTESTATION_MALFORMED', `the overall token declares ${declared.length} devices (1 to ${DEVICES_MAX})`);
    const attested: AttestedDevice[] = [];
    for (const [id, digest] of declared) {
      const token = devices.get(id);
      if (token === undefined) throw new Rejected('ATTESTATION_MALFORMED', `${id} is declared in submods but its token is missing`);
      const want = submodDigest(digest);
      if (!want) throw new Rejected('ATTESTATION_MALFORMED', `${id}'s submods entry is not ["DIGEST", ["SHA256", <hex>]]`);
      if (createHash('sha256').update(token).digest('hex') !== want) throw new Rejected('ATTESTATION_SIGNATURE_INVALID', `${id}'s token does not match the digest the overall token signed`);
      const device = await this.verifyToken(token, id, expected);
      const failed = [
        device.measres !== 'success' && `measres ${JSON.stringify(device.measres)}`,
        device['x-nvidia-gpu-arch-check'] !== true && 'x-nvidia-gpu-arch-check is not true',
        device.secboot !== true && 'secboot is not true',
        device.dbgstat !== 'disabled' && `dbgstat ${JSON.stringify(device.dbgstat)}`,
      ].filter((f): f is string => typeof f === 'string');
      if (failed.length > 0) throw new Rejected('ATTESTATION_CLAIMS_FAILED', `${id}: ${failed.join(', ')}`);
      attested.push({
        id,
        ...(typeof device.hwmodel === 'string' ? { hwModel: device.hwmodel } : {}),
        ...(typeof device['x-nvidia-gpu-driver-version'] === 'string' ? { driverVersion: device['x-nvidia-gpu-driver-version'] } : {}),
      });
    }
    for (const id of devices.keys()) if (!(id in (submods as object))) throw new Rejected('ATTESTATION_MALFORMED', `${id}'s token is not declared in the overall token's submods`);
    return attested;
  }

  private async verifyToken(token: string, what: string, expected: AttestationExpectation): Promise<JWTPayload & Record<string, unknown>> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        algorithms: ['ES384'],
        issuer: this.options.issuer ?? NVIDIA_NRAS_ISSUER,
        currentDate: new Date(expected.nowSec * 1000),
        clockTolerance: this.options.clockToleranceSec ?? 60,
        requiredClaims: ['exp', 'iat'],
      }));
    } catch (err) {
      if (err instanceof AttestationUnavailableError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new Rejected('ATTESTATION_EXPIRED', `${what} expired`);
      if (err instanceof joseErrors.JOSEError) {
        const code = err instanceof joseErrors.JWTClaimValidationFailed || err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JWSInvalid ? 'ATTESTATION_MALFORMED' : 'ATTESTATION_SIGNATURE_INVALID';
        throw new Rejected(code, `${what}: ${err.code} ${err.message}`);
      }
      throw err;
    }
    if (typeof payload.eat_nonce !== 'string' || payload.eat_nonce.toLowerCase() !== expected.nonceHex.toLowerCase()) throw new Rejected('ATTESTATION_NONCE_MISMATCH', `${what}'s eat_nonce is not the job's nonce`);
    return payload as JWTPayload & Record<string, unknown>;
  }
}

/** `[["JWT", overall], { id: token }]`, shape-checked. */
function parseDetachedEat(report: string): { overall: string; devices: Map<string, string> } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(report);
  } catch {
    throw new Rejected('ATTESTATION_MALFORMED', 'the report is not JSON');
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw new Rejected('ATTESTATION_MALFORMED', 'the report is not [["JWT", <token>], {<device>: <token>}]');
  const [head, tail] = parsed as [unknown, unknown];
  if (!Array.isArray(head) || head.length !== 2 || head[0] !== 'JWT' || typeof head[1] !== 'string') throw new Rejected('ATTESTATION_MALFORMED', 'the report\'s first element is not ["JWT", <token>]');
  if (typeof tail !== 'object' || tail === null || Array.isArray(tail)) throw new Rejected('ATTESTATION_MALFORMED', 'the report\'s second element is not an object of device tokens');
  const entries = Object.entries(tail as Record<string, unknown>);
  if (entries.length > DEVICES_MAX) throw new Rejected('ATTESTATION_MALFORMED', `the report has ${entries.length} device tokens, over ${DEVICES_MAX}`);
  const devices = new Map<string, string>();
  for (const [id, token] of entries) {
    if (typeof token !== 'string') throw new Rejected('ATTESTATION_MALFORMED', `${id}'s token is not a string`);
    devices.set(id, token);
  }
  return { overall: head[1], devices };
}

function submodDigest(entry: unknown): string | undefined {
  if (!Array.isArray(entry) || entry[0] !== 'DIGEST' || !Array.isArray(entry[1])) return undefined;
  const [alg, hex] = entry[1] as unknown[];
  return alg === 'SHA256' && typeof hex === 'string' && /^[0-9a-fA-F]{64}$/.test(hex) ? hex.toLowerCase() : undefined;
}
