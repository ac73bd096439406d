import { runHashChain, type WorkloadResult } from '@starminer/domain';
import { StarMinerApiError, StarMinerNetworkError, type Assignment, type NodeRegistration, type ResultSubmission, type WorkloadSpec } from '@starminer/sdk/provider';
import type { NodeTelemetry } from '@starminer/events';
import { DEFAULT_CONTAINER_LIMITS, type ContainerRuntime } from './containers/engine';
import { BACKOFF_MS_MAX, HEARTBEAT_INTERVAL_MS, TELEMETRY_INTERVAL_MS, JOB_ATTEMPTS_MAX, POLL_INTERVAL_MS, POLL_WAIT_MS, ProviderAgent, pollDelayMs, type DoneJournal, type ProviderApi, type SignResultInput } from './agent';

const registration: NodeRegistration = {
  nodeId: 'node-1',
  providerId: 'p',
  gpuModel: 'H100',
  gpuCount: 1,
  vramGiB: 80,
  region: 'eu-west',
  latencyMs: 10,
  tee: false,
  energy: { carbonGPerKwh: 100, renewableShare: 0.5 },
  benchmark: { kind: 'hash-chain-sha256', score: 1_000_000, measuredAt: '2026-01-01T00:00:00Z' },
  stakeWei: '0',
  runtimes: ['hash-chain', 'matmul'],
};

const assignment = (jobId: string, over: Partial<Assignment> = {}): Assignment => ({
  jobId,
  status: 'contracted',
  workload: { kind: 'hash-chain', seed: jobId, iterations: 10 },
  expectedRuntimeSec: 1,
  deadlineAt: '2033-05-18T03:33:20.000Z',
  costWei: '100',
  contractAddress: '0x0000000000000000000000000000000000000001',
  market: { chainId: 31337, addresses: { token: '0x00000000000000000000000000000000000000aa', escrow: '0x00000000000000000000000000000000000000bb' } },
  ...over,
});

type Call = { op: string; jobId?: string; body?: ResultSubmission; waitMs?: number; telemetry?: NodeTelemetry; reason?: string };

/** A fake gateway: records calls; each op can be made to fail by queueing errors. */
class FakeApi implements ProviderApi {
  calls: Call[] = [];
  assigned: Assignment[] = [];
  failures: Record<string, unknown[]> = {};
  private fail(op: string): void {
    const err = this.failures[op]?.shift();
    if (err) throw err;
  }
  async registerNode({ registration }: { registration: NodeRegistration }) {
    this.calls.push({ op: 'register' });
    this.fail('register');
    return { nodeId: registration.nodeId };
  }
  async heartbeat(p: { nodeId: string; telemetry?: NodeTelemetry }) {
    this.calls.push(p.telemetry ? { op: 'heartbeat', telemetry: p.telemetry } : { op: 'heartbeat' });
    this.fail('heartbeat');
    return { ok: true };
  }
  async getAssignments(p: { nodeId: string; waitMs?: number; signal?: AbortSignal }) {
    this.calls.push({ op: 'assignments', waitMs: p.waitMs });
    this.fail('assignments');
    return { assignments: this.assigned };
  }
  async startJob({ jobId }: { jobId: string }) {
    this.calls.push({ op: 'start', jobId });
    this.fail('start');
    return { status: 'running' };
  }
  async submitResult({ jobId, result: body }: { jobId: string; result: ResultSubmission }) {
    this.calls.push({ op: 'submit', jobId, body });
    this.fail('submit');
    return { status: 'settling' };
  }
  async giveUpJob({ jobId, reason }: { jobId: string; reason: string }) {
    this.calls.push({ op: 'give-up', jobId, reason });
    this.fail('give-up');
    return { status: 'queued' };
  }
  ops(op: string): Call[] {
    return this.calls.filter((c) => c.op === op);
  }
}

function setup(opts: { commandRuntime?: boolean; container?: ContainerRuntime; journal?: DoneJournal } = {}) {
  const api = new FakeApi();
  const ran: WorkloadSpec[] = [];
  const ranFor: string[] = [];
  const signed: SignResultInput[] = [];
  const sleeps: number[] = [];
  const agent = new ProviderAgent({
    api,
    clock: { now: () => 0, sleep: async (ms) => void sleeps.push(ms) },
    registration,
    commandRuntime: opts.commandRuntime ?? false,
    container: opts.container,
    runWorkload: async (w, jobId): Promise<WorkloadResult> => {
      ran.push(w);
      ranFor.push(jobId);
      // a container's stand-in result (what runs one is runtime.ts's, specced in containers/)
      if (w.kind === 'command' && w.image !== undefined) return runHashChain(w.command.join(' '), 1);
      if (w.kind !== 'hash-chain') throw new Error('only hash-chain in this fake');
      return runHashChain(w.seed, w.iterations);
    },
    signResult: async (input) => {
      signed.push(input);
      return `0x${'ab'.repeat(65)}`;
    },
    journal: opts.journal,
  });
  return { api, agent, ran, ranFor, signed, sleeps };
}

const apiError = (status: number, code: string) => new StarMinerApiError(status, code, code);

describe('ProviderAgent', () => {
  it('given a contracted assignment, starts it, runs the workload, signs with the market of the assignment and submits the result', async () => {
    const { api, agent, ran, signed } = setup();
    api.assigned = [assignment('j1')];
    const outcomes = await agent.pollOnce();
    expect(outcomes.get('j1')).toEqual({ kind: 'submitted', status: 'settling' });
    expect(api.calls.map((c) => c.op)).toEqual(['assignments', 'start', 'submit']);
    expect(ran).toEqual([{ kind: 'hash-chain', seed: 'j1', iterations: 10 }]);
    const expected = runHashChain('j1', 10);
    expect(signed[0]).toEqual({ jobId: 'j1', resultHash: expected.resultHash, proofHash: expected.proofHash, chainId: 31337, addresses: { escrow: assignment('j1').market.addresses.escrow } });
    expect(api.ops('submit')[0].body).toEqual({ output: expected.output, resultHash: expected.resultHash, proofHash: expected.proofHash, signature: `0x${'ab'.repeat(65)}` });
  });

  it('given the same assignment again on later polls (the read model lags), never runs or submits it twice', async () => {
    const { api, agent, ran } = setup();
    api.assigned = [assignment('j1')];
    await agent.pollOnce();
    await agent.pollOnce();
    api.assigned = [assignment('j1', { status: 'running' })];
    await agent.pollOnce();
    expect(ran).toHaveLength(1);
    expect(api.ops('submit')).toHaveLength(1);
    expect(api.ops('start')).toHaveLength(1);
  });

  it('given an assignment already running (started before a restart), does not start it again but runs and submits it', async () => {
    const { api, agent, ran } = setup();
    api.assigned = [assignment('j1', { status: 'running' })];
    await agent.pollOnce();
    expect(api.ops('start')).toHaveLength(0);
    expect(ran).toHaveLength(1);
    expect(api.ops('submit')).toHaveLength(1);
  });

  it('given a command workload while the command runtime is off, refuses it without starting or running it', async () => {
    const { api, agent, ran } = setup({ commandRuntime: false });
    api.assigned = [assignment('j1', { workload: { kind: 'command', command: ['echo', 'hi'] } })];
    const outcomes = await agent.pollOnce();
    expect(outcomes.get('j1')).toEqual({ kind: 'refused', code: 'COMMAND_RUNTIME_DISABLED' });
    expect(api.ops('start')).toHaveLength(0);
    expect(ran).toHaveLength(0);
    expect(agent.hasDone('j1')).toBe(true);
  });

  it('given a workload with an image, refuses it without a container runtime, and runs it for its job with one (even with host commands off)', async () => {
    const image = { kind: 'command' as const, image: 'alpine:3.20', command: ['echo', 'hi'] };
    const without = setup({ commandRuntime: true });
    without.api.assigned = [assignment('j1', { workload: image })];
    expect((await without.agent.pollOnce()).get('j1')).toEqual({ kind: 'refused', code: 'CONTAINER_IMAGE_UNSUPPORTED' });
    expect(without.ran).toHaveLength(0);
    const container: ContainerRuntime = { engine: 'podman', path: 'podman', limits: DEFAULT_CONTAINER_LIMITS, gpus: false };
    const withIt = setup({ commandRuntime: false, container });
    withIt.api.assigned = [assignment('j2', { workload: image })];
    expect((await withIt.agent.pollOnce()).get('j2')).toEqual({ kind: 'submitted', status: 'settling' });
    expect(withIt.ranFor).toEqual(['j2']);
  });

  it('given start answers 409 (already running), carries on with the work', async () => {
    const { api, agent } = setup();
    api.assigned = [assignment('j1')];
    api.failures.start = [apiError(409, 'CONTRACT_NOT_OPEN')];
    expect((await agent.pollOnce()).get('j1')).toEqual({ kind: 'submitted', status: 'settling' });
  });

  it('given start fails on the network, retries on the next poll', async () => {
    const { api, agent, ran } = setup();
    api.assigned = [assignment('j1')];
    api.failures.start = [new StarMinerNetworkError('ECONNREFUSED')];
    expect((await agent.pollOnce()).get('j1')).toEqual({ kind: 'retry-later', code: 'NETWORK' });
    expect(ran).toHaveLength(0);
    expect((await agent.pollOnce()).get('j1')).toEqual({ kind: 'submitted', status: 'settling' });
    expect(api.ops('start')).toHaveLength(2);
  });

  it('given submitting fails, resubmits the kept result on the next poll without running the workload again', async () => {
    const { api, agent, ran } = setup();
    api.assigned = [assignment('j1')];
    api.failures.submit = [apiError(503, 'RETRY_LATER')];
    expect((await agent.pollOnce()).get('j1')).toEqual({ kind: 'retry-later', code: 'RETRY_LATER' });
    api.assigned = [assignment('j1', { status: 'running' })];
    expect((await agent.pollOnce()).get('j1')).toEqual({ kind: 'submitted', status: 'settling' });
    expect(ran).toHaveLength(1);
    expect(api.ops('submit')).toHaveLength(2);
    expect(api.ops('submit')[0].body).toEqual(api.ops('submit')[1].body);
  });

  it('given the result is already final (our earlier submit landed but its answer was lost), counts the job done', async () => {
    const { api, agent } = setup();
    api.assigned = [assignment('j1')];
    api.failures.submit = [apiError(409, 'RESULT_ALREADY_FINAL')];
    expect((await agent.pollOnce()).get('j1')).toEqual({ kind: 'already-done' });
    expect(agent.hasDone('j1')).toBe(true);
  });

  it('given the result is refused (a 4xx such as a bad signature), gives the job up instead of looping', async () => {
    const { api, agent } = setup();
    api.assigned = [assignment('j1')];
    api.failures.submit = [apiError(403, 'BAD_RESULT_SIGNATURE')];
    expect((await agent.pollOnce()).get('j1')).toEqual({ kind: 'failed', code: 'BAD_RESULT_SIGNATURE' });
    await agent.pollOnce();
    expect(api.ops('submit')).toHaveLength(1);
  });

  it('given a job that keeps failing, gives it up after JOB_ATTEMPTS_MAX attempts', async () => {
    const { api, agent } = setup();
    api.assigned = [assignment('j1')];
    api.failures.start = Array.from({ length: 100 }, () => new StarMinerNetworkError('down'));
    for (let i = 0; i < JOB_ATTEMPTS_MAX; i += 1) expect((await agent.pollOnce()).get('j1')?.kind).toBe('retry-later');
    expect((await agent.pollOnce()).get('j1')).toEqual({ kind: 'given-up', code: 'JOB_ATTEMPTS_EXCEEDED' });
    await agent.pollOnce();
    expect(api.ops('start')).toHaveLength(JOB_ATTEMPTS_MAX);
    // the market hears of it (re-match on failure), once
    expect(api.ops('give-up')).toEqual([{ op: 'give-up', jobId: 'j1', reason: expect.stringMatching(/^JOB_ATTEMPTS_EXCEEDED/) }]);
  });

  it('gives a job up to the market when its workload fails, and goes on when that call is not taken', async () => {
    const { api, agent } = setup();
    api.assigned = [assignment('j1', { workload: { kind: 'matmul', seed: 's', size: 4 } }), assignment('j2', { workload: { kind: 'matmul', seed: 's2', size: 4 } })];
    api.failures['give-up'] = [new StarMinerNetworkError('down')];
    const outcomes = await agent.pollOnce();
    expect([outcomes.get('j1')?.kind, outcomes.get('j2')?.kind]).toEqual(['failed', 'failed']);
    expect(api.ops('give-up').map((c) => c.jobId)).toEqual(['j1', 'j2']);
    await agent.pollOnce();
    expect(api.ops('give-up')).toHaveLength(2);
  });

  it('given a failing workload, submits nothing and does not retry it', async () => {
    const { api, agent } = setup();
    api.assigned = [assignment('j1', { workload: { kind: 'matmul', seed: 's', size: 4 } })];
    expect((await agent.pollOnce()).get('j1')?.kind).toBe('failed');
    await agent.pollOnce();
    expect(api.ops('submit')).toHaveLength(0);
    expect(api.ops('start')).toHaveLength(1);
  });

  it('given a journal of finished ids from a previous run, skips those jobs', async () => {
    let saved: readonly string[] = [];
    const journal: DoneJournal = { load: () => ['j-old'], save: (ids) => void (saved = ids) };
    const { api, agent, ran } = setup({ journal });
    api.assigned = [assignment('j-old'), assignment('j-new')];
    await agent.pollOnce();
    expect(ran.map((w) => (w as { seed: string }).seed)).toEqual(['j-new']);
    expect(saved).toEqual(['j-old', 'j-new']);
  });

  it('given polling fails, backs off (doubling, capped) and polls at the normal pace after a success', async () => {
    expect(pollDelayMs(0)).toBe(POLL_INTERVAL_MS);
    expect(pollDelayMs(1)).toBe(2 * POLL_INTERVAL_MS);
    expect(pollDelayMs(2)).toBe(4 * POLL_INTERVAL_MS);
    expect(pollDelayMs(50)).toBe(BACKOFF_MS_MAX);
    const { api, agent } = setup();
    api.failures.assignments = [new StarMinerNetworkError('down')];
    expect((await agent.pollOnce()).size).toBe(0);
    await agent.pollOnce();
    expect(api.ops('assignments')).toHaveLength(2);
  });

  it('given registration answers 409, treats the node as registered; given the network is down, retries with backoff', async () => {
    const a = setup();
    a.api.failures.register = [apiError(409, 'NODE_EXISTS')];
    await expect(a.agent.registerWithRetry()).resolves.toBe(true);
    const b = setup();
    b.api.failures.register = [new StarMinerNetworkError('down'), new StarMinerNetworkError('down')];
    await expect(b.agent.registerWithRetry()).resolves.toBe(true);
    expect(b.api.ops('register')).toHaveLength(3);
    expect(b.sleeps).toEqual([pollDelayMs(1), pollDelayMs(2)]);
  });

  it('given registration is refused (a 4xx), stops with the error instead of retrying', async () => {
    const { api, agent } = setup();
    api.failures.register = [apiError(400, 'UNKNOWN_GPU_MODEL')];
    await expect(agent.registerWithRetry()).rejects.toMatchObject({ code: 'UNKNOWN_GPU_MODEL' });
    expect(api.ops('register')).toHaveLength(1);
  });

  it('run() heartbeats and polls until stop(), then returns', async () => {
    const api = new FakeApi();
    const agent = new ProviderAgent({
      api,
      clock: { now: () => 0, sleep: (ms, signal) => new Promise((r) => (signal.aborted ? r() : setTimeout(r, Math.min(ms, 5)))) },
      registration,
      commandRuntime: false,
      runWorkload: async () => runHashChain('x', 1),
      signResult: async () => '0x',
    });
    const running = agent.run();
    await new Promise((r) => setTimeout(r, 60));
    await agent.stop();
    await running;
    expect(api.ops('register')).toHaveLength(1);
    expect(api.ops('heartbeat').length).toBeGreaterThanOrEqual(1);
    expect(api.ops('assignments').length).toBeGreaterThanOrEqual(2);
    const after = api.calls.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(api.calls.length).toBe(after);
  });

  it('given a long poll the gateway counted as a heartbeat, sends no heartbeat until HEARTBEAT_INTERVAL_MS after that poll was sent; given one that did not count, sends them as before', async () => {
    let now = 1_000;
    const api = new FakeApi();
    let alive: boolean | undefined = true;
    api.getAssignments = async (p) => {
      api.calls.push({ op: 'assignments', waitMs: p.waitMs });
      now += 3_000; // the poll waited 3 s at the gateway
      return { assignments: [], alive };
    };
    const agent = new ProviderAgent({ api, clock: { now: () => now, sleep: async () => undefined }, registration, commandRuntime: false, runWorkload: async () => runHashChain('x', 1), signResult: async () => '0x' });
    expect(agent.heartbeatDue()).toBe(true);
    await agent.pollOnce(POLL_WAIT_MS); // sent at 1 000, answered alive at 4 000
    expect(agent.heartbeatDue()).toBe(false);
    now = 1_000 + HEARTBEAT_INTERVAL_MS - 1;
    expect(agent.heartbeatDue()).toBe(false);
    now = 1_000 + HEARTBEAT_INTERVAL_MS;
    expect(agent.heartbeatDue()).toBe(true);
    alive = undefined; // a gateway that does not beat for polls
    await agent.pollOnce(POLL_WAIT_MS);
    expect(agent.heartbeatDue()).toBe(true);
    expect(POLL_WAIT_MS).toBeLessThan(HEARTBEAT_INTERVAL_MS); // a new poll starts before a beat is due
  });

  it('with GPUs, a heartbeat carries their telemetry every TELEMETRY_INTERVAL_MS even while long polls keep the node alive; a sample that fails is left out, the beat still goes', async () => {
    let now = 1_000;
    const api = new FakeApi();
    api.getAssignments = async (p) => {
      api.calls.push({ op: 'assignments', waitMs: p.waitMs });
      return { assignments: [], alive: true };
    };
    // the H200 under load (../shared/data/gpu/h200-telemetry-under-load.csv, last sample)
    const sample: NodeTelemetry = { sampledAt: '2026-11-27T17:06:56.659Z', gpus: [{ index: 0, utilizationPct: 100, memoryUsedMiB: 1011, powerDrawW: 691.56, powerLimitW: 700, temperatureC: 55 }] };
    const samples: (NodeTelemetry | Error)[] = [sample, new Error('nvidia-smi timed out')];
    const agent = new ProviderAgent({
      api, clock: { now: () => now, sleep: async () => undefined }, registration, commandRuntime: false, runWorkload: async () => runHashChain('x', 1), signResult: async () => '0x',
      telemetry: async () => {
        const next = samples.shift()!;
        if (next instanceof Error) throw next;
        return next;
      },
    });
    await agent.pollOnce(POLL_WAIT_MS); // alive: no plain heartbeat due
    expect(agent.heartbeatDue()).toBe(false);
    expect(agent.telemetryDue()).toBe(true);
    await agent.heartbeatOnce();
    expect(api.ops('heartbeat')).toEqual([{ op: 'heartbeat', telemetry: sample }]);
    now += TELEMETRY_INTERVAL_MS - 1;
    expect(agent.telemetryDue()).toBe(false);
    now += 1;
    expect(agent.telemetryDue()).toBe(true);
    await expect(agent.heartbeatOnce()).resolves.toBe(true);
    expect(api.ops('heartbeat')[1]).toEqual({ op: 'heartbeat' });
  });

  it('CPU-only (no telemetry source): heartbeats carry none and only the liveness rule sends them', async () => {
    const { api, agent } = setup();
    expect(agent.telemetryDue()).toBe(false);
    await agent.heartbeatOnce();
    expect(api.ops('heartbeat')).toEqual([{ op: 'heartbeat' }]);
  });

  it('stop() cuts a long poll short: the agent does not wait for the gateway to answer it', async () => {
    const api = new FakeApi();
    api.getAssignments = (p) => {
      api.calls.push({ op: 'assignments', waitMs: p.waitMs });
      if (!p.waitMs) return Promise.resolve({ assignments: [] });
      // a gateway holding the poll for its whole wait, unless the caller gives up
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => resolve({ assignments: [] }), p.waitMs);
        p.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(p.signal!.reason);
        });
      });
    };
    const agent = new ProviderAgent({
      api,
      clock: { now: () => Date.now(), sleep: (ms, signal) => new Promise((r) => (signal.aborted ? r() : setTimeout(r, Math.min(ms, 5)))) },
      registration,
      commandRuntime: false,
      runWorkload: async () => runHashChain('x', 1),
      signResult: async () => '0x',
    });
    const running = agent.run();
    await new Promise((r) => setTimeout(r, 50));
    expect(api.ops('assignments').some((c) => c.waitMs === POLL_WAIT_MS)).toBe(true);
    const t0 = Date.now();
    await agent.stop();
    await running;
    expect(Date.now() - t0).toBeLessThan(POLL_WAIT_MS / 2);
  });

  it('run() reads what is assigned now first (a restart resumes its jobs), then long-polls; a poll that came back early is followed by a pause', async () => {
    const api = new FakeApi();
    let now = 0;
    const sleeps: number[] = [];
    // the gateway held the long polls for their whole wait; the first (plain) poll answered at once
    api.getAssignments = async (p) => {
      api.calls.push({ op: 'assignments', waitMs: p.waitMs });
      now += p.waitMs ?? 0;
      await new Promise((r) => setImmediate(r)); // an answer over the network comes on a later turn
      return { assignments: [] };
    };
    const agent = new ProviderAgent({
      api,
      clock: { now: () => now, sleep: (ms, signal) => new Promise((r) => (sleeps.push(ms), signal.aborted ? r() : setTimeout(r, 1))) },
      registration,
      commandRuntime: false,
      runWorkload: async () => runHashChain('x', 1),
      signResult: async () => '0x',
    });
    const running = agent.run();
    await new Promise((r) => setTimeout(r, 40));
    await agent.stop();
    await running;
    const polls = api.ops('assignments');
    expect(polls.length).toBeGreaterThanOrEqual(3);
    expect(polls[0].waitMs).toBeUndefined();
    expect(polls.slice(1).every((c) => c.waitMs === POLL_WAIT_MS)).toBe(true);
    // one pause after the early first poll (and heartbeat sleeps); none between the long polls
    expect(sleeps.filter((ms) => ms === POLL_INTERVAL_MS)).toHaveLength(1);
  });
});
