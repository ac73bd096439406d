import { redundantCopyJobId } from '@starminer/domain';
import { jobSchema } from '@starminer/events';
import type { JobView } from '../views/entities';
import { jobAnswerOf, jobStatusOfContract, redundancyAnswerOf } from './job-answer';

const AGPU = 10n ** 18n;
const compare = { mode: 'exact' as const };

/** A copy's row as the views project it (JobSubmitted.redundantCopy, then RedundancyVerdictRecorded). */
const copy = (copyIndex: number, over: Partial<JobView> = {}): JobView =>
  Object.assign(new Object() as JobView, {
    jobId: redundantCopyJobId('g1', copyIndex),
    orgId: 'org-1',
    status: 'queued',
    category: 'inference',
    urgency: 'normal',
    budgetWei: 10n * AGPU,
    expectedRuntimeSec: 60,
    deadlineSec: 600,
    requirements: { gpuModels: ['H100'], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] },
    workload: { kind: 'command', command: ['python3', 'model.py'] },
    nodeId: null,
    nodeAddress: null,
    gpuCount: null,
    priceWeiPerHour: null,
    costWei: null,
    quote: null,
    receipt: null,
    contractAddress: null,
    deadlineUnixSec: null,
    openTxHash: null,
    settleTxHash: null,
    settledAt: null,
    resultOutput: null,
    resultHash: null,
    waitingReason: null,
    failureCode: null,
    failureReason: null,
    redundancyGroupId: 'g1',
    redundantCopy: { groupId: 'g1', copyIndex, copies: 3, compare },
    redundancyVerdict: null,
    submittedAt: new Date(0),
    updatedAt: new Date(1_000),
    lastSeq: '1',
    ...over,
  });

const verdictOf = (outcome: 'agree' | 'dissent') => ({
  groupId: 'g1',
  copyIndex: 0,
  copies: 3,
  outcome,
  reason: `redundancy: ${outcome}`,
  referenceNodeId: 'node-a',
  agreeingNodeIds: ['node-a', 'node-b'],
  dissentingNodeIds: ['node-c'],
});
const H = (c: string) => `0x${c.repeat(64)}`;

describe('the job answer of a redundant job (issue 17)', () => {
  it('given a group settled by a majority, then the answer shows every copy: its node, result and outcome, and the verdict', () => {
    const rows = [
      copy(0, { status: 'settled', nodeId: 'node-a', resultHash: H('a'), redundancyVerdict: verdictOf('agree') }),
      copy(2, { status: 'refunded', nodeId: 'node-c', resultHash: H('c'), redundancyVerdict: { ...verdictOf('dissent'), copyIndex: 2 } }),
      copy(1, { status: 'settled', nodeId: 'node-b', resultHash: H('a'), redundancyVerdict: { ...verdictOf('agree'), copyIndex: 1 } }),
    ];
    const answer = jobAnswerOf(rows[0], 0, rows);
    expect(jobSchema.safeParse(answer).error).toBeUndefined();
    expect(answer.redundancy).toEqual({
      groupId: 'g1',
      copyIndex: 0,
      copies: 3,
      compare,
      runs: [
        { jobId: 'g1', copyIndex: 0, status: 'settled', nodeId: 'node-a', resultHash: H('a'), outcome: 'agree' },
        { jobId: 'g1-c1', copyIndex: 1, status: 'settled', nodeId: 'node-b', resultHash: H('a'), outcome: 'agree' },
        { jobId: 'g1-c2', copyIndex: 2, status: 'refunded', nodeId: 'node-c', resultHash: H('c'), outcome: 'dissent' },
      ],
      verdict: { kind: 'majority', reason: '2 of 3 copies agree', referenceNodeId: 'node-a', agreeingNodeIds: ['node-a', 'node-b'], dissentingNodeIds: ['node-c'] },
    });
  });

  it('given a tie, then the verdict is the tie with its reason', () => {
    const tie = { ...verdictOf('agree'), copies: 2, outcome: 'tie' as const, reason: 'no result was submitted by a majority of the 2 copies (2 needed)', referenceNodeId: null, dissentingNodeIds: [] };
    const rows = [copy(0, { status: 'refunded', redundancyVerdict: tie }), copy(1, { status: 'refunded', redundancyVerdict: { ...tie, copyIndex: 1 } })];
    expect(redundancyAnswerOf(rows[1], rows)?.verdict).toMatchObject({ kind: 'tie', reason: tie.reason });
  });

  it('given a copy in a page of jobs (no siblings read), then its group is shown without runs; a single run has no redundancy', () => {
    const answer = jobAnswerOf(copy(1));
    expect(jobSchema.safeParse(answer).error).toBeUndefined();
    expect(answer.redundancy).toMatchObject({ groupId: 'g1', copyIndex: 1, runs: null, verdict: null });
    expect(jobAnswerOf(copy(0, { redundancyGroupId: null, redundantCopy: null })).redundancy).toBeUndefined();
  });

  it('given a copy whose result is held for the verdict, then the job is running until its release or refund', () => {
    expect(jobStatusOfContract('awaiting-verdict')).toBe('running');
  });
});
