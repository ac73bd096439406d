import { assignmentSchema } from '@starminer/events';
import type { JobView } from '../views/entities';
import { assignmentOf } from './assignment';

const market = { chainId: 31337, addresses: { token: '0x5FbDB2315678afecb367f032d93F642f64180aa3', escrow: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512', deployBlock: 1 } };

const contracted = (over: Partial<JobView> = {}): JobView =>
  ({
    jobId: 'j1',
    status: 'contracted',
    workload: { kind: 'hash-chain', seed: 's', iterations: 10 },
    expectedRuntimeSec: 60,
    deadlineUnixSec: '1800000000',
    costWei: 25n,
    contractAddress: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
    ...over,
  }) as JobView;

describe("a node's assignment", () => {
  it('given a contracted job, then it says what to run, by when (an instant) and for what, and fits the schema', () => {
    const a = assignmentOf(contracted(), market)!;
    expect(assignmentSchema.safeParse(a).error).toBeUndefined();
    expect(a).toMatchObject({ jobId: 'j1', status: 'contracted', deadlineAt: '2027-01-15T08:00:00.000Z', costWei: '25', market });
  });

  it('given a running job, then it stays assigned as running', () => {
    expect(assignmentOf(contracted({ status: 'running' }), market)?.status).toBe('running');
  });

  it('given a job past its contract, or a row whose opening is not applied, then it is no assignment', () => {
    expect(assignmentOf(contracted({ status: 'completed' }), market)).toBeNull();
    expect(assignmentOf(contracted({ deadlineUnixSec: null }), market)).toBeNull();
  });
});
