import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { TradeEvent } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import { contextFor, JOB_ID_ATTR, SERVICE_ATTR, withSpan } from '@starminer/telemetry';
import { SettlementChain } from '../settlement-chain';
import { ExecuteSettlement, OpenMissingError } from './execute-settlement';
import { ReleaseBatch, type DecidedRelease } from './release-batch';
import { Slashing } from './slashing';

/** The durable consumer's name: it resumes after what it acked, and names its parked events. */
export const SETTLEMENT_EXECUTOR = 'settlement-executor';

/**
 * Deliveries of one contract event before it is parked. The nak delay doubles from 0.5 s to its
 * 30 s cap, so 30 deliveries ride out a chain outage of about 12 minutes (the default 10, about 2)
 * before a decided settlement is parked; a parked event also holds back the later events of its
 * job (the slash after a refund), so parking is kept for what an operator must look at. The
 * deadline scan re-drives stale settlements on chain meanwhile.
 */
export const EXECUTOR_DELIVERIES_MAX = 30;

/**
 * Follows contract events and acts on chain: a `SettlementDecided` is released or refunded on
 * chain and recorded; a `ContractRefunded` of a rejected result slashes the provider's stake. A
 * chain that does not answer is retried (RetryLaterError); a settlement that can never be
 * executed (PoisonEventError) is parked at once. Not critical: the log and the ledger stay right
 * while a chain action waits, and the deadline scan re-drives what was decided and not recorded.
 */
@Injectable()
export class SettlementExecutor implements OnApplicationBootstrap {
  private readonly releases: ReleaseBatch;

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly settlement: ExecuteSettlement,
    private readonly slashing: Slashing,
    chain: SettlementChain,
  ) {
    this.releases = new ReleaseBatch(rt, settlement, chain);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.rt.consume({
      durable: SETTLEMENT_EXECUTOR,
      filterSubjects: [this.rt.filter('contract')],
      maxDeliver: EXECUTOR_DELIVERIES_MAX,
      handler: (batch) => this.handle(batch),
    });
  }

  /**
   * A settlement whose open the chain lost is not retried here (every retry would fail until the
   * deployer re-opens it, then park the event): the deadline scan owns it from here, with backoff.
   */
  private async settle(jobId: string, causationId: string): Promise<void> {
    try {
      await this.settlement.execute(jobId, causationId);
    } catch (err) {
      if (!(err instanceof OpenMissingError)) throw err;
    }
  }

  /**
   * The batch's decided releases first, together (one chain transaction per ComputeEscrow.MAX_BATCH,
   * ReleaseBatch), then the batch in log order: what the batched release recorded is done, every
   * other settlement (refunds, and releases the batch skipped or could not send) goes the per-job
   * way. Every step is idempotent, as delivery is at least once.
   */
  async handle(batch: readonly StoredEvent[]): Promise<void> {
    const decidedReleases = batch.flatMap((stored): DecidedRelease[] => {
      const e = stored.event as TradeEvent;
      return e.type === 'SettlementDecided' && e.data.outcome === 'release' ? [{ jobId: e.data.jobId, causationId: e.id, redelivered: stored.redelivered, ...(stored.trace ? { trace: stored.trace } : {}) }] : [];
    });
    const released = decidedReleases.length > 0 ? await this.releases.release(decidedReleases) : new Set<string>();
    for (const stored of batch) {
      const e = stored.event as TradeEvent;
      // each job's work in its own trace (the event's appender), also when it came in a batch
      const inJobTrace = (name: string, fn: () => Promise<void>) => withSpan(name, { [SERVICE_ATTR]: this.rt.service, [JOB_ID_ATTR]: e.aggregateId }, fn, { parent: contextFor(stored.trace) });
      if (e.type === 'SettlementDecided' && released.has(e.data.jobId)) continue;
      if (e.type === 'SettlementDecided') await inJobTrace('settle', () => this.settle(e.data.jobId, e.id));
      else if (e.type === 'ContractRefunded') await inJobTrace('slash after refund', () => this.slashing.afterRefund(e));
    }
  }
}
