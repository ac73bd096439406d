import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { LessThan, type EntityManager } from 'typeorm';
import type { TradeEvent } from '@starminer/events';
import { ServiceRuntime, type ReadModel } from '@starminer/service-kit';
import type { ProjectionRunner, StoredEvent } from '@starminer/trade-log';
import { PendingReassignRow } from './pending-reassign-row.entity';

export const PENDING_REASSIGNS_PROJECTION = 'deployer-reassigns';

/** The deployer's pending escrow moves (re-match on failure) as a read model; the retry columns are the reconciler's. */
export const PENDING_REASSIGNS_MODEL: ReadModel = {
  name: PENDING_REASSIGNS_PROJECTION,
  kinds: ['job', 'contract'],
  // the cases of applyToReassigns that write (its default changes nothing)
  types: ['JobMatched', 'ContractReassigned', 'SettlementDecided', 'ContractReleased', 'ContractRefunded', 'ContractOpenFailed', 'JobFailed', 'JobCancelled'],
  apply: (em, e) => applyToReassigns(em, e),
  tables: [{ entity: PendingReassignRow, notFromLog: ['tries', 'nextTryAtMs', 'lastError'] }],
};

@Injectable()
export class PendingReassignsProjection implements OnApplicationBootstrap {
  private runner!: ProjectionRunner;

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    this.runner = this.rt.readModel(PENDING_REASSIGNS_MODEL);
    await this.runner.start();
  }

  /** Resolves once the read model includes `seq`. */
  waitUntil(seq: number): Promise<void> {
    return this.runner.waitUntil(seq);
  }
}

/**
 * A re-match opens (or moves on) its job's row; the move recorded (ContractReassigned of that
 * attempt or a later one), a settlement decided or the contract ended closes it. A JobMatched of
 * an attempt the row has passed changes nothing, so a replay ends where the live projection did.
 */
export async function applyToReassigns(em: EntityManager, { event, seq }: StoredEvent): Promise<void> {
  const rows = em.getRepository(PendingReassignRow);
  const e = event as TradeEvent;
  switch (e.type) {
    case 'JobMatched': {
      const attempt = e.data.attempt;
      if (attempt === undefined) return;
      const matchedAtMs = String(Date.parse(e.occurredAt));
      await rows.createQueryBuilder().insert().values({ jobId: e.data.jobId, attempt, matchedSeq: String(seq), closed: false, tries: 0, nextTryAtMs: matchedAtMs }).orIgnore().execute();
      await rows.update({ jobId: e.data.jobId, attempt: LessThan(attempt) }, { attempt, matchedSeq: String(seq), closed: false, tries: 0, nextTryAtMs: matchedAtMs, lastError: null });
      return;
    }
    case 'ContractReassigned':
      await rows.update({ jobId: e.data.jobId, attempt: LessThan(e.data.attempt + 1) }, { closed: true });
      return;
    case 'SettlementDecided':
    case 'ContractReleased':
    case 'ContractRefunded':
    case 'ContractOpenFailed':
    case 'JobFailed':
    case 'JobCancelled':
      await rows.update({ jobId: e.data.jobId }, { closed: true });
      return;
    default:
      return;
  }
}
