import { attestationNonceFor, runHashChain } from '@starminer/domain';
import type { Assignment, NodeRegistration, ResultSubmission } from '@starminer/sdk/provider';
import { ATTESTATION_ATTEMPTS_MAX, ProviderAgent, type ProviderApi } from '../agent';
import { loadAgentConfig } from '../config';
import { AttestationSourceError, type Attest } from './command-attestation';

const registration: NodeRegistration = {
  nodeId: 'node-tee',
  providerId: 'p',
  gpuModel: 'H100',
  gpuCount: 1,
  vramGiB: 80,
  region: 'eu-west',
  latencyMs: 10,
  tee: true,
  energy: { carbonGPerKwh: 100, renewableShare: 0.5 },
  benchmark: { kind: 'hash-chain-sha256', score: 1_000_000, measuredAt: '2026-01-01T00:00:00Z' },
  stakeWei: '0',
  runtimes: ['hash-chain', 'matmul'],
};

const assignment = (jobId: string): Assignment => ({
  jobId,
  status: 'running',
  workload: { kind: 'hash-chain', seed: jobId, iterations: 10 },
  expectedRuntimeSec: 1,
  deadlineAt: '2033-05-18T03:33:20.000Z',
  costWei: '100',
  contractAddress: '0x0000000000000000000000000000000000000001',
  market: { chainId: 31337, addresses: { token: '0x00000000000000000000000000000000000000aa', escrow: '0x00000000000000000000000000000000000000bb' } },
});

/** The gateway's provider calls, recording what was submitted. */
function setup(attest: Attest) {
  const submitted: { jobId: string; result: ResultSubmission }[] = [];
  let assigned: Assignment[] = [];
  const api: ProviderApi = {
    registerNode: async ({ registration: r }) => ({ nodeId: r.nodeId }),
    heartbeat: async () => ({}),
    getAssignments: async () => ({ assignments: assigned }),
    startJob: async () => ({ status: 'running' }),
    submitResult: async ({ jobId, result }) => {
      submitted.push({ jobId, result });
      return { status: 'completed' };
    },
  };
  let runs = 0;
  const agent = new ProviderAgent({
    api,
    clock: { now: () => 0, sleep: async () => undefined },
    registration,
    commandRuntime: false,
    runWorkload: async (w) => {
      runs += 1;
      if (w.kind !== 'hash-chain') throw new Error('only hash-chain here');
      return runHashChain(w.seed, w.iterations);
    },
    signResult: async () => `0x${'ab'.repeat(65)}`,
    attest,
  });
  return { agent, submitted, assign: (a: Assignment[]) => void (assigned = a), runs: () => runs };
}

describe('a TEE agent with an attestation source', () => {
  it("fetches a report bound to the job's nonce and submits it with the result", async () => {
    const asked: string[] = [];
    const { agent, submitted, assign } = setup(async (jobId) => {
      asked.push(jobId);
      return { format: 'nvidia-nras-eat', report: `report-for-${attestationNonceFor(jobId)}` };
    });
    assign([assignment('j1')]);
    expect((await agent.pollOnce()).get('j1')).toEqual({ kind: 'submitted', status: 'completed' });
    expect(asked).toEqual(['j1']);
    expect(submitted).toEqual([{ jobId: 'j1', result: expect.objectContaining({ attestation: { format: 'nvidia-nras-eat', report: `report-for-${attestationNonceFor('j1')}` } }) }]);
  });

  it('given a source that fails, then the job is tried again without running the work again, and after ATTESTATION_ATTEMPTS_MAX the result goes without a report', async () => {
    let calls = 0;
    const { agent, submitted, assign, runs } = setup(async () => {
      calls += 1;
      throw new AttestationSourceError('attestation command nras-attest failed: exited with code 1');
    });
    assign([assignment('j2')]);
    for (let i = 1; i < ATTESTATION_ATTEMPTS_MAX; i += 1) expect((await agent.pollOnce()).get('j2')).toEqual({ kind: 'retry-later', code: 'ATTESTATION_SOURCE_FAILED' });
    expect(submitted).toEqual([]);
    expect((await agent.pollOnce()).get('j2')).toEqual({ kind: 'submitted', status: 'completed' });
    expect(calls).toBe(ATTESTATION_ATTEMPTS_MAX);
    expect(runs()).toBe(1);
    expect(submitted[0].result).not.toHaveProperty('attestation');
  });

  it('given a source that failed once, then the report it gives on the next attempt goes with the result', async () => {
    let calls = 0;
    const { agent, submitted, assign } = setup(async () => {
      calls += 1;
      if (calls === 1) throw new AttestationSourceError('NRAS did not answer');
      return { format: 'nvidia-nras-eat', report: 'r' };
    });
    assign([assignment('j3')]);
    expect((await agent.pollOnce()).get('j3')).toMatchObject({ kind: 'retry-later' });
    expect((await agent.pollOnce()).get('j3')).toMatchObject({ kind: 'submitted' });
    expect(submitted[0].result.attestation).toEqual({ format: 'nvidia-nras-eat', report: 'r' });
  });
});

describe('the attestation configuration', () => {
  const base = { GATEWAY_URL: 'http://127.0.0.1:8080', CHAIN_ID: '31337', AGENT_KEY_FILE: '/tmp/k', GPU_MODEL: 'H100', VRAM_GIB: '80', REGION: 'eu-west' };

  it('takes an attestation command on a TEE node, with the NRAS format and a bounded timeout by default', () => {
    expect(loadAgentConfig({ ...base, TEE: 'true', ATTESTATION_COMMAND: '/opt/nvidia/nras-attest' })).toMatchObject({
      ATTESTATION_COMMAND: '/opt/nvidia/nras-attest',
      ATTESTATION_FORMAT: 'nvidia-nras-eat',
      ATTESTATION_TIMEOUT_MS: 120_000,
    });
  });

  it('refuses an attestation command on a node that is not a TEE, naming the variable', () => {
    expect(() => loadAgentConfig({ ...base, ATTESTATION_COMMAND: '/opt/nvidia/nras-attest' })).toThrow(/ATTESTATION_COMMAND/);
  });
});
