import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { TradeEvent } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import type { ProjectionRunner, StoredEvent } from '@starminer/trade-log';
import { JobHold } from './job-hold.entity';

/** Statuses whose budget is still held against the org's balance (no escrow taken yet). */
export const HOLDING_STATUSES = ['queued', 'matched'] as const;

/**
 * What each org's jobs still hold of its balance, from job and contract events. Critical: with an
 * event of it parked, a funds check could let an org spend what it has not got, so readiness is
 * red until an operator re-applies it.
 */
@Injectable()
export class JobHoldsProjection implements OnApplicationBootstrap {
  private runner!: ProjectionRunner;

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    this.runner = this.rt.projection('jobs', this.rt.filterOf(['job', 'contract']), (em, e) => applyToHolds(em, e), {
      critical: true,
      reset: (em) => em.getRepository(JobHold).clear(),
    });
    await this.runner.start();
  }

  /** Resolves once the holds include `seq` (the next funds check of the org must see this job). */
  waitUntil(seq: number): Promise<void> {
    return this.runner.waitUntil(seq);
  }

  /**
   * Orgs whose holds may be missing a job: a parked JobSubmitted (or an event whose type cannot be
   * read) of this projection. Other parked events only keep a hold longer than it should be, which
   * refuses more, never less. `all` when a parked event does not say its org.
   */
  async orgsUnderReview(): Promise<{ all: boolean; orgs: ReadonlySet<string> }> {
    const parked = (await this.rt.parking.list({ reader: 'jobs' })).filter((p) => p.type === null || p.type === 'JobSubmitted');
    if (parked.length === 0) return { all: false, orgs: new Set() };
    const jsm = await this.rt.tradeLog.jsm();
    const orgs = new Set<string>();
    for (const p of parked) {
      const m = await jsm.streams.getMessage(this.rt.tradeLog.streamName, { seq: p.seq }).catch(() => undefined);
      let orgId: unknown;
      try {
        orgId = m ? (JSON.parse(Buffer.from(m.data).toString('utf8')) as { data?: { orgId?: unknown } }).data?.orgId : undefined;
      } catch {
        orgId = undefined;
      }
      if (typeof orgId !== 'string') return { all: true, orgs };
      orgs.add(orgId);
    }
    return { all: false, orgs };
  }

  /** The budget an org's queued and matched jobs hold. */
  async heldWei(orgId: string): Promise<bigint> {
    const row = await this.rt.db
      .getRepository(JobHold)
      .createQueryBuilder('j')
      .select('COALESCE(SUM(j.budgetWei), 0)', 'held')
      .where('j.orgId = :orgId AND j.status IN (:...statuses)', { orgId, statuses: HOLDING_STATUSES })
      .getRawOne<{ held: string }>();
    return BigInt(row?.held ?? '0');
  }
}

export async function applyToHolds(em: EntityManager, { event, seq }: StoredEvent): Promise<void> {
  const repo = em.getRepository(JobHold);
  const e = event as TradeEvent;
  switch (e.type) {
    case 'JobSubmitted':
      await repo.upsert({ jobId: e.data.jobId, orgId: e.data.orgId, category: e.data.category, status: 'queued', budgetWei: e.data.budgetWei, submittedSeq: String(seq) }, ['jobId']);
      return;
    case 'JobMatched':
      await repo.update({ jobId: e.data.jobId, status: 'queued' }, { status: 'matched' });
      return;
    case 'ContractOpened':
      await repo.update({ jobId: e.data.jobId }, { status: 'contracted' });
      return;
    case 'ContractOpenFailed':
    case 'ContractReleased':
    case 'ContractRefunded':
    case 'JobFailed':
    case 'JobCancelled':
      await repo.update({ jobId: e.data.jobId }, { status: 'closed' });
      return;
    default:
      return;
  }
}
