import { Logger } from '@nestjs/common';
import type { Address, Hex } from 'viem';
import { MAX_RELEASE_BATCH, releaseComputeContractsBatch, toChainActionError, type ReleaseBatchItem } from '@starminer/chain';
import { contractDecider, type ContractState } from '@starminer/domain';
import type { AggregateEnvelope } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import { contextFor, JOB_ID_ATTR, linkOf, SERVICE_ATTR, SpanKind, withSpan, type TraceCarrier } from '@starminer/telemetry';
import { SettlementChain } from '../settlement-chain';
import { ExecuteSettlement, lastOf } from './execute-settlement';

/**
 * Fewest jobs a batched release is sent for when every one of them was delivered before (a retry):
 * such a release alone goes the per-job way, which reads the chain and simulates before it sends,
 * so an event handed back alone up to its delivery bound never pays a transaction that the escrow
 * then skips. A release on its first delivery is sent batched even alone: 0.8k more gas than
 * `release` (58.8k against 57.9k, docs/BENCHMARKS.md), and none of the per-job path's six chain
 * reads (the record, three scans of its events, the block, the simulation) that made
 * readComputeContract the settlement's largest cost under load.
 */
export const RELEASE_BATCH_MIN = 2;

/** A decided release as the executor read it: the job, and the SettlementDecided that caused it. */
export interface DecidedRelease {
  readonly jobId: string;
  readonly causationId: string;
  /** The SettlementDecided was delivered before (a retry of a batch that did not record it). */
  readonly redelivered?: boolean;
  /** The SettlementDecided's trace: the job's chain call and its record continue it. */
  readonly trace?: TraceCarrier;
}

/**
 * Batched releases (issue 13): the decided releases of one consumer batch go to the chain in one
 * transaction per MAX_RELEASE_BATCH (ComputeEscrow.releaseBatch) instead of one each, and each job
 * released is recorded as the per-job path records it (RecordReleased with the transaction, its
 * block and the amount). While its batch is on its way every job's lock is held (the executor's,
 * the deadline scan's re-drive and the reconciler's take the same one). Only a job whose log shows
 * it settling to a release with a signed result goes in, with the terms its log holds (no chain
 * read). Everything else is left to the per-job path (ExecuteSettlement.execute), which reads the
 * chain and owns AlreadySettled, UnknownJob, retries and parking: a job the escrow skipped
 * (released or refunded before, terms the log does not know yet, such as a top-up not yet recorded,
 * a bad signature), one whose record failed, every job of a batch whose transaction failed, and a
 * retried release alone in its batch (RELEASE_BATCH_MIN).
 */
export class ReleaseBatch {
  private readonly logger = new Logger('release-batch');

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly settlement: ExecuteSettlement,
    private readonly chain: SettlementChain,
  ) {}

  /** Releases and records what it can of `decided`; answers the jobs it recorded (the rest go the per-job way). */
  async release(decided: readonly DecidedRelease[]): Promise<Set<string>> {
    const byJob = new Map(decided.map((d) => [d.jobId, d])); // a job decided twice in a batch goes once
    const jobs = [...byJob.values()];
    const recorded = new Set<string>();
    if (jobs.length < this.fewestOf(jobs)) return recorded;
    for (let i = 0; i < jobs.length; i += MAX_RELEASE_BATCH) {
      for (const jobId of await this.releaseChunk(jobs.slice(i, i + MAX_RELEASE_BATCH))) recorded.add(jobId);
    }
    return recorded;
  }

  /** One, unless every job of them is a retry (RELEASE_BATCH_MIN). */
  private fewestOf(jobs: readonly DecidedRelease[]): number {
    return jobs.some((d) => !d.redelivered) ? 1 : RELEASE_BATCH_MIN;
  }

  /** At most MAX_RELEASE_BATCH jobs, in one transaction, every job's lock held throughout. */
  private releaseChunk(chunk: readonly DecidedRelease[]): Promise<string[]> {
    // locks taken in one order (by job id), so two batches never wait on each other crosswise
    const ids = chunk.map((d) => d.jobId).sort();
    const holdingAll = (i: number): Promise<string[]> => (i === ids.length ? this.releaseHeld(chunk) : this.settlement.exclusive(ids[i], () => holdingAll(i + 1)));
    return holdingAll(0);
  }

  private async releaseHeld(chunk: readonly DecidedRelease[]): Promise<string[]> {
    const loaded = await Promise.all(chunk.map(async (d) => ({ d, item: await this.itemOf(d.jobId) })));
    const ready = loaded.filter((x): x is { d: DecidedRelease; item: ReleaseBatchItem } => x.item !== undefined);
    if (ready.length < this.fewestOf(ready.map(({ d }) => d))) return [];
    const decidedOf = new Map(ready.map(({ d }) => [d.jobId, d]));
    const send = () => releaseComputeContractsBatch(this.chain.wallet, this.chain.publicClient, { addresses: this.chain.addresses, items: ready.map((x) => x.item) });
    let result;
    try {
      // the chain call's span (libs/chain's waitForSuccess puts the receipt's hash, gas and block on
      // it): alone, in its job's trace as the per-job path's; a batch, linked to each job's trace
      const lone = ready.length === 1 ? ready[0]!.d : undefined;
      result = lone
        ? await withSpan('chain release', { [SERVICE_ATTR]: this.rt.service, [JOB_ID_ATTR]: lone.jobId }, send, { parent: contextFor(lone.trace), kind: SpanKind.CLIENT })
        : await withSpan('chain release batch', { [SERVICE_ATTR]: this.rt.service, 'starminer.batch_size': ready.length }, send, {
            links: ready.flatMap(({ d }) => linkOf(d.trace) ?? []),
            kind: SpanKind.CLIENT,
          });
    } catch (err) {
      this.logger.warn(`release batch of ${ready.length} jobs not executed (${toChainActionError(err, 'releaseBatch').code}); each goes the per-job way`);
      return [];
    }
    const recorded: string[] = [];
    for (const job of result.jobs) {
      if (job.outcome === 'skipped') {
        this.logger.log(`job ${job.jobId}: skipped by the release batch (${job.reason}); it goes the per-job way`);
        continue;
      }
      try {
        const d = decidedOf.get(job.jobId)!;
        await withSpan('record contract released', { [SERVICE_ATTR]: this.rt.service, [JOB_ID_ATTR]: job.jobId }, () => this.settlement.recordReleased(job.jobId, job, d.causationId), {
          parent: contextFor(d.trace),
        });
        recorded.push(job.jobId);
      } catch (err) {
        // the per-job path finds it released on chain and records it so (or parks what it cannot)
        this.logger.warn(`job ${job.jobId}: released in ${job.txHash}, not recorded yet (${(err as Error).message}); it goes the per-job way`);
      }
    }
    return recorded;
  }

  /** The job's release item when its log shows it settling to a release with a signed result; else undefined (the per-job path decides). */
  private async itemOf(jobId: string): Promise<ReleaseBatchItem | undefined> {
    let folded: { state: ContractState; events: AggregateEnvelope<'contract'>[] };
    try {
      folded = await this.rt.load('contract', jobId, contractDecider);
    } catch {
      return undefined; // unreadable: the per-job path meets the same and parks it with its reason
    }
    const { state, events } = folded;
    if (state.status !== 'settling' || state.outcome !== 'release') return undefined;
    const result = lastOf(events, 'ResultSubmitted');
    if (!result) return undefined;
    return {
      jobId,
      // the terms the escrow's commitment expects back, as the log holds them (open, top-ups, reassigns)
      terms: { requester: state.requesterAddress as Address, provider: state.nodeAddress as Address, costWei: state.escrowWei },
      resultHash: result.data.resultHash as Hex,
      proofHash: result.data.proofHash as Hex,
      providerSignature: result.data.signature as Hex,
    };
  }
}
