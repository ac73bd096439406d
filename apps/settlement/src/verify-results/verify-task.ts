import { verifyWorkloadResult, type Verification } from '@starminer/domain';
import type { Workload } from '@starminer/events';

/** What one verification needs: the job's workload and what the provider submitted. */
export interface VerifyTask {
  readonly workload: Workload;
  readonly submitted: { readonly output: string; readonly resultHash: string; readonly proofHash: string };
}

/**
 * The task a verification worker thread runs (loaded through verify-worker.cjs): the pure
 * recompute-and-compare of the domain, off the event loop that answers commands.
 */
export default function verifyTask(task: VerifyTask): Verification {
  return verifyWorkloadResult(task.workload, task.submitted);
}
