import { DomainError } from '@starminer/domain';
import { isFinalJobStatus } from '@starminer/events';
import { costWei } from '@starminer/matching';
import type { JobView } from '../views/entities';

/** Statuses whose escrow runs toward its deadline: the ones a top-up extends. */
const TOP_UP_STATUSES: readonly string[] = ['contracted', 'running'];

/**
 * Why the job as the view shows it cannot be topped up, or null when it may be: an ended job says
 * how it ended (JOB_ALREADY_FINAL), any other not contracted or running says where it is
 * (TOP_UP_NOT_OPEN). Both name the status in details.status. The deployer decides on the log.
 */
export function topUpRefusal(job: Pick<JobView, 'jobId' | 'status' | 'priceWeiPerHour'>): DomainError | null {
  if (isFinalJobStatus(job.status)) return new DomainError('JOB_ALREADY_FINAL', `job ${job.jobId} is already ${job.status}; its escrow can no longer be topped up`, { status: job.status });
  if (!TOP_UP_STATUSES.includes(job.status) || job.priceWeiPerHour === null)
    return new DomainError('TOP_UP_NOT_OPEN', `job ${job.jobId} is ${job.status}; only a contracted or running job's escrow can be topped up`, { status: job.status });
  return null;
}

/**
 * What `extraRuntimeSec` more costs: the match's hourly price for all the job's GPUs (price per
 * GPU-hour x GPUs) for that time, rounded up to the wei, as the engine prices the job's cost.
 */
export function topUpPriceWei(priceWeiPerHour: bigint, extraRuntimeSec: number): bigint {
  return costWei(priceWeiPerHour, extraRuntimeSec);
}
