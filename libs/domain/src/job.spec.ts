import { LIMITS } from '@starminer/events';
import { draft } from './decider';
import { DomainError } from './errors';
import { decideJob, evolveJob, initialJobState, jobDecider, type JobEvent, validateJobSpec, type JobCommand, type JobSpec, type JobState } from './job';
import { specFor } from './spec-kit';

const given = specFor(jobDecider);

const JOB_ID = 'job-1';
const ORG_ID = 'org-1';
const REQUESTER = '0x1111111111111111111111111111111111111111';
const NODE_ADDRESS = '0x2222222222222222222222222222222222222222';
const AGPU_WEI = 10n ** 18n;

const spec = (over: Partial<JobSpec> = {}, requirements: Partial<JobSpec['requirements']> = {}): JobSpec => ({
  category: 'inference',
  budgetWei: 10n * AGPU_WEI,
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: ['H100'], gpuCount: 1, minVramGiB: 40, tee: false, regions: ['eu-west'], ...requirements },
  expectedRuntimeSec: 600,
  deadlineSec: 3600,
  green: false,
  workload: { kind: 'hash-chain', seed: 'abc', iterations: 1000 },
  ...over,
});

const submit = (s: JobSpec = spec(), availableWei = 100n * AGPU_WEI): JobCommand => ({
  type: 'SubmitJob',
  jobId: JOB_ID,
  orgId: ORG_ID,
  requesterAddress: REQUESTER,
  spec: s,
  availableWei,
});

const submitted = (s: JobSpec = spec()): JobEvent =>
  draft('JobSubmitted', {
    jobId: JOB_ID,
    orgId: ORG_ID,
    requesterAddress: REQUESTER,
    category: s.category,
    budgetWei: s.budgetWei,
    urgency: s.urgency,
    latencyPreference: s.latencyPreference,
    requirements: s.requirements,
    expectedRuntimeSec: s.expectedRuntimeSec,
    deadlineSec: s.deadlineSec,
    green: s.green,
    workload: s.workload,
  });

const match = (costWei = 4n * AGPU_WEI) => ({
  nodeId: 'node-1',
  nodeAddress: NODE_ADDRESS,
  gpuCount: 1,
  priceWeiPerHour: 24n * AGPU_WEI,
  costWei,
  quote: { tier: 'standard' },
  receipt: { score: 0.9 },
  engineVersion: 'test-1',
});

const matched = (costWei?: bigint): JobEvent => draft('JobMatched', { jobId: JOB_ID, ...match(costWei) });
const waiting = (reason: string): JobEvent => draft('JobWaiting', { jobId: JOB_ID, reason });
const cancelled = draft('JobCancelled', { jobId: JOB_ID, reason: 'not needed' });
const failed = draft('JobFailed', { jobId: JOB_ID, code: 'OPEN_FAILED', reason: 'escrow not opened' });

const fold = (events: JobEvent[]): JobState => events.reduce(evolveJob, initialJobState());

describe('job decider', () => {
  describe('SubmitJob', () => {
    it('records a valid job that the org can afford', () => {
      given([]).when(submit()).then([submitted()]);
    });

    it('accepts a budget equal to what the org has available', () => {
      const s = spec({ budgetWei: 7n * AGPU_WEI });
      given([]).when(submit(s, 7n * AGPU_WEI)).then([submitted(s)]);
    });

    it("records a vault's job with its firing, the vault's commitment being what it may draw", () => {
      const vault = { vaultId: 'vault-1', firingId: 'vf_1', specHash: `0x${'5a'.repeat(32)}` };
      const e = submitted();
      const withVault = (availableWei: bigint): JobCommand => ({ ...(submit(spec(), availableWei) as Extract<JobCommand, { type: 'SubmitJob' }>), vault });
      given([]).when(withVault(10n * AGPU_WEI)).then([{ ...e, data: { ...e.data, vault } } as JobEvent]);
      given([]).when(withVault(10n * AGPU_WEI - 1n)).thenThrows('INSUFFICIENT_FUNDS');
    });

    it('accepts a budget-and-deadline-only job (no models, gpuCount 0)', () => {
      const s = spec({}, { gpuModels: [], gpuCount: 0 });
      given([]).when(submit(s)).then([submitted(s)]);
    });

    it('refuses a job id that exists, whatever its state', () => {
      given([submitted()]).when(submit()).thenThrows('JOB_EXISTS');
      given([submitted(), cancelled]).when(submit()).thenThrows('JOB_EXISTS');
    });

    it('refuses a budget greater than what the org has available', () => {
      given([]).when(submit(spec({ budgetWei: 10n * AGPU_WEI }), 10n * AGPU_WEI - 1n)).thenThrows('INSUFFICIENT_FUNDS');
    });

    it('refuses with kind insufficient-funds and says both amounts', () => {
      const run = () => decideJob(submit(spec({ budgetWei: 5n }), 4n), initialJobState());
      expect(run).toThrow(DomainError);
      expect(run).toThrow(expect.objectContaining({ kind: 'insufficient-funds', details: { budgetWei: '5', availableWei: '4' } }));
    });

    it('validates the spec before it looks at funds', () => {
      given([]).when(submit(spec({ budgetWei: 0n }), 0n)).thenThrows('BUDGET_NOT_POSITIVE');
    });

    it.each<[string, JobSpec]>([
      ['BUDGET_NOT_POSITIVE', spec({ budgetWei: 0n })],
      ['BUDGET_NOT_POSITIVE', spec({ budgetWei: -1n })],
      ['BUDGET_TOO_LARGE', spec({ budgetWei: LIMITS.budgetWeiMax + 1n })],
      ['UNKNOWN_GPU_MODEL', spec({}, { gpuModels: ['H100', 'GTX-FAKE'] })],
      ['GPU_COUNT_REQUIRED', spec({}, { gpuModels: ['A100'], gpuCount: 0 })],
      ['GPU_COUNT_TOO_LARGE', spec({}, { gpuCount: LIMITS.gpusPerNodeMax + 1 })],
      ['RUNTIME_OUT_OF_RANGE', spec({ expectedRuntimeSec: 0 })],
      ['RUNTIME_OUT_OF_RANGE', spec({ expectedRuntimeSec: LIMITS.expectedRuntimeSecMax + 1, deadlineSec: LIMITS.deadlineSecMax })],
      ['DEADLINE_OUT_OF_RANGE', spec({ expectedRuntimeSec: 600, deadlineSec: 599 })],
      ['DEADLINE_OUT_OF_RANGE', spec({ deadlineSec: LIMITS.deadlineSecMax + 1 })],
    ])('refuses %s', (code, s) => {
      given([]).when(submit(s, LIMITS.budgetWeiMax * 2n)).thenThrows(code);
    });

    it('accepts every limit at its edge', () => {
      const s = spec(
        { budgetWei: LIMITS.budgetWeiMax, expectedRuntimeSec: LIMITS.expectedRuntimeSecMax, deadlineSec: LIMITS.expectedRuntimeSecMax },
        { gpuCount: LIMITS.gpusPerNodeMax },
      );
      expect(() => validateJobSpec(s)).not.toThrow();
      expect(() => validateJobSpec(spec({ deadlineSec: LIMITS.deadlineSecMax }))).not.toThrow();
      given([]).when(submit(s, LIMITS.budgetWeiMax)).then([submitted(s)]);
    });

    it('names the limit it refused on', () => {
      expect(() => validateJobSpec(spec({}, { gpuCount: LIMITS.gpusPerNodeMax + 1 }))).toThrow(expect.objectContaining({ kind: 'invalid', details: { limit: LIMITS.gpusPerNodeMax } }));
    });
  });

  describe('RecordWaiting', () => {
    it('records why a queued job waits', () => {
      given([submitted()]).when({ type: 'RecordWaiting', reason: 'no H100 online' }).then([waiting('no H100 online')]);
    });

    it('records a new reason when the reason changes', () => {
      given([submitted(), waiting('no H100 online')]).when({ type: 'RecordWaiting', reason: 'all busy' }).then([waiting('all busy')]);
    });

    it('records the node a large job holds while it drains', () => {
      const hold = { nodeId: 'node-1', gpuCount: 8, sinceMs: 600_000 };
      given([submitted(), waiting('waiting for capacity')])
        .when({ type: 'RecordWaiting', reason: 'waiting for capacity; holding node node-1 until 8 of its GPUs are free', hold })
        .then([draft('JobWaiting', { jobId: JOB_ID, reason: 'waiting for capacity; holding node node-1 until 8 of its GPUs are free', hold })]);
    });

    it('records nothing when the reason is the same as the last one', () => {
      given([submitted(), waiting('no H100 online')]).when({ type: 'RecordWaiting', reason: 'no H100 online' }).then([]);
    });

    it.each<[string, JobEvent[]]>([
      ['unknown', []],
      ['matched', [submitted(), matched()]],
      ['cancelled', [submitted(), cancelled]],
      ['failed', [submitted(), failed]],
    ])('records nothing for a job that is %s', (_status, history) => {
      given(history).when({ type: 'RecordWaiting', reason: 'anything' }).then([]);
    });
  });

  describe('RecordMatch', () => {
    it('records the match of a queued job', () => {
      given([submitted()]).when({ type: 'RecordMatch', match: match() }).then([matched()]);
    });

    it('records the match of a job that was waiting', () => {
      given([submitted(), waiting('busy')]).when({ type: 'RecordMatch', match: match() }).then([matched()]);
    });

    it('accepts a cost equal to the budget', () => {
      given([submitted()]).when({ type: 'RecordMatch', match: match(10n * AGPU_WEI) }).then([matched(10n * AGPU_WEI)]);
    });

    it('refuses a cost over the budget', () => {
      given([submitted()]).when({ type: 'RecordMatch', match: match(10n * AGPU_WEI + 1n) }).thenThrows('COST_OVER_BUDGET');
    });

    it.each<[string, JobEvent[]]>([
      ['unknown', []],
      ['matched', [submitted(), matched()]],
      ['cancelled', [submitted(), cancelled]],
      ['failed', [submitted(), failed]],
    ])('refuses a job that is %s', (_status, history) => {
      given(history).when({ type: 'RecordMatch', match: match() }).thenThrows('JOB_NOT_QUEUED');
    });
  });

  describe('CancelJob', () => {
    const cancel = (orgId = ORG_ID): JobCommand => ({ type: 'CancelJob', orgId, reason: 'not needed' });

    it('cancels a queued job of the org', () => {
      given([submitted()]).when(cancel()).then([cancelled]);
    });

    it('cancels a job that was waiting', () => {
      given([submitted(), waiting('busy')]).when(cancel()).then([cancelled]);
    });

    it('refuses an unknown job', () => {
      given([]).when(cancel()).thenThrows('JOB_NOT_FOUND');
    });

    it("answers not-found (not forbidden) for another org's job, so ids do not leak", () => {
      given([submitted()]).when(cancel('org-2')).thenThrows('JOB_NOT_FOUND');
      given([submitted(), matched()]).when(cancel('org-2')).thenThrows('JOB_NOT_FOUND');
    });

    it.each<[string, JobEvent[]]>([
      ['matched', [submitted(), matched()]],
      ['cancelled', [submitted(), cancelled]],
      ['failed', [submitted(), failed]],
    ])('refuses a job that is %s', (_status, history) => {
      given(history).when(cancel()).thenThrows('JOB_NOT_CANCELLABLE');
    });
  });

  describe('FailJob', () => {
    const fail: JobCommand = { type: 'FailJob', code: 'OPEN_FAILED', reason: 'escrow not opened' };

    it('fails a queued job', () => {
      given([submitted()]).when(fail).then([failed]);
    });

    it('fails a matched job', () => {
      given([submitted(), matched()]).when(fail).then([failed]);
    });

    it('refuses an unknown job', () => {
      given([]).when(fail).thenThrows('JOB_NOT_FOUND');
    });

    it('records nothing for a job that already failed (a redelivery)', () => {
      given([submitted(), failed]).when(fail).then([]);
    });

    it('records nothing for a cancelled job', () => {
      given([submitted(), cancelled]).when(fail).then([]);
    });

    it('only if queued: fails a queued or waiting job, and records nothing once it is matched (the match wins)', () => {
      const expire: JobCommand = { type: 'FailJob', code: 'OPEN_FAILED', reason: 'escrow not opened', onlyIfQueued: true };
      given([submitted()]).when(expire).then([failed]);
      given([submitted(), waiting('no H100 online')]).when(expire).then([failed]);
      given([submitted(), matched()]).when(expire).then([]);
    });
  });

  describe('evolve', () => {
    it('a submitted job is queued with its budget and org', () => {
      expect(fold([submitted()])).toEqual({ status: 'queued', jobId: JOB_ID, orgId: ORG_ID, budgetWei: 10n * AGPU_WEI });
    });

    it('remembers the last waiting reason', () => {
      expect(fold([submitted(), waiting('a'), waiting('b')])).toMatchObject({ status: 'queued', waitingReason: 'b' });
    });

    it('a match moves a queued job to matched with node and cost', () => {
      expect(fold([submitted(), waiting('a'), matched()])).toEqual({
        status: 'matched',
        jobId: JOB_ID,
        orgId: ORG_ID,
        budgetWei: 10n * AGPU_WEI,
        nodeId: 'node-1',
        costWei: 4n * AGPU_WEI,
      });
    });

    it('a JobMatched after JobCancelled leaves the job cancelled', () => {
      expect(fold([submitted(), cancelled, matched()])).toEqual({ status: 'cancelled', jobId: JOB_ID, orgId: ORG_ID });
      given([submitted(), cancelled, matched()]).when({ type: 'FailJob', code: 'X', reason: 'y' }).then([]);
    });

    it('a JobMatched after JobFailed leaves the job failed', () => {
      expect(fold([submitted(), failed, matched()]).status).toBe('failed');
    });

    it('a second JobMatched does not replace the first', () => {
      const second = draft('JobMatched', { jobId: JOB_ID, ...match(1n), nodeId: 'node-2' });
      expect(fold([submitted(), matched(), second])).toMatchObject({ status: 'matched', nodeId: 'node-1', costWei: 4n * AGPU_WEI });
    });

    it('a JobWaiting after the match does not take the job back to queued', () => {
      expect(fold([submitted(), matched(), waiting('late')]).status).toBe('matched');
    });

    it('events about an unknown job leave it unknown', () => {
      expect(fold([waiting('x'), matched(), cancelled, failed])).toEqual({ status: 'none' });
    });
  });
});

describe('job requirements that no listed model can meet', () => {
  it('refuses a VRAM minimum above every listed model, naming the largest there is', () => {
    const spec: JobSpec = {
      category: 'ai-training',
      budgetWei: 10n ** 18n,
      urgency: 'normal',
      latencyPreference: 'normal',
      requirements: { gpuModels: ['T4', 'RTX4090'], gpuCount: 1, minVramGiB: 200, tee: false, regions: [] },
      expectedRuntimeSec: 60,
      deadlineSec: 600,
      green: false,
      workload: { kind: 'hash-chain', seed: 's', iterations: 10 },
    };
    let caught: unknown;
    try {
      validateJobSpec(spec);
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: 'REQUIREMENT_UNSATISFIABLE', details: { limit: 24 } });
  });
});
