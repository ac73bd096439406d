import { createHash } from 'node:crypto';
import { LIMITS, truncateText, type EventData } from '@starminer/events';
import type { Verification } from './workloads';

/**
 * TEE attestation as a market rule (issue 17, part 5). A node that runs in a trusted execution
 * environment submits its TEE's report with the result, bound to the job's nonce; settlement
 * verifies it and records what it found (`AttestationRecord`) on ResultSubmitted. This file is
 * the rule of what that record means for the escrow; the verifiers live in settlement.
 */
export type AttestationRecord = NonNullable<EventData<'ResultSubmitted'>['attestation']>;

/**
 * The nonce a job's attestation must carry: sha256 over the job id, 32 bytes as hex (the size
 * NVIDIA's attestation SDK takes). A report made for another job, or before this one existed,
 * does not carry it. The agent asks its TEE for a report on it; settlement checks it.
 */
export const attestationNonceFor = (jobId: string): string => createHash('sha256').update(`starminer-attestation:${jobId}`).digest('hex');

/**
 * The verification a result stands on once its attestation is counted. A wrong result is refused
 * for being wrong, whatever its attestation. A job that required a TEE is released only with a
 * `verified` attestation: a missing one (ATTESTATION_MISSING) or a rejected one (its verifier's
 * code) is refused as a wrong result is, and refunded. A job that did not ask for a TEE may carry
 * an attestation: it is recorded, never required, and its verdict changes nothing.
 */
export function verificationWithAttestation(o: { readonly teeRequired: boolean; readonly attestation: AttestationRecord | undefined; readonly verification: Verification }): Verification {
  if (!o.verification.ok || !o.teeRequired) return o.verification;
  if (!o.attestation) return { ok: false, code: 'ATTESTATION_MISSING', reason: 'the job requires a TEE and no attestation came with the result' };
  if (o.attestation.verdict === 'verified') return o.verification;
  const reason = truncateText(`TEE attestation rejected: ${o.attestation.reason ?? 'no reason given'}`, LIMITS.reasonLengthMax);
  return { ok: false, code: o.attestation.code ?? 'ATTESTATION_REJECTED', reason };
}
