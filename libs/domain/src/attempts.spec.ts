/**
 * Re-match on failure (issue 16): the attempts of a job, as the contract decider (a failed attempt,
 * the escrow's move) and the job decider (queued again, matched on another node) decide them.
 */
import { LIMITS, type EventData } from '@starminer/events';
import { contractDecider, type ContractCommand } from './contract';
import { draft } from './decider';
import { jobDecider, type JobCommand } from './job';
import { specFor } from './spec-kit';

const contract = specFor(contractDecider);
const job = specFor(jobDecider);

const JOB_ID = 'job-1';
const NODE_1 = 'node-1';
const NODE_2 = 'node-2';
const NODE_3 = 'node-3';
const ADDRESS_1 = '0xaAaAaAaaAaAaAaaAaAAAAAAAAaaaAaAaAaaAaaAa';
const ADDRESS_2 = '0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const ADDRESS_3 = '0xcccccccccccccccccccccccccccccccccccccccc';
const REQUESTER = '0x1111111111111111111111111111111111111111';
const ESCROW_WEI = 4n * 10n ** 18n;
const DEADLINE = 1_700_003_600;
const TX = `0x${'ab'.repeat(32)}`;
const TERMS = `0x${'0e'.repeat(32)}`;

const opened = draft('ContractOpened', {
  jobId: JOB_ID,
  chainJobId: `0x${'0f'.repeat(32)}`,
  contractAddress: '0xdddddddddddddddddddddddddddddddddddddddd',
  requesterAddress: REQUESTER,
  nodeAddress: ADDRESS_1,
  escrowWei: ESCROW_WEI,
  deadlineUnixSec: DEADLINE,
  termsHash: TERMS,
  txHash: TX,
  blockNumber: '42',
});
const started = draft('JobStarted', { jobId: JOB_ID, nodeId: NODE_1 });
const failNode = (nodeId: string, nodeAddress: string): ContractCommand => ({ type: 'FailAttempt', nodeId, nodeAddress, code: 'NODE_OFFLINE', reason: `node ${nodeId} went offline` });
const attemptFailed = (attempt: number, nodeId: string, nodeAddress: string, exhausted = false) =>
  draft('ContractAttemptFailed', { jobId: JOB_ID, attempt, nodeId, nodeAddress, code: 'NODE_OFFLINE', reason: `node ${nodeId} went offline`, exhausted, slash: 'not-slashed-no-rule' });
const moveTo = (attempt: number, nodeId: string, nodeAddress: string, escrowWei = 3n * 10n ** 18n, fromWei = ESCROW_WEI) =>
  ({ attempt, nodeId, nodeAddress, escrowWei, returnedWei: fromWei - escrowWei, deadlineUnixSec: DEADLINE + 600 * attempt, termsHash: TERMS, txHash: TX, blockNumber: String(50 + attempt) }) as const;
const reassigned = (m: ReturnType<typeof moveTo>) => draft('ContractReassigned', { jobId: JOB_ID, ...m });
const record = (m: ReturnType<typeof moveTo>): ContractCommand => ({ type: 'RecordReassigned', ...m });

describe('contract: FailAttempt', () => {
  it('fails the running attempt of the node the contract names: paid nothing, not slashed (no rule), the contract waits for its move', () => {
    contract([opened, started]).when(failNode(NODE_1, ADDRESS_1)).then([attemptFailed(1, NODE_1, ADDRESS_1)]);
    // an open contract whose node never started it too; the address in any case
    contract([opened]).when(failNode(NODE_1, ADDRESS_1.toLowerCase())).then([attemptFailed(1, NODE_1, ADDRESS_1)]);
  });

  it('refunds with the reason on the last attempt', () => {
    const m2 = moveTo(2, NODE_2, ADDRESS_2);
    const m3 = moveTo(3, NODE_3, ADDRESS_3, 2n * 10n ** 18n, m2.escrowWei);
    const history = [opened, started, attemptFailed(1, NODE_1, ADDRESS_1), reassigned(m2), attemptFailed(2, NODE_2, ADDRESS_2), reassigned(m3)];
    expect(LIMITS.jobAttemptsMax).toBe(3);
    contract(history)
      .when(failNode(NODE_3, ADDRESS_3))
      .then([
        attemptFailed(3, NODE_3, ADDRESS_3, true),
        draft('SettlementDecided', { jobId: JOB_ID, outcome: 'refund', reason: `attempts exhausted (3 of 3): node ${NODE_3} went offline` }),
      ]);
  });

  it('does nothing for another node, a second report, a result already in, or an ended contract', () => {
    contract([opened, started]).when(failNode(NODE_2, ADDRESS_2)).then([]);
    contract([opened, started, attemptFailed(1, NODE_1, ADDRESS_1)]).when(failNode(NODE_1, ADDRESS_1)).then([]);
    const decided = draft('SettlementDecided', { jobId: JOB_ID, outcome: 'release', reason: 'result and proof verified' });
    contract([opened, started, decided]).when(failNode(NODE_1, ADDRESS_1)).then([]);
    // the old node's attempt after the move: the contract names the new node now
    contract([opened, attemptFailed(1, NODE_1, ADDRESS_1), reassigned(moveTo(2, NODE_2, ADDRESS_2))]).when(failNode(NODE_1, ADDRESS_1)).then([]);
  });

  it('refuses without an open contract', () => {
    contract([]).when(failNode(NODE_1, ADDRESS_1)).thenThrows('CONTRACT_NOT_OPEN');
    contract([draft('ContractOpenFailed', { jobId: JOB_ID, code: 'X', reason: 'no' })]).when(failNode(NODE_1, ADDRESS_1)).thenThrows('CONTRACT_NOT_OPEN');
  });
});

describe('contract: RecordReassigned', () => {
  const failed = [opened, started, attemptFailed(1, NODE_1, ADDRESS_1)];

  it("records the escrow's move for the next attempt; the new node starts and submits, the old one cannot", () => {
    const m = moveTo(2, NODE_2, ADDRESS_2);
    contract(failed).when(record(m)).then([reassigned(m)]);
    contract([...failed, reassigned(m)]).when({ type: 'StartJob', nodeId: NODE_2, signerAddress: ADDRESS_2 }).then([draft('JobStarted', { jobId: JOB_ID, nodeId: NODE_2 })]);
    contract([...failed, reassigned(m)]).when({ type: 'StartJob', nodeId: NODE_1, signerAddress: ADDRESS_1 }).thenThrows('NOT_ASSIGNED_NODE');
    // the new deadline holds: a result before it is taken, ExpireDeadline waits for it
    contract([...failed, reassigned(m)]).when({ type: 'ExpireDeadline', nowUnixSec: DEADLINE + 1 }).then([]);
  });

  it('is recorded once per attempt', () => {
    const m = moveTo(2, NODE_2, ADDRESS_2);
    contract([...failed, reassigned(m)]).when(record(m)).then([]);
  });

  it('refuses a move nobody waits for, one out of order, or amounts the escrow does not hold', () => {
    contract([opened, started]).when(record(moveTo(2, NODE_2, ADDRESS_2))).thenThrows('CONTRACT_NOT_REASSIGNING');
    contract(failed).when(record(moveTo(3, NODE_2, ADDRESS_2))).thenThrows('ATTEMPT_OUT_OF_ORDER');
    contract(failed).when(record(moveTo(2, NODE_2, ADDRESS_2, ESCROW_WEI + 1n, ESCROW_WEI + 1n))).thenThrows('BAD_AMOUNT');
    contract(failed).when({ ...record(moveTo(2, NODE_2, ADDRESS_2)), returnedWei: 0n } as ContractCommand).thenThrows('BAD_AMOUNT');
  });

  it('waiting for its move, the contract takes no start or result, and refunds at its deadline', () => {
    contract(failed).when({ type: 'StartJob', nodeId: NODE_1, signerAddress: ADDRESS_1 }).thenThrows('CONTRACT_NOT_OPEN');
    contract(failed)
      .when({ type: 'ExpireDeadline', nowUnixSec: DEADLINE + 1 })
      .then([draft('SettlementDecided', { jobId: JOB_ID, outcome: 'refund', reason: `deadline ${DEADLINE} passed without a result` })]);
  });
});

const submitted: EventData<'JobSubmitted'> = {
  jobId: JOB_ID,
  orgId: 'org-1',
  requesterAddress: REQUESTER,
  category: 'inference',
  budgetWei: 10n * 10n ** 18n,
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: [], gpuCount: 0, minVramGiB: 0, tee: false, regions: [] },
  expectedRuntimeSec: 60,
  deadlineSec: 600,
  green: false,
  workload: { kind: 'hash-chain', seed: 'seed', iterations: 1000 },
};
const matchOn = (nodeId: string, nodeAddress: string, costWei = ESCROW_WEI) => ({
  nodeId,
  nodeAddress,
  gpuCount: 1,
  priceWeiPerHour: 10n ** 18n,
  costWei,
  quote: {},
  receipt: {},
  engineVersion: 'test',
});
const jobSubmitted = draft('JobSubmitted', submitted);
const matched1 = draft('JobMatched', { jobId: JOB_ID, ...matchOn(NODE_1, ADDRESS_1) });
const requeue = (attempt: number, failedNodeId: string, budgetWei = ESCROW_WEI): JobCommand => ({ type: 'RequeueJob', attempt, failedNodeId, code: 'NODE_OFFLINE', reason: `node ${failedNodeId} went offline`, budgetWei, submitted });
const requeued = (attempt: number, failedNodeId: string, excludedNodeIds: string[], budgetWei = ESCROW_WEI) =>
  draft('JobRequeued', { jobId: JOB_ID, attempt, failedNodeId, excludedNodeIds, code: 'NODE_OFFLINE', reason: `node ${failedNodeId} went offline`, budgetWei, submitted });

describe('job: RequeueJob and the next match', () => {
  it('queues the job again for its next attempt, without the failed node, for at most the escrow', () => {
    job([jobSubmitted, matched1]).when(requeue(2, NODE_1)).then([requeued(2, NODE_1, [NODE_1])]);
  });

  it('matches the next attempt on another node, within the escrow, naming the attempt', () => {
    const given = [jobSubmitted, matched1, requeued(2, NODE_1, [NODE_1])];
    job(given)
      .when({ type: 'RecordMatch', match: matchOn(NODE_2, ADDRESS_2, 3n * 10n ** 18n) })
      .then([draft('JobMatched', { jobId: JOB_ID, ...matchOn(NODE_2, ADDRESS_2, 3n * 10n ** 18n), attempt: 2 })]);
    job(given).when({ type: 'RecordMatch', match: matchOn(NODE_1, ADDRESS_1, 1n) }).thenThrows('NODE_EXCLUDED');
    job(given).when({ type: 'RecordMatch', match: matchOn(NODE_2, ADDRESS_2, ESCROW_WEI + 1n) }).thenThrows('COST_OVER_BUDGET');
  });

  it('excludes every node that failed the job', () => {
    const matched2 = draft('JobMatched', { jobId: JOB_ID, ...matchOn(NODE_2, ADDRESS_2, 3n * 10n ** 18n), attempt: 2 });
    job([jobSubmitted, matched1, requeued(2, NODE_1, [NODE_1]), matched2]).when(requeue(3, NODE_2, 3n * 10n ** 18n)).then([requeued(3, NODE_2, [NODE_1, NODE_2], 3n * 10n ** 18n)]);
  });

  it('queues an attempt once: a second request is a no-op, so is one for an ended job', () => {
    job([jobSubmitted, matched1, requeued(2, NODE_1, [NODE_1])]).when(requeue(2, NODE_1)).then([]);
    job([jobSubmitted, matched1, draft('JobFailed', { jobId: JOB_ID, code: 'X', reason: 'ended' })]).when(requeue(2, NODE_1)).then([]);
  });

  it('refuses an attempt past the bound, one out of order, another node, no budget, or no job', () => {
    job([jobSubmitted, matched1]).when(requeue(LIMITS.jobAttemptsMax + 1, NODE_1)).thenThrows('ATTEMPTS_EXHAUSTED');
    job([jobSubmitted, matched1]).when(requeue(3, NODE_1)).thenThrows('ATTEMPT_OUT_OF_ORDER');
    job([jobSubmitted, matched1]).when(requeue(2, NODE_2)).thenThrows('NOT_ASSIGNED_NODE');
    job([jobSubmitted, matched1]).when(requeue(2, NODE_1, 0n)).thenThrows('AMOUNT_NOT_POSITIVE');
    job([]).when(requeue(2, NODE_1)).thenThrows('JOB_NOT_FOUND');
  });

  it('a re-queued job is not cancelled by its requester: its escrow is on chain, it ends by the refund', () => {
    job([jobSubmitted, matched1, requeued(2, NODE_1, [NODE_1])]).when({ type: 'CancelJob', orgId: 'org-1', reason: 'bored' }).thenThrows('JOB_NOT_CANCELLABLE');
  });
});
