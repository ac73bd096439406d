import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { TradeEvent } from '@starminer/events';
import { ServiceRuntime, type ReadModel } from '@starminer/service-kit';
import type { ProjectionRunner, StoredEvent } from '@starminer/trade-log';
import { PendingOpenRow, RecordedOpenRow } from './open-rows.entity';
import { applyOpensBatch } from './pending-opens-batch';

export const PENDING_OPENS_PROJECTION = 'deployer-opens';

/**
 * The deployer's opens as a read model. The open reconciler's retries and the chain check's
 * findings (the verified block, a loss and its restore attempts, a block number it corrected) are
 * theirs, not the log's.
 */
export const PENDING_OPENS_MODEL: ReadModel = {
  name: PENDING_OPENS_PROJECTION,
  kinds: ['job', 'contract'],
  // the cases of applyToOpens and foldOpensBatch that write (their default changes nothing)
  types: ['JobMatched', 'JobCancelled', 'JobFailed', 'ContractOpened', 'ContractOpenFailed', 'ChainEffectRestored', 'ChainEffectLost'],
  apply: (em, e) => applyToOpens(em, e),
  applyBatch: (em, events) => applyOpensBatch(em, events),
  tables: [
    { entity: PendingOpenRow, notFromLog: ['attempts', 'nextAttemptAtMs', 'lastError'] },
    { entity: RecordedOpenRow, notFromLog: ['blockNumber', 'verifiedBlockHash', 'lostSinceMs', 'restoreAttempts', 'restoreNextAtMs', 'lastError'] },
  ],
};
/** The give-up code: no open on chain by the deadline. The chain-vs-log check watches these for an open that lands late. */
export const OPEN_TIMED_OUT = 'OPEN_TIMED_OUT';

/**
 * The deployer's opens, from job and contract events: matches still without a contract outcome
 * (for the reconciler), and recorded opens (for the chain-vs-log check). Not critical: a parked
 * event here only delays a reconciliation, it lets nothing be spent twice.
 */
@Injectable()
export class PendingOpensProjection implements OnApplicationBootstrap {
  private runner!: ProjectionRunner;

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    this.runner = this.rt.readModel(PENDING_OPENS_MODEL);
    await this.runner.start();
  }

  /** Resolves once the read model includes `seq`. */
  waitUntil(seq: number): Promise<void> {
    return this.runner.waitUntil(seq);
  }
}

export async function applyToOpens(em: EntityManager, { event, seq }: StoredEvent): Promise<void> {
  const pending = em.getRepository(PendingOpenRow);
  const recorded = em.getRepository(RecordedOpenRow);
  const e = event as TradeEvent;
  const close = (jobId: string) => pending.upsert({ jobId, closed: true }, ['jobId']);
  switch (e.type) {
    case 'JobMatched': {
      const matchedAtMs = Date.parse(e.occurredAt);
      // a job already ended (cancelled, failed, or its contract recorded) stays closed
      await pending
        .createQueryBuilder()
        .insert()
        .values({ jobId: e.data.jobId, matchedSeq: String(seq), matchedAtMs: String(matchedAtMs), closed: false, attempts: 0, nextAttemptAtMs: String(matchedAtMs) })
        .orIgnore()
        .execute();
      await pending.update({ jobId: e.data.jobId, closed: false }, { matchedSeq: String(seq), matchedAtMs: String(matchedAtMs) });
      return;
    }
    case 'JobCancelled':
    case 'JobFailed':
      await close(e.data.jobId);
      return;
    case 'ContractOpened':
      await close(e.data.jobId);
      await recorded.upsert(
        { jobId: e.data.jobId, seq: String(seq), kind: 'opened', txHash: e.data.txHash, blockNumber: e.data.blockNumber, verifiedBlockHash: null, lostSinceMs: null, restoreAttempts: 0, restoreNextAtMs: null, lastError: null },
        ['jobId'],
      );
      return;
    case 'ContractOpenFailed':
      await close(e.data.jobId);
      if (e.data.code === OPEN_TIMED_OUT) {
        await recorded.upsert({ jobId: e.data.jobId, seq: String(seq), kind: 'timed-out', txHash: null, blockNumber: null, verifiedBlockHash: null, lostSinceMs: null, restoreAttempts: 0, restoreNextAtMs: null, lastError: null }, ['jobId']);
      } else {
        await recorded.delete({ jobId: e.data.jobId }); // an open given up as lost: nothing left to check
      }
      return;
    case 'ChainEffectRestored':
      if (e.data.action !== 'open') return;
      // a late open after a give-up is noted once (its escrow is the requester's to refund, see OpenChainCheck)
      await recorded.delete({ jobId: e.data.jobId, kind: 'timed-out' });
      // a restored open is checked again from its new block
      await recorded.update(
        { jobId: e.data.jobId },
        { seq: String(seq), txHash: e.data.txHash, blockNumber: e.data.blockNumber, verifiedBlockHash: null, lostSinceMs: null, restoreAttempts: 0, restoreNextAtMs: null, lastError: null },
      );
      return;
    case 'ChainEffectLost':
      if (e.data.action === 'open') await recorded.delete({ jobId: e.data.jobId });
      return;
    // settled: kept, because a chain restored from an older state can lose the open with its
    // settle; the open is restored first, then settlement's reconciler settles again
    default:
      return;
  }
}
