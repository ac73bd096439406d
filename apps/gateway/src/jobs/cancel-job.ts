import { DomainError } from '@starminer/domain';
import { isFinalJobStatus, type JobStatus } from '@starminer/events';

/**
 * Why a job in `status` cannot be cancelled, or null when it can (only a queued job can): a job
 * that has ended says how it ended (JOB_ALREADY_FINAL), one on its way (matched..completed) says
 * where it is (JOB_NOT_CANCELLABLE); both name the status in the message and in details.status.
 */
export function cancelRefusal(jobId: string, status: JobStatus): DomainError | null {
  if (status === 'queued') return null;
  if (isFinalJobStatus(status)) return new DomainError('JOB_ALREADY_FINAL', `job ${jobId} is already ${status}; there is nothing to cancel`, { status });
  return new DomainError('JOB_NOT_CANCELLABLE', `job ${jobId} is ${status}; only a queued job can be cancelled`, { status });
}
