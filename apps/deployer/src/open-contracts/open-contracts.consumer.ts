import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Address } from 'viem';
import {
  ChainActionError,
  jobIdToBytes32,
  MAX_OPEN_BATCH,
  OPEN_REJECTION_CODES,
  openComputeContract,
  openComputeContractsBatch,
  readComputeContract,
  type BatchJob,
} from '@starminer/chain';
import { contractDecider, DomainError } from '@starminer/domain';
import { EventSchemaError, LIMITS, truncateText, type EventData, type TradeEvent, type TradeEventOf } from '@starminer/events';
import { AggregateUnreadableError, InjectConfig, ServiceRuntime } from '@starminer/service-kit';
import { contextFor, JOB_ID_ATTR, linkOf, SERVICE_ATTR, SpanKind, withSpan, type TraceCarrier } from '@starminer/telemetry';
import { PoisonEventError, type StoredEvent } from '@starminer/trade-log';
import { CustodySlots } from '../accounts/custody-slots';
import { DeployerChain } from '../chain/deployer-chain';
import type { DeployerConfig } from '../deployer.config';
import { termsHashOf } from './terms';

/** The durable consumer of job events that opens contracts (its name is the reader's name for the operator). */
export const OPEN_CONTRACTS_DURABLE = 'deployer-matches';

/** One match to open: the event and what the chain needs. */
export interface PendingOpen {
  readonly matched: TradeEventOf<'JobMatched'>;
  readonly params: BatchJob;
  /** The JobMatched's trace context: the open's spans are of the job's trace. */
  readonly trace?: TraceCarrier;
}

/** What became of one open: on chain (recorded), refused for good (recorded as failed), or left to the reconciler. */
export type OpenOutcome = { readonly kind: 'opened' | 'rejected' | 'skipped' } | { readonly kind: 'deferred'; readonly error: string };

/** What no retry gets past: runtime.consume parks it (the reconciler still gives the job up at its deadline). */
export function isPoison(err: unknown): boolean {
  return (
    err instanceof PoisonEventError ||
    err instanceof DomainError ||
    err instanceof EventSchemaError ||
    err instanceof AggregateUnreadableError ||
    (err as { retryable?: unknown } | null)?.retryable === false
  );
}

/**
 * Opens one Compute Service Contract on chain per JobMatched: the requester's custodial account
 * signs a permit for exactly the match's cost, and the deployer role opens the escrow. Several
 * matches go in one transaction (so the chain is not the bottleneck under load); if that batch
 * reverts, each is opened alone so the others go on.
 *
 * What happens to a match, chosen deliberately:
 * - opened (or already open on chain): ContractOpened (with the chain's transaction either way);
 * - a revert in OPEN_REJECTION_CODES (the requester's funds or the terms are wrong; no retry will
 *   cure it): ContractOpenFailed with the code;
 * - the job was cancelled or failed, or its contract is already recorded: nothing;
 * - a vault's job: nothing here (vault-draws draws its escrow from the vault);
 * - it can never be opened (its job has no JobSubmitted, its org has no custodial slot):
 *   PoisonEventError, so the consumer parks it at once for an operator (the reconciler still
 *   records it failed at its give-up deadline, which frees its GPUs and budget);
 * - anything else (RPC down, a nonce race, the deployer out of gas money): acked and left to the
 *   reconciler (reconcile-opens), which re-drives it with a bounded backoff and gives it up at
 *   DEPLOYER_OPEN_GIVE_UP_MS; the consumer never blocks a job's key or parks a transient failure.
 *   So is a match older than the give-up deadline (the deployer was down): the reconciler decides it.
 *   The chain's open is idempotent, so the reconciler's retry never opens twice.
 */
@Injectable()
export class OpenContractsConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger('open-contracts');

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: DeployerChain,
    private readonly slots: CustodySlots,
    @InjectConfig() private readonly config: DeployerConfig,
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
      if (Date.now() >= Date.parse(e.occurredAt) + this.config.DEPLOYER_OPEN_GIVE_UP_MS) continue; // the reconciler gives it up
      let pending: PendingOpen | undefined;
      try {
        pending = await this.prepareOpen(e);
      } catch (err) {
        if (isPoison(err)) throw err;
        this.logger.warn(`job ${e.data.jobId}: open not prepared (${(err as Error).message}); left to the reconciler`);
        continue;
      }
      if (pending) opens.push(stored.trace ? { ...pending, trace: stored.trace } : pending);
    }
    for (let i = 0; i < opens.length; i += MAX_OPEN_BATCH) await this.openChunk(opens.slice(i, i + MAX_OPEN_BATCH));
  }

  /** What one open needs, read from the job's subject and the org's slot; undefined when there is nothing to do. */
  async prepareOpen(matched: TradeEventOf<'JobMatched'>): Promise<PendingOpen | undefined> {
    const contract = await this.rt.load('contract', matched.data.jobId, contractDecider);
    if (contract.state.status !== 'none') return undefined; // already recorded: a redelivery
    return this.termsOf(matched, { skipEnded: true });
  }

  /**
   * The open's terms, recomputed from the log (the same for every retry and for a restore after the
   * chain lost it): the deadline follows from the match's own time. Undefined when `skipEnded` and
   * the job was cancelled or failed, or is a vault's (without `skipEnded`, a vault's job is poison:
   * the org's account never pays for it).
   */
  async termsOf(matched: TradeEventOf<'JobMatched'>, opts: { skipEnded: boolean }): Promise<PendingOpen | undefined> {
    const jobId = matched.data.jobId;
    const job = await this.rt.events('job', jobId);
    const submitted = job.find((x): x is TradeEventOf<'JobSubmitted'> => x.type === 'JobSubmitted');
    // JobSubmitted comes first on the job's own subject: if it is not there now, it never will be
    if (!submitted) throw new PoisonEventError(`job ${jobId} has no JobSubmitted on the log: its contract has no terms and can never be opened`);
    // a vault's job is drawn from its vault (vault-draws), never opened on the org's account
    if (submitted.data.vault) {
      if (opts.skipEnded) return undefined;
      throw new PoisonEventError(`job ${jobId} is vault ${submitted.data.vault.vaultId}'s: its escrow is drawn from the vault, never opened on the org's account`);
    }
    if (opts.skipEnded && job.some((x) => x.type === 'JobCancelled' || x.type === 'JobFailed')) return undefined;
    const slot = await this.slots.find(submitted.data.orgId);
    if (!slot) throw new PoisonEventError(`org ${submitted.data.orgId} of job ${jobId} has no custodial account slot: nobody can sign its escrow`);
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

  /** The job's JobMatched, read from its subject (the reconciler's rows keep only the job id). */
  async matchedOf(jobId: string): Promise<TradeEventOf<'JobMatched'> | undefined> {
    const job = await this.rt.events('job', jobId);
    return job.findLast((x): x is TradeEventOf<'JobMatched'> => x.type === 'JobMatched');
  }

  /**
   * Matches whose contract is still unrecorded, checked under the deployer key's lock: the
   * reconciler records its give-up under the same lock, so an open is never sent after it.
   */
  private async stillUnrecorded(chunk: PendingOpen[]): Promise<PendingOpen[]> {
    const out: PendingOpen[] = [];
    for (const c of chunk) if ((await this.rt.load('contract', c.params.jobId, contractDecider)).state.status === 'none') out.push(c);
    return out;
  }

  private async openChunk(chunk: PendingOpen[]): Promise<void> {
    if (chunk.length > 1) {
      try {
        const { publicClient, addresses } = this.chain;
        // one transaction for many jobs: its span is linked to each job's trace
        const links = chunk.flatMap((c) => linkOf(c.trace) ?? []);
        const sent = await withSpan('chain openComputeContractsBatch', { [SERVICE_ATTR]: this.rt.service, 'starminer.jobs': chunk.length }, () =>
          this.chain.asDeployer(async (wallet) => {
            const open = await this.stillUnrecorded(chunk);
            const r = open.length ? await openComputeContractsBatch(wallet, publicClient, { addresses, jobs: open.map((c) => c.params) }) : undefined;
            return { open, r };
          }), { links, kind: SpanKind.CLIENT });
        const r = sent.r;
        if (!r) return;
        const alreadyOpen = new Set(r.jobs.filter((j) => j.alreadyOpen).map((j) => j.jobId));
        for (const c of sent.open) {
          // a job opened before this batch was not in its transaction: its own is read from the chain
          const inBatch = !alreadyOpen.has(c.params.jobId);
          await this.inJobTrace(c, 'record contract opened', () => this.recordOpened(c, r.contractAddress, inBatch ? r.txHash : null, inBatch ? r.blockNumber : null));
        }
        return;
      } catch (err) {
        this.logger.warn(`batch open of ${chunk.length} failed (${(err as { code?: string }).code ?? (err as Error).message}); opening one by one`);
      }
    }
    for (const c of chunk) {
      const outcome = await this.openOne(c);
      if (outcome.kind === 'deferred') this.logger.warn(`job ${c.params.jobId}: open failed (${outcome.error}); left to the reconciler`);
    }
  }

  /** Opens one contract and records the outcome; a failure that a retry may cure is returned, not thrown. */
  openOne(c: PendingOpen): Promise<OpenOutcome> {
    return this.inJobTrace(c, 'open contract', () => this.openOneNow(c));
  }

  /** Work on one job's open as a span of the job's trace (the JobMatched's, unless the active span is of it already). */
  private inJobTrace<T>(c: PendingOpen, name: string, fn: () => Promise<T>): Promise<T> {
    return withSpan(name, { [SERVICE_ATTR]: this.rt.service, [JOB_ID_ATTR]: c.params.jobId }, fn, { parent: contextFor(c.trace) });
  }

  private async openOneNow(c: PendingOpen): Promise<OpenOutcome> {
    const { publicClient, addresses } = this.chain;
    let opened;
    try {
      // the chain call's span: the receipt's hash, gas and block go on it (libs/chain's waitForSuccess)
      opened = await withSpan('chain openComputeContract', { [SERVICE_ATTR]: this.rt.service, [JOB_ID_ATTR]: c.params.jobId }, () =>
        this.chain.asDeployer(async (wallet) => {
          if ((await this.stillUnrecorded([c])).length === 0) return undefined;
          return openComputeContract(wallet, publicClient, { addresses, ...c.params });
        }), { kind: SpanKind.CLIENT });
    } catch (err) {
      if (err instanceof ChainActionError && OPEN_REJECTION_CODES.has(err.code)) {
        this.logger.warn(`job ${c.params.jobId}: contract not opened: ${err.code}`);
        await this.recordOpenFailed(c, err);
        return { kind: 'rejected' };
      }
      if (isPoison(err)) throw err;
      return { kind: 'deferred', error: err instanceof ChainActionError ? `${err.code}: ${err.message}` : (err as Error).message };
    }
    if (!opened) return { kind: 'skipped' };
    await this.recordOpened(c, opened.contractAddress, opened.txHash, opened.blockNumber);
    return { kind: 'opened' };
  }

  private async recordOpenFailed(c: PendingOpen, err: ChainActionError): Promise<void> {
    const jobId = c.params.jobId;
    // the codes of OPEN_REJECTION_CODES are Solidity error names, far below the limit; the message is free text
    const failed = { type: 'RecordOpenFailed', jobId, code: truncateText(err.code, LIMITS.codeLengthMax), reason: truncateText(err.message, LIMITS.reasonLengthMax) } as const;
    await this.rt.execute('contract', jobId, contractDecider, failed, this.causation(c.matched));
  }

  /**
   * ContractOpened with the transaction that holds the open: this call's, or (already open: a retry,
   * a batch or the reconciler before it) the one the chain's ComputeContractOpened event names, so
   * the chain-vs-log check always has a transaction to look for.
   */
  private async recordOpened(c: PendingOpen, contractAddress: string, txHash: string | null, blockNumber: bigint | null): Promise<void> {
    if (txHash === null) {
      const onChain = await readComputeContract(this.chain.publicClient, { addresses: this.chain.addresses, jobId: c.params.jobId });
      txHash = onChain.openTxHash;
      blockNumber = onChain.openBlockNumber;
    }
    const { jobId, requester, costWei, deadlineSec, termsHash } = c.params;
    await this.recordOpenedData(
      {
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
      },
      c.matched,
    );
  }

  async recordOpenedData(opened: EventData<'ContractOpened'>, matched: TradeEventOf<'JobMatched'>): Promise<void> {
    await this.rt.execute('contract', opened.jobId, contractDecider, { type: 'RecordOpened', opened }, this.causation(matched));
  }

  causation(matched: TradeEventOf<'JobMatched'>) {
    return { correlationId: matched.data.jobId, causationId: matched.id, actor: 'service:deployer' };
  }
}
