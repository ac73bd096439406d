import type { z } from 'zod';
import type { assignmentSchema } from '@starminer/events';
import type { AssignmentRow } from './provider-queries';

type Assignment = z.input<typeof assignmentSchema>;

/**
 * A contracted or running job as its node's assignment. Null for a row that lacks what its
 * contract's opening records (deadline, cost, address): a view that has not applied the opening
 * yet shows the job again on the next poll.
 */
export function assignmentOf(j: AssignmentRow, market: Assignment['market']): Assignment | null {
  if (j.status !== 'contracted' && j.status !== 'running') return null;
  if (j.deadlineUnixSec === null || j.costWei === null || j.contractAddress === null) return null;
  return {
    jobId: j.jobId,
    status: j.status,
    workload: j.workload as Assignment['workload'],
    expectedRuntimeSec: j.expectedRuntimeSec,
    deadlineAt: new Date(Number(j.deadlineUnixSec) * 1000).toISOString(),
    costWei: j.costWei.toString(),
    contractAddress: j.contractAddress,
    market,
    ...(j.traceparent ? { traceparent: j.traceparent } : {}),
  };
}
