import type { EntityManager } from 'typeorm';
import { jobUpdateOf, type JobStatus, type JobUpdate, type TradeEvent } from '@starminer/events';
import type { StoredEvent } from '@starminer/trade-log';
import { JobView } from '../views/entities';
import { JobUpdateRow } from './job-update.entity';

/** A job as the view's row holds it when an event arrives: who sees it, and its status before the event. */
export interface JobBeforeEvent {
  readonly orgId: string;
  readonly status: JobStatus;
}

/**
 * Whether clients may see this event at all. Any status will do here: the probe only tells
 * whether the event makes an update, so the many events of no job (nodes, prices, accounts) cost
 * no query.
 */
function mayMakeJobUpdate(stored: Pick<StoredEvent, 'event' | 'seq'>): boolean {
  return jobUpdateOf({ event: stored.event as TradeEvent, seq: stored.seq }, 'queued') !== null;
}

/**
 * The `job_updates` row of one event, given the job as the view holds it before the event
 * (undefined: a job this view never had, so no org to show it to), or null when clients see
 * nothing of it. A submission carries its own org. Pure: the per-event path and the batch path
 * (views-batch.ts) both write what this returns.
 */
export function jobUpdateRowOf(stored: Pick<StoredEvent, 'event' | 'seq'>, job: JobBeforeEvent | undefined): JobUpdateRow | null {
  const e = stored.event as TradeEvent;
  let orgId: string;
  let statusBefore: JobStatus | undefined;
  if (e.type === 'JobSubmitted') {
    orgId = e.data.orgId;
  } else {
    if (!job) return null;
    orgId = job.orgId;
    statusBefore = job.status;
  }
  const update = jobUpdateOf({ event: e, seq: stored.seq }, statusBefore);
  if (!update) return null;
  return { seq: update.seq, jobId: update.jobId, orgId, type: update.type, data: update };
}

/**
 * Writes the update a client sees of one event (if it makes one) into `job_updates`, inside the
 * views projection's transaction: called before the event moves the job's view, so the view's row
 * holds the job's org and its status before the event. Keyed by the event's seq: applying an
 * event again writes nothing new. Returns the update written (or already there), or null.
 */
export async function recordJobUpdate(em: EntityManager, stored: Pick<StoredEvent, 'event' | 'seq'>): Promise<JobUpdate | null> {
  if (!mayMakeJobUpdate(stored)) return null;
  const e = stored.event as TradeEvent;
  let job: JobBeforeEvent | undefined;
  if (e.type !== 'JobSubmitted') {
    const jobId = (e.data as { jobId: string }).jobId;
    const found = await em.getRepository(JobView).findOne({ where: { jobId }, select: { jobId: true, orgId: true, status: true } });
    job = found ? { orgId: found.orgId, status: found.status as JobStatus } : undefined;
  }
  const row = jobUpdateRowOf(stored, job);
  if (!row) return null;
  await em.createQueryBuilder().insert().into(JobUpdateRow).values(row).orIgnore().execute();
  return row.data as JobUpdate;
}
