import { Injectable } from '@nestjs/common';
import { DomainError } from '@starminer/domain';
import { isFinalJobStatus, type JobUpdate } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import { JobView } from '../views/entities';
import { GatewayViews } from '../views/gateway-views';
import { JobUpdateRow } from './job-update.entity';

/** What the job event stream and the history read: a job's updates after a position, from the gateway's read model. */
@Injectable()
export class JobUpdates {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly views: GatewayViews,
  ) {}

  /** The org's job and whether it has ended; another org's job does not exist for it. One the log has and the view not yet is waited for (bounded). */
  async jobOf(orgId: string, jobId: string): Promise<{ jobId: string; final: boolean }> {
    const find = () => this.rt.db.getRepository(JobView).findOne({ where: { jobId, orgId }, select: { jobId: true, status: true } });
    let job = await find();
    if (!job) {
      await this.views.caughtUpWithJob(jobId);
      job = await find();
    }
    if (!job) throw new DomainError('JOB_NOT_FOUND', `no job ${jobId} in your org`);
    return { jobId, final: isFinalJobStatus(job.status) };
  }

  /** The job's updates after `afterSeq`, oldest first, at most `limit`. */
  async after(jobId: string, afterSeq: bigint, limit: number): Promise<JobUpdate[]> {
    const rows = await this.rt.db
      .getRepository(JobUpdateRow)
      .createQueryBuilder('u')
      .select('u.data', 'data')
      .where('u.jobId = :jobId', { jobId })
      .andWhere('u.seq > :after', { after: afterSeq.toString() })
      .orderBy('u.seq', 'ASC')
      .limit(limit)
      .getRawMany<{ data: JobUpdate }>();
    return rows.map((r) => r.data);
  }

  /**
   * Which of `jobIds` got updates with a seq in (fromSeq, toSeq]: one query per move of the
   * projection, however many streams wait (the seq range is a few events; the primary key finds them).
   */
  async updatedAmong(jobIds: readonly string[], fromSeq: number, toSeq: number): Promise<string[]> {
    if (jobIds.length === 0 || toSeq <= fromSeq) return [];
    const rows = await this.rt.db
      .getRepository(JobUpdateRow)
      .createQueryBuilder('u')
      .select('DISTINCT u.jobId', 'jobId')
      .where('u.seq > :from AND u.seq <= :to', { from: String(fromSeq), to: String(toSeq) })
      .andWhere('u.jobId = ANY(:ids)', { ids: [...jobIds] })
      .getRawMany<{ jobId: string }>();
    return rows.map((r) => r.jobId);
  }
}
