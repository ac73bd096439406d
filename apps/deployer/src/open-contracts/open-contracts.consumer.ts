import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Address } from 'viem';
import {
  ChainActionError,
  jobIdToBytes32,
  MAX_OPEN_BATCH,
  OPEN_REJECTION_CODES,
  openComputeContract,
  openComputeContractsBatch,
  type BatchJob,
} from '@starminer/chain';
import { contractDecider } from '@starminer/domain';
import { LIMITS, truncateText, type TradeEvent, type TradeEventOf } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import { DependencyUnavailableError, PoisonEventError, type StoredEvent } from '@starminer/trade-log';
import { CustodySlots } from '../accounts/custody-slots';
import { DeployerChain } from '../chain/deployer-chain';
import { termsHashOf } from './terms';

/** The durable consumer of job events that opens contracts (its name is the reader's name for the operator). */
export const OPEN_CONTRACTS_DURABLE = 'deployer-matches';

/** One match to open: the event and what the chain needs. */
interface PendingOpen {
  readonly matched: TradeEventOf<'JobMatched'>;
  readonly params: BatchJob;
}

/**
 * Opens one Compute Service Contract on chain per JobMatched: the requester's custodial account
 * signs a permit for exactly the match's cost, and the deployer role opens the escrow. Several
 * matches go in one transaction (so the chain is not the bottleneck under load); if that batch
 * reverts, each is opened alone so the others go on.
 *
 * What happens to a match, chosen deliberately:
 * - opened (or already open on chain): ContractOpened;
 * - a revert in OPEN_REJECTION_CODES (the requester's funds or the terms are wrong; no retry will
 *   cure it): ContractOpenFailed with the code;
 * - the job was cancelled or failed, or its contract is already recorded: nothing;
 * - it can never be opened (its job has no JobSubmitted, its org has no custodial slot):
 *   PoisonEventError, so the consumer parks it at once for an operator;
 * - anything else (RPC down, a nonce race): thrown, so the consumer retries it with a delay. The
 *   chain's open is idempotent, so a retry never opens twice.
 */
@Injectable()
export class OpenContractsConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger('open-contracts');

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: DeployerChain,
    private readonly slots: CustodySlots,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // stopped with the service's other readers (ServiceKitModule's lifecycle)
    await this.rt.consume({ durable: OPEN_CONTRACTS_DURABLE, filterSubjects: [this.rt.filter('job')], handler: (batch) => this.onJobEvents(batch) });
  }

  /** Every match of the batch is prepared before anything is sent, so a poison one costs no chain call. */
  async onJobEvents(batch: readonly StoredEvent[]): Promise<void> {
    const opens: PendingOpen[] = [];
    for (const stored of batch) {
      const e = stored.event as TradeEvent;
      if (e.type !== 'JobMatched') continue;
      const pending = await this.prepareOpen(e);
      if (pending) opens.push(pending);
    }
    for (let i = 0; i < opens.length; i += MAX_OPEN_BATCH) await this.openChunk(opens.slice(i, i + MAX_OPEN_BATCH));
  }

  /** What one open needs, read from the job's subject and the org's slot; undefined when there is nothing to do. */
  private async prepareOpen(matched: TradeEventOf<'JobMatched'>): Promise<PendingOpen | undefined> {
    const jobId = matched.data.jobId;
    const contract = await this.rt.load('contract', jobId, contractDecider);
    if (contract.state.status !== 'none') return undefined; // already recorded: a redelivery
    const job = await this.rt.events('job', jobId);
    const submitted = job.find((x): x is TradeEventOf<'JobSubmitted'> => x.type === 'JobSubmitted');
    // JobSubmitted comes first on the job's own subject: if it is not there now, it never will be
    if (!submitted) throw new PoisonEventError(`job ${jobId} has no JobSubmitted on the log: its contract has no terms and can never be opened`);
    if (job.some((x) => x.type === 'JobCancelled' || x.type === 'JobFailed')) return undefined;
    const slot = await this.slots.find(submitted.data.orgId);
    if (!slot) throw new PoisonEventError(`org ${submitted.data.orgId} of job ${jobId} has no custodial account slot: nobody can sign its escrow`);
    // The deadline follows from the match's own time, so a retried open asks for the same terms.
    const deadlineUnixSec = Math.floor(Date.parse(matched.occurredAt) / 1000) + submitted.data.deadlineSec;
    return {
      matched,
      params: {
        jobId,
        requester: slot.account,
        provider: matched.data.nodeAddress as Address,
        costWei: matched.data.costWei,
        expectedRuntimeSec: submitted.data.expectedRuntimeSec,
        deadlineSec: deadlineUnixSec,
        termsHash: termsHashOf(submitted.data, matched.data),
      },
    };
  }

  private async openChunk(chunk: PendingOpen[]): Promise<void> {
    if (chunk.length > 1) {
      try {
        const { publicClient, addresses } = this.chain;
        const r = await this.chain.asDeployer((wallet) => openComputeContractsBatch(wallet, publicClient, { addresses, jobs: chunk.map((c) => c.params) }));
        const alreadyOpen = new Set(r.jobs.filter((j) => j.alreadyOpen).map((j) => j.jobId));
        for (const c of chunk) {
          // a job opened before this batch was not in its transaction
          const sent = !alreadyOpen.has(c.params.jobId);
          await this.recordOpened(c, r.contractAddress, sent ? r.txHash : null, sent ? r.blockNumber : null);
        }
        return;
      } catch (err) {
        this.logger.warn(`batch open of ${chunk.length} failed (${(err as { code?: string }).code ?? (err as Error).message}); opening one by one`);
      }
    }
    for (const c of chunk) await this.openOne(c);
  }

  private async openOne(c: PendingOpen): Promise<void> {
    const { publicClient, addresses } = this.chain;
    let opened;
    try {
      opened = await this.chain.asDeployer((wallet) => openComputeContract(wallet, publicClient, { addresses, ...c.params }));
    } catch (err) {
      if (err instanceof ChainActionError && OPEN_REJECTION_CODES.has(err.code)) {
        this.logger.warn(`job ${c.params.jobId}: contract not opened: ${err.code}`);
        await this.recordOpenFailed(c, err);
        return;
      }
      // the chain is away: the match is fine, so it waits for the chain (never parked)
      if (err instanceof ChainActionError && err.code === 'ChainUnavailable') throw new DependencyUnavailableError(`opening ${c.params.jobId}: ${err.message}`, { cause: err });
      throw err;
    }
    await this.recordOpened(c, opened.contractAddress, opened.txHash, opened.blockNumber);
  }

  private async recordOpenFailed(c: PendingOpen, err: ChainActionError): Promise<void> {
    const jobId = c.params.jobId;
    // the codes of OPEN_REJECTION_CODES are Solidity error names, far below the limit; the message is free text
    const failed = { type: 'RecordOpenFailed', jobId, code: truncateText(err.code, LIMITS.codeLengthMax), reason: truncateText(err.message, LIMITS.reasonLengthMax) } as const;
    await this.rt.execute('contract', jobId, contractDecider, failed, this.causation(c));
  }

  private async recordOpened(c: PendingOpen, contractAddress: string, txHash: string | null, blockNumber: bigint | null): Promise<void> {
    const { jobId, requester, costWei, deadlineSec, termsHash } = c.params;
    const opened = {
      jobId,
      chainJobId: jobIdToBytes32(jobId),
      contractAddress,
      requesterAddress: requester.address,
      nodeAddress: c.matched.data.nodeAddress,
      escrowWei: costWei,
      deadlineUnixSec: deadlineSec,
      termsHash,
      txHash,
      blockNumber: blockNumber === null ? null : blockNumber.toString(),
    };
    await this.rt.execute('contract', jobId, contractDecider, { type: 'RecordOpened', opened }, this.causation(c));
  }

  private causation(c: PendingOpen) {
    return { correlationId: c.params.jobId, causationId: c.matched.id, actor: 'service:deployer' };
  }
}
