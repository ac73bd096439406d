import type { EventData } from '@starminer/events';
import { contractDecider } from './contract';
import { jobDecider, type JobSpec } from './job';
import { draft } from './decider';
import { decideRedundancyGroup, redundantCopyJobId, redundantCopyJobIds, type RedundancyGroup, type RedundantCopy } from './redundancy-group';
import { specFor } from './spec-kit';
import { resultHashOf } from './workloads';

const group = (copies: number, compare: RedundancyGroup['compare'] = { mode: 'exact' }): RedundancyGroup => ({ groupId: 'job-1', copyIndex: 0, copies, compare });
const held = (i: number, nodeId: string, output: string): RedundantCopy => ({ jobId: redundantCopyJobId('job-1', i), copyIndex: i, state: 'held', run: { nodeId, output, resultHash: resultHashOf(output) } });
const pending = (i: number): RedundantCopy => ({ jobId: redundantCopyJobId('job-1', i), copyIndex: i, state: 'pending' });
const ended = (i: number): RedundantCopy => ({ jobId: redundantCopyJobId('job-1', i), copyIndex: i, state: 'ended' });

describe('redundant copies: ids', () => {
  it('copy 0 keeps the requester job id; the others derive from it and the index, so a retry finds them', () => {
    expect(redundantCopyJobIds('job-1', 3)).toEqual(['job-1', 'job-1-c1', 'job-1-c2']);
  });
});

describe('decideRedundancyGroup', () => {
  it('given k = 3 with one dishonest node, when all three are held, then the two honest copies agree (released) and the third dissents', () => {
    const d = decideRedundancyGroup(group(3), [held(0, 'node-a', '42'), held(1, 'node-b', '42'), held(2, 'node-c', '43')]);
    expect(d.kind).toBe('decide');
    if (d.kind !== 'decide') return;
    expect(d.decisions.map((x) => [x.jobId, x.verdict.outcome])).toEqual([
      ['job-1', 'agree'],
      ['job-1-c1', 'agree'],
      ['job-1-c2', 'dissent'],
    ]);
    expect(d.decisions[2].verdict).toMatchObject({ groupId: 'job-1', copyIndex: 2, copies: 3, referenceNodeId: 'node-a', agreeingNodeIds: ['node-a', 'node-b'], dissentingNodeIds: ['node-c'] });
  });

  it('given k = 2 that disagree, then every copy is refunded as a tie, with the reason', () => {
    const d = decideRedundancyGroup(group(2), [held(0, 'node-a', '42'), held(1, 'node-b', '43')]);
    if (d.kind !== 'decide') throw new Error('expected a decision');
    expect(d.decisions.map((x) => x.verdict.outcome)).toEqual(['tie', 'tie']);
    expect(d.decisions[0].verdict.reason).toMatch(/no result was submitted by a majority of the 2 copies \(2 needed\)/);
  });

  it('given a copy that may still submit, then the group waits: the verdict counts the copies asked', () => {
    expect(decideRedundancyGroup(group(3), [held(0, 'node-a', '42'), held(1, 'node-b', '42'), pending(2)])).toEqual({ kind: 'wait', reason: '1 of 3 copies may still submit' });
  });

  it('given a copy that ended without a result (its deadline refunded it), then the others are decided: two of three agreeing are a majority', () => {
    const d = decideRedundancyGroup(group(3), [held(0, 'node-a', '42'), held(1, 'node-b', '42'), ended(2)]);
    if (d.kind !== 'decide') throw new Error('expected a decision');
    expect(d.decisions.map((x) => x.verdict.outcome)).toEqual(['agree', 'agree']);
  });

  it('given tolerance comparison of float outputs within the tolerance, then they agree', () => {
    const d = decideRedundancyGroup(group(2, { mode: 'tolerance', absTolerance: 1e-3, relTolerance: 0 }), [held(0, 'a', '[1.0, 2.0]'), held(1, 'b', '[1.0004, 2.0]')]);
    if (d.kind !== 'decide') throw new Error('expected a decision');
    expect(d.decisions.map((x) => x.verdict.outcome)).toEqual(['agree', 'agree']);
  });

  it('given a verdict already recorded, when a late copy is held, then it is compared with the reference run', () => {
    const decided = (i: number, nodeId: string, output: string): RedundantCopy => ({
      jobId: redundantCopyJobId('job-1', i),
      copyIndex: i,
      state: 'decided',
      run: { nodeId, output, resultHash: resultHashOf(output) },
      verdict: { outcome: 'agree', reason: 'majority', referenceNodeId: 'node-a', agreeingNodeIds: ['node-a', 'node-b'], dissentingNodeIds: [] },
    });
    const late = decideRedundancyGroup(group(3), [decided(0, 'node-a', '42'), decided(1, 'node-b', '42'), held(2, 'node-c', '7')]);
    if (late.kind !== 'decide') throw new Error('expected a decision');
    expect(late.decisions).toHaveLength(1);
    expect(late.decisions[0].verdict).toMatchObject({ copyIndex: 2, outcome: 'dissent', dissentingNodeIds: ['node-c'] });
  });

  it('given a held copy past its deadline, then the pending copies count as missing and the held runs are decided', () => {
    const d = decideRedundancyGroup(group(3), [held(0, 'node-a', '42'), held(1, 'node-b', '42'), pending(2)], { heldDeadlinePassed: true });
    if (d.kind !== 'decide') throw new Error('expected a decision');
    expect(d.decisions.map((x) => x.verdict.outcome)).toEqual(['agree', 'agree']);
  });

  it('given a verdict recorded on one copy only (a crash between the appends), then the other held copy is decided as that verdict classed it', () => {
    const recorded: RedundantCopy = {
      jobId: 'job-1',
      copyIndex: 0,
      state: 'decided',
      run: { nodeId: 'node-a', output: '42', resultHash: resultHashOf('42') },
      verdict: { outcome: 'agree', reason: 'majority', referenceNodeId: 'node-a', agreeingNodeIds: ['node-a', 'node-b'], dissentingNodeIds: ['node-c'] },
    };
    const d = decideRedundancyGroup(group(3), [recorded, held(1, 'node-b', '42'), held(2, 'node-c', '43')]);
    if (d.kind !== 'decide') throw new Error('expected a decision');
    expect(d.decisions.map((x) => [x.jobId, x.verdict.outcome])).toEqual([
      ['job-1-c1', 'agree'],
      ['job-1-c2', 'dissent'],
    ]);
  });

  it('given nothing held, then it waits', () => {
    expect(decideRedundancyGroup(group(2), [pending(0), ended(1)]).kind).toBe('wait');
  });
});

describe('contract of a redundant copy', () => {
  const given = specFor(contractDecider);
  const opened: EventData<'ContractOpened'> = {
    jobId: 'job-1',
    chainJobId: `0x${'1'.repeat(64)}`,
    contractAddress: `0x${'2'.repeat(40)}`,
    requesterAddress: `0x${'3'.repeat(40)}`,
    nodeAddress: `0x${'4'.repeat(40)}`,
    escrowWei: 100n,
    deadlineUnixSec: 1_000,
    termsHash: `0x${'5'.repeat(64)}`,
    txHash: null,
    blockNumber: null,
  };
  const submit = {
    type: 'SubmitResult' as const,
    nodeId: 'node-a',
    signerAddress: opened.nodeAddress,
    resultHash: `0x${'6'.repeat(64)}`,
    proofHash: `0x${'7'.repeat(64)}`,
    signature: `0x${'8'.repeat(130)}`,
    output: '42',
    verification: { ok: true as const },
    nowUnixSec: 500,
  };
  const result = { jobId: 'job-1', nodeId: 'node-a', resultHash: submit.resultHash, proofHash: submit.proofHash, signature: submit.signature, output: '42' };
  const verdict = (outcome: 'agree' | 'dissent' | 'tie') => ({
    groupId: 'job-1',
    copyIndex: 0,
    copies: 3,
    outcome,
    reason: `redundancy: ${outcome}`,
    referenceNodeId: outcome === 'tie' ? null : 'node-b',
    agreeingNodeIds: ['node-b'],
    dissentingNodeIds: [],
  });
  const heldBefore = [
    { type: 'ContractOpened' as const, data: opened },
    { type: 'ResultSubmitted' as const, data: result },
  ];

  it('given an open contract, when a verified result is submitted with hold, then it is recorded and held: no settlement yet', () => {
    given([{ type: 'ContractOpened', data: opened }])
      .when({ ...submit, hold: true })
      .then([draft('ResultSubmitted', result)]);
  });

  it('given a held result, when a second result comes, then it is refused: the contract has its result', () => {
    given(heldBefore).when({ ...submit, hold: true }).thenThrows('RESULT_ALREADY_FINAL');
  });

  it('given a held result, when its deadline passes, then nothing expires it: the verdict decides', () => {
    given(heldBefore).when({ type: 'ExpireDeadline', nowUnixSec: 2_000 }).then([]);
  });

  it('given a held result, when the verdict agrees, then it is released', () => {
    given(heldBefore)
      .when({ type: 'DecideRedundancy', verdict: verdict('agree') })
      .then([
        draft('RedundancyVerdictRecorded', { ...verdict('agree'), jobId: 'job-1' }),
        draft('SettlementDecided', { jobId: 'job-1', outcome: 'release', reason: 'redundancy: agree' }),
      ]);
  });

  it('given a held result, when the verdict dissents, then the result is rejected (slashable) and refunded', () => {
    given(heldBefore)
      .when({ type: 'DecideRedundancy', verdict: verdict('dissent') })
      .then([
        draft('RedundancyVerdictRecorded', { ...verdict('dissent'), jobId: 'job-1' }),
        draft('ResultRejected', { jobId: 'job-1', code: 'REDUNDANCY_DISSENT', reason: 'redundancy: dissent' }),
        draft('SettlementDecided', { jobId: 'job-1', outcome: 'refund', reason: 'result rejected: redundancy: dissent' }),
      ]);
  });

  it('given a held result, when the verdict is a tie, then it is refunded with the reason, not rejected', () => {
    given(heldBefore)
      .when({ type: 'DecideRedundancy', verdict: verdict('tie') })
      .then([
        draft('RedundancyVerdictRecorded', { ...verdict('tie'), jobId: 'job-1' }),
        draft('SettlementDecided', { jobId: 'job-1', outcome: 'refund', reason: 'redundancy: tie' }),
      ]);
  });

  it('given a verdict already applied, when it is applied again, then nothing is appended', () => {
    given([...heldBefore, { type: 'RedundancyVerdictRecorded', data: { ...verdict('agree'), jobId: 'job-1' } }, { type: 'SettlementDecided', data: { jobId: 'job-1', outcome: 'release', reason: 'x' } }])
      .when({ type: 'DecideRedundancy', verdict: verdict('agree') })
      .then([]);
  });

  it('given no contract, when a verdict comes, then it is refused', () => {
    given([]).when({ type: 'DecideRedundancy', verdict: verdict('agree') }).thenThrows('CONTRACT_NOT_OPEN');
  });
});

describe('job of a redundant request', () => {
  const given = specFor(jobDecider);
  const spec = (redundancy: JobSpec['redundancy'], gpuModels = ['H100']): JobSpec => ({
    category: 'inference',
    budgetWei: 10n,
    urgency: 'normal',
    latencyPreference: 'normal',
    requirements: { gpuModels, gpuCount: 1, minVramGiB: 0, tee: false, regions: [] },
    expectedRuntimeSec: 60,
    deadlineSec: 600,
    green: false,
    workload: { kind: 'command', command: ['echo', '1'] },
    ...(redundancy ? { redundancy } : {}),
  });
  const submit = (s: JobSpec, copy?: { groupId: string; copyIndex: number }) => ({
    type: 'SubmitJob' as const,
    jobId: copy ? redundantCopyJobId(copy.groupId, copy.copyIndex) : 'job-1',
    orgId: 'org-1',
    requesterAddress: `0x${'1'.repeat(40)}`,
    spec: s,
    availableWei: 10n,
    ...(copy ? { copy } : {}),
  });

  it('given a copy of a group, when submitted, then JobSubmitted names its group, index, copies and comparison', () => {
    const compare = { mode: 'tolerance' as const, absTolerance: 1e-3, relTolerance: 0 };
    const [e] = given([]).when(submit(spec({ copies: 3, compare }), { groupId: 'job-1', copyIndex: 2 })).events();
    expect(e.data).toMatchObject({ jobId: 'job-1-c2', redundantCopy: { groupId: 'job-1', copyIndex: 2, copies: 3, compare } });
  });

  it.each([
    ['one copy', spec({ copies: 1, compare: { mode: 'exact' } }), 'REDUNDANCY_COPIES_OUT_OF_RANGE'],
    ['a tolerance above the limit', spec({ copies: 2, compare: { mode: 'tolerance', absTolerance: 2, relTolerance: 0 } }), 'REDUNDANCY_TOLERANCE_INVALID'],
    ['two GPU models', spec({ copies: 2, compare: { mode: 'exact' } }, ['H100', 'A100']), 'REDUNDANCY_GPU_MODEL_REQUIRED'],
  ])('given %s, then it is refused by code', (_what, s, code) => {
    given([]).when(submit(s)).thenThrows(code);
  });
});
