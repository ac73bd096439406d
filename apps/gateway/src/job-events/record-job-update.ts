import type { EntityManager } from 'typeorm';
import { jobUpdateOf, type JobStatus, type JobUpdate, type TradeEvent } from '@starminer/events';
import type { StoredEvent } from '@starminer/trade-log';
import { JobView } from '../views/entities';
import { JobUpdateRow } from './job-update.entity';

/**
 * Writes the update a client sees of one event (if it makes one) into `job_updates`, inside the
 * views projection's transaction: called before the event moves the job's view, so the view's row
 * holds the job's org and its status before the event. Keyed by the event's seq: applying an
 * event again writes nothing new. Returns the update written (or already there), or null.
 */
export async function recordJobUpdate(em: EntityManager, stored: Pick<StoredEvent, 'event' | 'seq'>): Promise<JobUpdate | null> {
  const e = stored.event as TradeEvent;
  // any status will do here: the probe only tells whether clients see this event at all, so the
  // many events of no job (nodes, prices, accounts) cost no query
  if (!jobUpdateOf({ event: e, seq: stored.seq }, 'queued')) return null;
  let orgId: string;
  let statusBefore: JobStatus | undefined;
  if (e.type === 'JobSubmitted') {
    orgId = e.data.orgId;
  } else {
    const jobId = (e.data as { jobId: string }).jobId;
    const job = await em.getRepository(JobView).findOne({ where: { jobId }, select: { jobId: true, orgId: true, status: true } });
    if (!job) return null; // a job this view never had: no org to show it to
    orgId = job.orgId;
    statusBefore = job.status as JobStatus;
  }
  const update = jobUpdateOf({ event: e, seq: stored.seq }, statusBefore);
  if (!update) return null;
  await em
    .createQueryBuilder()
    .insert()
    .into(JobUpdateRow)
    .values({ seq: update.seq, jobId: update.jobId, orgId, type: update.type, data: update })
    .orIgnore()
    .execute();
  return update;
}
