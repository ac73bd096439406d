import { Injectable } from '@nestjs/common';
import { CATEGORIES, LIMITS, type JobStatus } from '@starminer/events';
import { contractDecider, DomainError, jobDecider } from '@starminer/domain';
import { ServiceRuntime } from '@starminer/service-kit';
import { JobView } from '../views/entities';
import { GatewayViews } from '../views/gateway-views';
import { jobStatusOf } from './job-answer';

/** What a requester reads of its jobs, from the gateway's read model. */
@Injectable()
export class JobQueries {
  constructor(
    private readonly rt: ServiceRuntime,
    private readonly views: GatewayViews,
  ) {}

  /** One job of the org; another org's job does not exist for it. One the log has and the view not yet is waited for (bounded). */
  async get(orgId: string, jobId: string): Promise<JobView> {
    const find = () => this.rt.db.getRepository(JobView).findOne({ where: { jobId, orgId } });
    let job = await find();
    if (!job) {
      await this.views.caughtUpWithJob(jobId);
      job = await find();
    }
    if (!job) throw new DomainError('JOB_NOT_FOUND', `no job ${jobId} in your org`);
    return job;
  }

  /** The copies of a redundant job's group (issue 17), of this org: at most LIMITS.redundancyCopiesMax rows. */
  redundancyGroup(orgId: string, groupId: string): Promise<JobView[]> {
    return this.rt.db.getRepository(JobView).find({ where: { orgId, redundancyGroupId: groupId }, order: { jobId: 'ASC' }, take: LIMITS.redundancyCopiesMax });
  }

  /**
   * The org's jobs in submission order (then by id: a job id derived from an Idempotency-Key is not
   * time-ordered), after the job named by `cursor`, at most `limit`. A cursor that names no job of
   * the org is BAD_CURSOR.
   */
  async list(orgId: string, page: { limit?: number; cursor?: string }): Promise<{ jobs: JobView[]; nextCursor: string | null }> {
    const limit = page.limit ?? LIMITS.pageSizeDefault;
    const q = this.rt.db.getRepository(JobView).createQueryBuilder('j').where('j.orgId = :orgId', { orgId });
    if (page.cursor) {
      const after = await this.rt.db.getRepository(JobView).findOne({ where: { orgId, jobId: page.cursor }, select: { jobId: true, submittedAt: true } });
      if (!after) throw new DomainError('BAD_CURSOR', 'the cursor is not one this endpoint handed out');
      q.andWhere('(j.submittedAt, j.jobId) > (:at, :id)', { at: after.submittedAt, id: after.jobId });
    }
    const rows = await q.orderBy('j.submittedAt', 'ASC').addOrderBy('j.jobId', 'ASC').limit(limit).getMany();
    return { jobs: rows, nextCursor: rows.length === limit ? rows[rows.length - 1].jobId : null };
  }

  /**
   * The job's status as the log has it now, folded from its job and contract events: for when the
   * view may lag behind a refusal that was decided on the log. Null for a job the log does not hold.
   */
  async statusOnLog(jobId: string): Promise<JobStatus | null> {
    const [job, contract] = await Promise.all([this.rt.load('job', jobId, jobDecider), this.rt.load('contract', jobId, contractDecider)]);
    return jobStatusOf(job.state, contract.state);
  }

  /** Queued jobs per category, every category listed. */
  async queueDepths(): Promise<Record<string, number>> {
    const rows: { category: string; depth: string }[] = await this.rt.db
      .getRepository(JobView)
      .createQueryBuilder('j')
      .select('j.category', 'category')
      .addSelect('COUNT(*)', 'depth')
      .where('j.status = :s', { s: 'queued' })
      .groupBy('j.category')
      .getRawMany();
    const depth: Record<string, number> = Object.fromEntries(CATEGORIES.map((c) => [c, 0]));
    for (const r of rows) depth[r.category] = Number(r.depth);
    return depth;
  }
}
