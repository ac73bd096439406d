import { createHash } from 'node:crypto';
import { LIMITS } from '@starminer/events';

export { attestationNonceFor } from '@starminer/domain';

/**
 * Verifying work done in a trusted execution environment (issue 17, part 5): a provider submits
 * its TEE's attestation report with the result; settlement records the report's hash and a
 * verifier's verdict. Every format sits behind this one interface, so a new one (an AMD SEV-SNP
 * report, an Intel TDX quote) is a new verifier, never a change to settlement.
 */
export interface AttestationEvidence {
  /** Which verifier reads `report`, e.g. `nvidia-nras-eat`. */
  readonly format: string;
  /** The report as the TEE's tooling printed it (text: a token, JSON, or base64 of a binary report). */
  readonly report: string;
}

/** What settlement records: the report's hash always, the verdict and, when verified, what was attested. */
export type AttestationVerdict =
  | { readonly verdict: 'verified'; readonly format: string; readonly reportHash: `0x${string}`; readonly devices: readonly AttestedDevice[] }
  | { readonly verdict: 'rejected'; readonly format: string; readonly reportHash: `0x${string}`; readonly code: AttestationRejection; readonly reason: string };

export interface AttestedDevice {
  /** The device's name in the report (e.g. `GPU-0`). */
  readonly id: string;
  readonly hwModel?: string;
  readonly driverVersion?: string;
}

export type AttestationRejection =
  | 'ATTESTATION_FORMAT_UNKNOWN'
  | 'ATTESTATION_MALFORMED'
  | 'ATTESTATION_SIGNATURE_INVALID'
  | 'ATTESTATION_NONCE_MISMATCH'
  | 'ATTESTATION_EXPIRED'
  | 'ATTESTATION_CLAIMS_FAILED';

/** What the report must be bound to: the nonce the job asked for, and the time it is checked at. */
export interface AttestationExpectation {
  readonly nonceHex: string;
  readonly nowSec: number;
}

export interface AttestationVerifier {
  readonly format: string;
  /** Never throws for a bad report: a bad report is a `rejected` verdict with its code. Throws AttestationUnavailableError when it cannot decide now. */
  verify(report: string, expected: AttestationExpectation): Promise<AttestationVerdict>;
}

export const reportHashOf = (report: string): `0x${string}` => `0x${createHash('sha256').update(report).digest('hex')}`;

/**
 * The verifier could not decide now: what it needs from outside (an attestation service's keys)
 * did not come in time. Nothing is decided; the same report sent again is verified again.
 */
export class AttestationUnavailableError extends Error {
  override readonly name = 'AttestationUnavailableError';
}

/** The verifiers settlement knows, by format. */
export class AttestationVerifiers {
  private readonly byFormat: ReadonlyMap<string, AttestationVerifier>;

  constructor(verifiers: readonly AttestationVerifier[]) {
    this.byFormat = new Map(verifiers.map((v) => [v.format, v]));
  }

  get formats(): readonly string[] {
    return [...this.byFormat.keys()];
  }

  async verify(evidence: AttestationEvidence, expected: AttestationExpectation): Promise<AttestationVerdict> {
    const reportHash = reportHashOf(evidence.report);
    const verifier = this.byFormat.get(evidence.format);
    if (!verifier)
      return { verdict: 'rejected', format: evidence.format, reportHash, code: 'ATTESTATION_FORMAT_UNKNOWN', reason: `no verifier for format ${JSON.stringify(evidence.format.slice(0, 64))}; known: ${this.formats.join(', ')}` };
    if (evidence.report.length > LIMITS.attestationReportLengthMax)
      return { verdict: 'rejected', format: evidence.format, reportHash, code: 'ATTESTATION_MALFORMED', reason: `report is ${evidence.report.length} characters, over ${LIMITS.attestationReportLengthMax}` };
    return verifier.verify(evidence.report, expected);
  }
}
