import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { TradeEvent } from '@starminer/events';
import { ServiceRuntime, type ReadModel } from '@starminer/service-kit';
import type { ProjectionRunner, StoredEvent } from '@starminer/trade-log';
import { IntakeJob } from './intake-job.entity';
import { applyIntakeJobsBatch } from './intake-jobs-batch';

/** The reader's name (its checkpoint, its parked events). */
export const INTAKE_JOBS_READER = 'intake-jobs';

/** Intake's jobs as a read model: what intake projects and the auditor's replay rebuilds. */
export const INTAKE_JOBS_MODEL: ReadModel = {
  name: INTAKE_JOBS_READER,
  kinds: ['account', 'job'],
  // the cases of applyToIntakeJobs and foldIntakeJobsBatch that write (their default changes nothing)
  types: ['FundsReserved', 'FundsReleased', 'JobSubmitted', 'JobMatched', 'JobFailed', 'JobCancelled'],
  apply: (em, e) => applyToIntakeJobs(em, e),
  applyBatch: (em, events) => applyIntakeJobsBatch(em, events),
  tables: [{ entity: IntakeJob }],
};

/**
 * Jobs and their reservations as intake's sweeps need them, from account and job events. Not
 * critical: no funds decision reads it (the account aggregate decides), so an event parked here
 * only delays a sweep of that one job, which the operator sees in the parked list.
 */
@Injectable()
export class IntakeJobsProjection implements OnApplicationBootstrap {
  private runner!: ProjectionRunner;

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    this.runner = this.rt.readModel(INTAKE_JOBS_MODEL);
    await this.runner.start();
  }

  /** Resolves once the read model includes `seq`. */
  waitUntil(seq: number): Promise<void> {
    return this.runner.waitUntil(seq);
  }
}

export async function applyToIntakeJobs(em: EntityManager, { event }: StoredEvent): Promise<void> {
  const repo = em.getRepository(IntakeJob);
  const e = event as TradeEvent;
  switch (e.type) {
    case 'FundsReserved':
      await repo.upsert({ jobId: e.data.jobId, orgId: e.data.orgId, reservationOpen: true, reservedAt: new Date(e.occurredAt) }, ['jobId']);
      return;
    case 'FundsReleased':
      await repo.update({ jobId: e.data.jobId }, { reservationOpen: false });
      return;
    case 'JobSubmitted':
      await repo.upsert(
        {
          jobId: e.data.jobId,
          orgId: e.data.orgId,
          status: 'queued',
          budgetWei: e.data.budgetWei,
          expiresAt: new Date(Date.parse(e.occurredAt) + e.data.deadlineSec * 1000),
        },
        ['jobId'],
      );
      return;
    case 'JobMatched':
      await repo.update({ jobId: e.data.jobId, status: 'queued' }, { status: 'matched' });
      return;
    case 'JobFailed':
    case 'JobCancelled':
      await repo.update({ jobId: e.data.jobId }, { status: 'closed' });
      return;
    default:
      return;
  }
}
