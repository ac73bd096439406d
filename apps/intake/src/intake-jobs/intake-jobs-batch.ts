import type { EntityManager } from 'typeorm';
import type { TradeEvent } from '@starminer/events';
import { jobIdOf, readRows, RowsFold, writeRowsFold } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import { IntakeJob } from './intake-job.entity';
import { applyToIntakeJobs } from './intake-jobs.projection';

/** The jobs a batch reads first: every job an event of it names (a job's status decides whether a match moves it). */
export function intakeJobsReadBy(events: readonly StoredEvent[]): string[] {
  const ids = new Set<string>();
  for (const { event } of events) {
    const id = jobIdOf(event);
    if (id !== undefined) ids.add(id);
  }
  return [...ids];
}

/**
 * Folds a batch, in log order, into what `applyToIntakeJobs` applied to each event in turn leaves,
 * given the status of each job of `jobIds` the table has (`before`): a reservation or a submission
 * upserts its columns (the job's others kept), a release or an end patches a job that is there, a
 * match moves only a queued job (so a match delivered after the job ended moves nothing). Pure.
 */
export function foldIntakeJobsBatch(events: readonly StoredEvent[], jobIds: readonly string[], before: readonly Pick<IntakeJob, 'jobId' | 'status'>[]): RowsFold<IntakeJob> {
  const jobs = new RowsFold<IntakeJob>('jobId', jobIds, before);
  for (const { event } of events) {
    const e = event as TradeEvent;
    switch (e.type) {
      case 'FundsReserved':
        jobs.upsert({ jobId: e.data.jobId, orgId: e.data.orgId, reservationOpen: true, reservedAt: new Date(e.occurredAt) });
        break;
      case 'FundsReleased':
        jobs.update(e.data.jobId, { reservationOpen: false });
        break;
      case 'JobSubmitted':
        jobs.upsert({ jobId: e.data.jobId, orgId: e.data.orgId, status: 'queued', budgetWei: e.data.budgetWei, expiresAt: new Date(Date.parse(e.occurredAt) + e.data.deadlineSec * 1000) });
        break;
      case 'JobMatched':
        jobs.update(e.data.jobId, { status: 'matched' }, (row) => row.status === 'queued');
        break;
      case 'JobFailed':
      case 'JobCancelled':
        jobs.update(e.data.jobId, { status: 'closed' });
        break;
      default:
        break;
    }
  }
  return jobs;
}

/**
 * Writes a whole batch of intake's jobs with a handful of statements, where `applyToIntakeJobs`
 * writes one per event: one SELECT of the jobs the batch names (their status), then one INSERT ...
 * ON CONFLICT a set of columns upserted and one UPDATE ... FROM unnest(...) for the patches of jobs
 * already there. The rows are those the per-event path leaves (foldIntakeJobsBatch). A batch of one
 * event takes the per-event path.
 */
export async function applyIntakeJobsBatch(em: EntityManager, events: readonly StoredEvent[]): Promise<void> {
  if (events.length <= 1) {
    for (const e of events) await applyToIntakeJobs(em, e);
    return;
  }
  const jobIds = intakeJobsReadBy(events);
  const before = await readRows(em, IntakeJob, 'jobId', jobIds, { jobId: true, status: true });
  await writeRowsFold(em, IntakeJob, 'jobId', foldIntakeJobsBatch(events, jobIds, before).writes());
}
