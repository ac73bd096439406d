import { Controller, Logger } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { ChainActionError, TOP_UP_REJECTION_CODES, topUpComputeContract, type TopUpComputeContractResult } from '@starminer/chain';
import { contractDecider, DomainError } from '@starminer/domain';
import { COMMANDS, type ErrorCode, type PayloadOf, type ReplyOf, type TradeEventOf } from '@starminer/events';
import { costWei } from '@starminer/matching';
import { CommandHandler, KeyedMutex, ServiceRuntime, type Causation } from '@starminer/service-kit';
import { PoisonEventError } from '@starminer/trade-log';
import { CustodySlots } from '../accounts/custody-slots';
import { DeployerChain } from '../chain/deployer-chain';

const TOP_UP = COMMANDS.deployer.topUpContract;

/** The chain's refusals of a top-up (TOP_UP_REJECTION_CODES) as the API's codes: 409 for the job's state, 422 for the bounds. */
export const TOP_UP_REFUSALS: Readonly<Record<string, ErrorCode>> = {
  UnknownJob: 'TOP_UP_NOT_OPEN',
  NotOpen: 'TOP_UP_NOT_OPEN',
  DeadlinePassed: 'TOP_UP_NOT_OPEN',
  RequesterMismatch: 'TOP_UP_NOT_OPEN',
  TopUpIdConflict: 'TOP_UP_ID_CONFLICT',
  ZeroTopUpId: 'TOP_UP_LIMIT',
  ZeroCost: 'TOP_UP_LIMIT',
  CostOutOfRange: 'TOP_UP_LIMIT',
  ZeroExtension: 'TOP_UP_LIMIT',
  ExtensionAboveBound: 'TOP_UP_LIMIT',
  TotalExtensionAboveBound: 'TOP_UP_LIMIT',
  TooManyTopUps: 'TOP_UP_LIMIT',
  PermitFailed: 'INSUFFICIENT_FUNDS',
  ERC20InsufficientBalance: 'INSUFFICIENT_FUNDS',
  ERC20InsufficientAllowance: 'INSUFFICIENT_FUNDS',
};

/** The refusal a chain error of a top-up answers, or undefined when a retry may get past it. */
export function topUpRefusalOf(err: unknown, jobId: string): DomainError | undefined {
  if (!(err instanceof ChainActionError) || !TOP_UP_REJECTION_CODES.has(err.code)) return undefined;
  const code = TOP_UP_REFUSALS[err.code] ?? 'TOP_UP_NOT_OPEN';
  return new DomainError(code, `job ${jobId}: the escrow refused the top-up (${err.code})`, { chainCode: err.code });
}

/** The price of `extraRuntimeSec` more at the match's hourly price for all the job's GPUs, rounded up to the wei (as the match's cost is). */
export const topUpCostWei = (priceWeiPerHour: bigint, extraRuntimeSec: number): bigint => costWei(priceWeiPerHour, extraRuntimeSec);

/**
 * `cmd.deployer.topUpContract` (issue 16): more escrow and a later deadline for a running job,
 * paid by the org's custodial account (a permit for exactly the price), relayed by the deployer
 * role, then ContractToppedUp with what the chain answered. In order, every step idempotent by the
 * top-up id from the edge:
 *   1. a top-up the log records already answers its event (a retry after it landed);
 *   2. the chain's `topUp` (a top-up id the escrow has paid answers that top-up, `alreadyApplied`);
 *   3. `TopUpContract` on the contract (a second record of the id is a no-op).
 * A crash between 2 and 3 is finished by the retry with the same Idempotency-Key: the chain answers
 * the first top-up and the log records it once. The price is the match's, recomputed from the
 * log here: a caller that priced it otherwise (the gateway's view behind a re-match) is refused,
 * 409 TOP_UP_PRICE_CHANGED, before anything is paid.
 */
@Controller()
export class TopUpContractHandler {
  private readonly logger = new Logger('top-up-contracts');
  /** One top-up of a job at a time in this process: a second would meet the first's moved cost (TermsMismatch). */
  private readonly jobTurns = new KeyedMutex();

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: DeployerChain,
    private readonly slots: CustodySlots,
  ) {}

  @CommandHandler(TOP_UP)
  async topUpContract(@Payload() p: PayloadOf<typeof TOP_UP>): Promise<ReplyOf<typeof TOP_UP>> {
    return this.jobTurns.run(p.jobId, () => this.topUp(p));
  }

  private async topUp(p: PayloadOf<typeof TOP_UP>): Promise<ReplyOf<typeof TOP_UP>> {
    const job = await this.rt.events('job', p.jobId);
    const submitted = job.find((x): x is TradeEventOf<'JobSubmitted'> => x.type === 'JobSubmitted');
    if (!submitted || submitted.data.orgId !== p.orgId) throw new DomainError('JOB_NOT_FOUND', `no job ${p.jobId} in your org`);
    const matched = job.findLast((x): x is TradeEventOf<'JobMatched'> => x.type === 'JobMatched');
    if (!matched) throw new DomainError('TOP_UP_NOT_OPEN', `job ${p.jobId} has no contract yet`, { status: 'queued' });
    const { state, events } = await this.rt.load('contract', p.jobId, contractDecider);
    const recorded = events.find((e): e is TradeEventOf<'ContractToppedUp'> => e.type === 'ContractToppedUp' && e.data.topUpId === p.topUpId);
    if (recorded) return this.answerRecorded(recorded);
    if (state.status === 'released' || state.status === 'refunded' || state.status === 'settle-lost') {
      throw new DomainError('JOB_ALREADY_FINAL', `job ${p.jobId}'s escrow is ${state.status}: it can no longer be topped up`, { status: state.status });
    }
    if (state.status !== 'open' && state.status !== 'running') {
      throw new DomainError('TOP_UP_NOT_OPEN', `job ${p.jobId}'s contract is ${state.status}: only an open or running escrow is topped up`, { status: state.status });
    }
    // priced from the gateway's view of the match: a job matched again since (re-match on failure) has another price
    const priced = topUpCostWei(matched.data.priceWeiPerHour, p.extraRuntimeSec);
    if (priced !== p.extraCostWei) {
      throw new DomainError('TOP_UP_PRICE_CHANGED', `job ${p.jobId}: the top-up was priced ${p.extraCostWei} wei, the job's match now makes it ${priced} wei`, { extraCostWei: priced.toString(), attempt: matched.data.attempt ?? 1 });
    }
    const slot = await this.slots.find(p.orgId);
    if (!slot) throw new PoisonEventError(`org ${p.orgId} has no custodial account slot: nobody can sign its top-up`);

    let r: TopUpComputeContractResult;
    try {
      r = await this.chain.asDeployer((wallet) =>
        topUpComputeContract(wallet, this.chain.publicClient, {
          addresses: this.chain.addresses,
          jobId: p.jobId,
          topUpId: p.topUpId,
          requester: slot.account,
          extraCostWei: p.extraCostWei,
          extraRuntimeSec: p.extraRuntimeSec,
        }),
      );
    } catch (err) {
      const refusal = topUpRefusalOf(err, p.jobId);
      if (refusal) {
        this.logger.warn(`job ${p.jobId}: top-up ${p.topUpId} refused by the escrow: ${refusal.details.chainCode as string}`);
        throw refusal;
      }
      throw err;
    }
    if (r.alreadyApplied) this.logger.warn(`job ${p.jobId}: top-up ${p.topUpId} was paid by an earlier attempt (tx ${r.txHash}); recording it`);
    const causation: Causation = { correlationId: p.jobId, causationId: p.requestId, actor: 'service:deployer' };
    const { seqs } = await this.rt.execute(
      'contract',
      p.jobId,
      contractDecider,
      {
        type: 'TopUpContract',
        topUpId: p.topUpId,
        extraCostWei: r.extraCostWei,
        extraRuntimeSec: r.extraRuntimeSec,
        newCostWei: r.newCostWei,
        newDeadlineUnixSec: r.newDeadlineSec,
        toppedUpAtUnixSec: r.toppedUpAtSec,
        txHash: r.txHash,
        blockNumber: r.blockNumber.toString(),
      },
      causation,
    );
    return { seq: seqs.at(-1) ?? null, alreadyApplied: r.alreadyApplied, extraCostWei: r.extraCostWei, newCostWei: r.newCostWei, newDeadlineUnixSec: r.newDeadlineSec, txHash: r.txHash };
  }

  private answerRecorded(e: TradeEventOf<'ContractToppedUp'>): ReplyOf<typeof TOP_UP> {
    const d = e.data;
    return { seq: null, alreadyApplied: true, extraCostWei: d.extraCostWei, newCostWei: d.newCostWei, newDeadlineUnixSec: d.newDeadlineUnixSec, txHash: d.txHash as `0x${string}` };
  }
}
