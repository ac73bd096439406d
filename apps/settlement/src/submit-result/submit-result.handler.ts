import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { recoverResultSigner } from '@starminer/chain';
import { contractDecider, DomainError, type ContractCommand, type Verification } from '@starminer/domain';
import { COMMANDS, type PayloadOf, type ReplyOf, type TradeEventOf } from '@starminer/events';
import { CommandHandler, ServiceRuntime } from '@starminer/service-kit';
import { SettlementChain } from '../settlement-chain';
import { VerificationPool } from '../verify-results/verification-pool';

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
 */
@Controller()
export class SubmitResultHandler {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: SettlementChain,
    private readonly verifier: VerificationPool,
  ) {}

  @CommandHandler(SUBMIT)
  async submitResult(@Payload() p: PayloadOf<typeof SUBMIT>): Promise<ReplyOf<typeof SUBMIT>> {
    const nowUnixSec = Math.floor(Date.now() / 1000);
    const submitted = (await this.rt.events('job', p.jobId)).find((e): e is TradeEventOf<'JobSubmitted'> => e.type === 'JobSubmitted');
    if (!submitted) throw new DomainError('JOB_NOT_FOUND', 'no such job');
    const signerAddress = await this.signerOf(p);
    if (signerAddress.toLowerCase() !== p.nodeAddress.toLowerCase()) throw new DomainError('BAD_RESULT_SIGNATURE', 'the result is signed by another key than the request');
    const command = (verification: Verification): ContractCommand => ({
      type: 'SubmitResult',
      nodeId: p.nodeId,
      signerAddress,
      resultHash: p.resultHash,
      proofHash: p.proofHash,
      signature: p.signature,
      output: p.output,
      verification,
      nowUnixSec,
    });
    const { state: before } = await this.rt.load('contract', p.jobId, contractDecider);
    contractDecider.decide(command({ ok: true }), before); // throws the refusal it would answer after the recompute
    const verification = await this.verifier.verify(p.jobId, submitted.data.workload, p);
    const { state } = await this.rt.execute('contract', p.jobId, contractDecider, command(verification), {
      correlationId: p.jobId,
      causationId: p.jobId,
      actor: `node:${p.nodeId}`,
    });
    return { status: state.status, outcome: verification.ok ? 'release' : 'refund' };
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
