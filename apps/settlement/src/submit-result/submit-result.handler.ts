import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { recoverResultSigner } from '@starminer/chain';
import { attestationNonceFor, contractDecider, DomainError, verificationWithAttestation, type AttestationRecord, type ContractCommand, type Verification } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type ReplyOf, type TradeEventOf } from '@starminer/events';
import { CommandHandler, ServiceRuntime } from '@starminer/service-kit';
import { SettlementChain } from '../settlement-chain';
import { AttestationUnavailableError, AttestationVerifiers } from '../verify-attestation/attestation';
import { attestationRecordOf } from '../verify-attestation/attestation-verifiers';
import { VerificationPool } from '../verify-results/verification-pool';

/** Retry advice when an attestation cannot be checked now (NRAS's keys did not come in time). */
const ATTESTATION_RETRY_AFTER_SEC = 30;

const SUBMIT = COMMANDS.settlement.submitResult;

/**
 * `cmd.settlement.submitResult`: the node's result and proof. The EIP-712 signature must recover
 * to the key that signed the request (the gateway checked that one), the workload is recomputed
 * from the job's `JobSubmitted` on a worker thread of the VerificationPool (never on this event
 * loop), and the contract decider rules: `ResultSubmitted` and `SettlementDecided` release, or
 * `ResultRejected` and a refund. The executor carries it to chain.
 *
 * The contract is asked first, with the verification assumed good: a result it would refuse anyway
 * (no open contract, another node, already final, too late) costs no recompute. The submission's
 * time is taken when it arrives, so a long verification never makes a timely result late. A pool
 * that cannot verify now answers VERIFICATION_BUSY or VERIFICATION_TIMED_OUT (503, retry advice):
 * nothing is appended, and the same result sent again is verified again.
 *
 * A TEE attestation sent with the result is verified on this loop (a few ES384 signatures; NRAS's
 * keys come from a file or a fetch bounded by a timeout and cached) against the job's nonce, and
 * recorded on ResultSubmitted (the report's hash and the verdict). A job that required a TEE is
 * released only with a verified one (the decider's rule); keys that cannot be had now answer
 * ATTESTATION_UNAVAILABLE (503) and decide nothing.
 */
@Controller()
export class SubmitResultHandler {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: SettlementChain,
    private readonly verifier: VerificationPool,
    private readonly attestations: AttestationVerifiers,
  ) {}

  @CommandHandler(SUBMIT)
  async submitResult(@Payload() p: PayloadOf<typeof SUBMIT>): Promise<ReplyOf<typeof SUBMIT>> {
    const nowUnixSec = Math.floor(Date.now() / 1000);
    const submitted = (await this.rt.events('job', p.jobId)).find((e): e is TradeEventOf<'JobSubmitted'> => e.type === 'JobSubmitted');
    if (!submitted) throw new DomainError('JOB_NOT_FOUND', 'no such job');
    const signerAddress = await this.signerOf(p);
    if (signerAddress.toLowerCase() !== p.nodeAddress.toLowerCase()) throw new DomainError('BAD_RESULT_SIGNATURE', 'the result is signed by another key than the request');
    const teeRequired = submitted.data.requirements.tee;
    const command = (verification: Verification, attestation?: AttestationRecord): ContractCommand => ({
      type: 'SubmitResult',
      nodeId: p.nodeId,
      signerAddress,
      resultHash: p.resultHash,
      proofHash: p.proofHash,
      signature: p.signature,
      output: p.output,
      verification,
      nowUnixSec,
      teeRequired,
      // redundancy (issue 17): a copy's verified result waits for its group's verdict (apps/settlement/src/redundancy)
      ...(submitted.data.redundantCopy ? { hold: true } : {}),
      ...(attestation ? { attestation } : {}),
    });
    const { state: before } = await this.rt.load('contract', p.jobId, contractDecider);
    contractDecider.decide(command({ ok: true }), before); // throws the refusal it would answer after the recompute
    const attestation = p.attestation ? await this.attest(p.jobId, p.attestation, nowUnixSec) : undefined;
    const verification = await this.verifier.verify(p.jobId, submitted.data.workload, p);
    const { state } = await this.rt.execute('contract', p.jobId, contractDecider, command(verification, attestation), {
      correlationId: p.jobId,
      causationId: p.jobId,
      actor: `node:${p.nodeId}`,
    });
    return { status: state.status, outcome: verificationWithAttestation({ teeRequired, attestation, verification }).ok ? 'release' : 'refund' };
  }

  /** The attestation's verdict against this job's nonce, as ResultSubmitted records it. */
  private async attest(jobId: string, evidence: NonNullable<PayloadOf<typeof SUBMIT>['attestation']>, nowSec: number): Promise<AttestationRecord> {
    try {
      return attestationRecordOf(await this.attestations.verify(evidence, { nonceHex: attestationNonceFor(jobId), nowSec }));
    } catch (err) {
      if (err instanceof AttestationUnavailableError)
        throw new DomainError('ATTESTATION_UNAVAILABLE', `${err.message}; nothing was decided, send the same result again later`, { retryAfterSec: ATTESTATION_RETRY_AFTER_SEC });
      throw err;
    }
  }

  /** Who signed (jobId, resultHash, proofHash) for this escrow and chain. */
  private async signerOf(p: PayloadOf<typeof SUBMIT>): Promise<string> {
    try {
      return await recoverResultSigner({
        addresses: this.chain.addresses,
        chainId: this.chain.chainId,
        jobId: p.jobId,
        resultHash: p.resultHash as `0x${string}`,
        proofHash: p.proofHash as `0x${string}`,
        signature: p.signature as `0x${string}`,
      });
    } catch {
      throw new DomainError('BAD_RESULT_SIGNATURE', 'the result signature does not verify');
    }
  }
}
