import { encodeEvent, makeEvent } from '@starminer/events';
import { draft } from './decider';
import { GPU_MODELS } from './gpu-catalogue';
import { BENCHMARK_OUTLIER_TRUST, benchmarkCheckOf, evolveNode, INITIAL_REPUTATION, initialNodeState, nodeDecider, REPUTATION_SMOOTHING, type NodeCommand, type NodeEvent, type NodeRegistration, type NodeState } from './node';
import { specFor } from './spec-kit';

const given = specFor(nodeDecider);

const NODE_ID = 'node-1';
const NODE_ADDRESS = '0xaAaAaAaaAaAaAaaAaAAAAAAAAaaaAaAaAaaAaaAa';

const registration = (over: Partial<NodeRegistration> = {}): NodeRegistration => ({
  nodeId: NODE_ID,
  providerId: 'provider-1',
  nodeAddress: NODE_ADDRESS,
  gpuModel: 'RTX4090',
  gpuCount: 2,
  vramGiB: 24,
  region: 'eu-west',
  latencyMs: 20,
  tee: false,
  energy: { carbonGPerKwh: 120, renewableShare: 0.6 },
  benchmark: { kind: 'matmul-512', score: 1.7, measuredAt: '2024-01-01T00:00:00.000Z' },
  stakeWei: 0n,
  runtimes: ['hash-chain', 'matmul'],
  ...over,
});

const register = (over: Partial<NodeRegistration> = {}): NodeCommand => ({ type: 'RegisterNode', registration: registration(over) });
const registered = (over: Partial<NodeRegistration> = {}): NodeEvent => draft('NodeRegistered', { ...registration(over), reputation: INITIAL_REPUTATION });
const availability = (online: boolean, reason: string): NodeEvent => draft('NodeAvailabilityChanged', { nodeId: NODE_ID, online, reason });
const reputationChanged = (reputation: number, jobId: string, outcome: 'released' | 'refunded'): NodeEvent =>
  draft('NodeReputationChanged', { nodeId: NODE_ID, reputation, jobId, reason: `job ${outcome}` });
const outcome = (jobId: string, o: 'released' | 'refunded'): NodeCommand => ({ type: 'RecordOutcome', jobId, outcome: o });

const ONLINE: NodeEvent[] = [registered(), availability(true, 'registered')];
const OFFLINE: NodeEvent[] = [...ONLINE, availability(false, 'heartbeat timeout')];

const fold = (events: NodeEvent[]): NodeState => events.reduce(evolveNode, initialNodeState());

describe('node decider', () => {
  describe('RegisterNode', () => {
    it('registers a node at the initial reputation and marks it online', () => {
      given([]).when(register()).then([registered(), availability(true, 'registered')]);
    });

    it('produces events that fit the catalogue', () => {
      const meta = { id: 'e1', aggregateId: NODE_ID, occurredAt: '2024-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c', actor: 'test' };
      for (const e of given([]).when(register()).events()) expect(() => encodeEvent(makeEvent(e.type, e.data, meta))).not.toThrow();
    });

    it('accepts the full VRAM of the model', () => {
      const vramGiB = GPU_MODELS.H200.vramGiB;
      given([]).when(register({ gpuModel: 'H200', vramGiB })).then([registered({ gpuModel: 'H200', vramGiB }), availability(true, 'registered')]);
    });

    describe('its benchmark against the fleet of its GPU model and kind (issue 17)', () => {
      const withFleet = (score: number, medianScore: number, peers: number): NodeCommand => ({
        type: 'RegisterNode',
        registration: registration({ benchmark: { kind: 'gpu-matmul-tflops-bf16', score, measuredAt: '2024-01-01T00:00:00.000Z' } }),
        fleet: { medianScore, peers },
      });
      const bf16 = (score: number) => ({ benchmark: { kind: 'gpu-matmul-tflops-bf16', score, measuredAt: '2024-01-01T00:00:00.000Z' } });

      it('given a figure near the median of 5 peers, registers it at the initial reputation and records the check', () => {
        given([]).when(withFleet(780, 790, 5)).then([
          draft('NodeRegistered', { ...registration(bf16(780)), reputation: INITIAL_REPUTATION, benchmarkCheck: { medianScore: 790, peers: 5, ratio: 0.987342, outlier: false } }),
          availability(true, 'registered'),
        ]);
      });

      it('given a figure 3x the median (a claim too good to be true), registers it as an outlier at a lower starting reputation', () => {
        given([]).when(withFleet(2400, 800, 12)).then([
          draft('NodeRegistered', { ...registration(bf16(2400)), reputation: INITIAL_REPUTATION * BENCHMARK_OUTLIER_TRUST, benchmarkCheck: { medianScore: 800, peers: 12, ratio: 3, outlier: true } }),
          availability(true, 'registered'),
        ]);
      });

      it('given a figure under half the median (throttled or shared), it is an outlier too', () => {
        expect(benchmarkCheckOf(300, { medianScore: 800, peers: 12 })).toEqual({ medianScore: 800, peers: 12, ratio: 0.375, outlier: true });
        expect(benchmarkCheckOf(400, { medianScore: 800, peers: 12 })).toMatchObject({ outlier: false }); // exactly half is not
      });

      it('given fewer than 5 peers, compares nothing: the initial reputation and no check', () => {
        given([]).when(withFleet(5000, 800, 4)).then([draft('NodeRegistered', { ...registration(bf16(5000)), reputation: INITIAL_REPUTATION }), availability(true, 'registered')]);
      });

      it('produces a check that fits the catalogue', () => {
        const meta = { id: 'e1', aggregateId: NODE_ID, occurredAt: '2024-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c', actor: 'test' };
        for (const e of given([]).when(withFleet(2400, 800, 12)).events()) expect(() => encodeEvent(makeEvent(e.type, e.data, meta))).not.toThrow();
      });
    });

    it('records nothing when the same key registers again (the agent retried)', () => {
      given(ONLINE).when(register()).then([]);
      given(OFFLINE).when(register({ nodeAddress: NODE_ADDRESS.toLowerCase() })).then([]);
    });

    it('refuses the node id under another key', () => {
      given(ONLINE).when(register({ nodeAddress: '0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' })).thenThrows('NODE_EXISTS');
    });

    it('refuses a GPU model the exchange does not know', () => {
      given([]).when(register({ gpuModel: 'GTX-FAKE' })).thenThrows('UNKNOWN_GPU_MODEL');
    });

    it('refuses a known model name in another case (the catalogue is case-sensitive)', () => {
      given([]).when(register({ gpuModel: 'rtx4090' })).thenThrows('UNKNOWN_GPU_MODEL');
    });

    it('refuses more VRAM per GPU than the model has', () => {
      given([]).when(register({ gpuModel: 'RTX4090', vramGiB: 25 })).thenThrows('VRAM_IMPLAUSIBLE');
    });

    it('refuses a node without a measured benchmark score', () => {
      given([]).when(register({ benchmark: { kind: 'matmul-512', score: 0, measuredAt: '2024-01-01T00:00:00.000Z' } })).thenThrows('BENCHMARK_REQUIRED');
    });
  });

  describe('Heartbeat', () => {
    it('brings an offline node back online', () => {
      given(OFFLINE).when({ type: 'Heartbeat' }).then([availability(true, 'heartbeat')]);
    });

    it('records nothing for a node that is online', () => {
      given(ONLINE).when({ type: 'Heartbeat' }).then([]);
    });

    it('refuses a node that is not registered', () => {
      given([]).when({ type: 'Heartbeat' }).thenThrows('NODE_NOT_FOUND');
    });
  });

  describe('MarkOffline', () => {
    it('takes an online node offline with the reason', () => {
      given(ONLINE).when({ type: 'MarkOffline', reason: 'heartbeat timeout' }).then([availability(false, 'heartbeat timeout')]);
    });

    it('records nothing for a node that is already offline', () => {
      given(OFFLINE).when({ type: 'MarkOffline', reason: 'again' }).then([]);
    });

    it('records nothing for an unknown node', () => {
      given([]).when({ type: 'MarkOffline', reason: 'sweep' }).then([]);
    });
  });

  describe('RecordOutcome', () => {
    it('moves reputation toward 1 for a released job', () => {
      // 0.5 * (1 - 0.1) + 1 * 0.1, rounded to 6 decimals
      expect(INITIAL_REPUTATION * (1 - REPUTATION_SMOOTHING) + REPUTATION_SMOOTHING).toBeCloseTo(0.55, 12);
      given(ONLINE).when(outcome('job-1', 'released')).then([reputationChanged(0.55, 'job-1', 'released')]);
    });

    it('moves reputation toward 0 for a refunded job', () => {
      given(ONLINE).when(outcome('job-1', 'refunded')).then([reputationChanged(0.45, 'job-1', 'refunded')]);
    });

    it('builds on the reputation so far, rounded to 6 decimals', () => {
      given([...ONLINE, reputationChanged(0.55, 'job-1', 'released')]).when(outcome('job-2', 'released')).then([reputationChanged(0.595, 'job-2', 'released')]);
      given([...ONLINE, reputationChanged(0.1234567, 'job-1', 'refunded')]).when(outcome('job-2', 'refunded')).then([reputationChanged(0.111111, 'job-2', 'refunded')]);
    });

    it('stays within 0..1 at the extremes', () => {
      given([...ONLINE, reputationChanged(1, 'job-1', 'released')]).when(outcome('job-2', 'released')).then([reputationChanged(1, 'job-2', 'released')]);
      given([...ONLINE, reputationChanged(0, 'job-1', 'refunded')]).when(outcome('job-2', 'refunded')).then([reputationChanged(0, 'job-2', 'refunded')]);
    });

    it('counts an offline node too', () => {
      given(OFFLINE).when(outcome('job-1', 'released')).then([reputationChanged(0.55, 'job-1', 'released')]);
    });

    it('records nothing when the outcome of that job was already counted (a redelivery)', () => {
      given([...ONLINE, reputationChanged(0.55, 'job-1', 'released')]).when(outcome('job-1', 'released')).then([]);
      given([...ONLINE, reputationChanged(0.55, 'job-1', 'released')]).when(outcome('job-1', 'refunded')).then([]);
    });

    it('records nothing for an unknown node', () => {
      given([]).when(outcome('job-1', 'released')).then([]);
    });
  });

  describe('evolve', () => {
    it('a registered node starts offline until its availability event, at the registered reputation', () => {
      expect(fold([registered()])).toMatchObject({ status: 'registered', nodeId: NODE_ID, nodeAddress: NODE_ADDRESS, online: false, reputation: INITIAL_REPUTATION });
      expect(fold(ONLINE)).toMatchObject({ online: true });
      expect(fold(OFFLINE)).toMatchObject({ online: false });
    });

    it('remembers the reputation and which jobs were counted', () => {
      const state = fold([...ONLINE, reputationChanged(0.55, 'job-1', 'released'), reputationChanged(0.495, 'job-2', 'refunded')]);
      expect(state).toMatchObject({ reputation: 0.495 });
      expect(state.status === 'registered' && [...state.countedJobIds].sort()).toEqual(['job-1', 'job-2']);
    });

    it('does not share the counted set between states (evolve is pure)', () => {
      const before = fold(ONLINE);
      const after = evolveNode(before, reputationChanged(0.55, 'job-1', 'released'));
      expect(before.status === 'registered' && before.countedJobIds.size).toBe(0);
      expect(after.status === 'registered' && after.countedJobIds.has('job-1')).toBe(true);
    });

    it('events about an unregistered node leave it unknown', () => {
      expect(fold([availability(true, 'x'), reputationChanged(0.9, 'job-1', 'released')])).toEqual({ status: 'none' });
    });
  });
});

describe('node decider: stake learned from the chain', () => {
  const ADDRESS = `0x${'ab'.repeat(20)}`;
  const registered = (poolId?: string) =>
    draft('NodeRegistered', {
      nodeId: 'n-1',
      providerId: 'p',
      nodeAddress: ADDRESS,
      gpuModel: 'T4',
      gpuCount: 1,
      vramGiB: 16,
      region: 'eu',
      latencyMs: 5,
      tee: false,
      energy: { carbonGPerKwh: 100, renewableShare: 0.5 },
      benchmark: { kind: 'x', score: 1, measuredAt: '2026-11-24T00:00:00Z' },
      reputation: 0.5,
      stakeWei: 0n,
      poolId,
      runtimes: ['hash-chain'],
    });
  const stake = (stakeWei: bigint, poolId = 'pool-a'): NodeCommand => ({ type: 'RecordStake', poolId, stakeWei, blockNumber: '7', txHash: '0x01' });
  const given = specFor(nodeDecider);

  it('records a change of the active stake', () => {
    given([registered('pool-a')])
      .when(stake(5n))
      .then([draft('NodeStakeChanged', { nodeId: 'n-1', poolId: 'pool-a', stakeWei: 5n, blockNumber: '7', txHash: '0x01' })]);
  });

  it('records nothing when the stake is what the log already says (a re-read block)', () => {
    given([registered('pool-a'), draft('NodeStakeChanged', { nodeId: 'n-1', poolId: 'pool-a', stakeWei: 5n, blockNumber: '7', txHash: '0x01' })])
      .when(stake(5n))
      .then([]);
  });

  it('refuses a stake in another pool than the node registered with', () => {
    given([registered('pool-a')]).when(stake(5n, 'pool-b')).thenThrows('WRONG_POOL');
  });

  it('refuses a stake for a node that is not registered', () => {
    given([]).when(stake(5n)).thenThrows('NODE_NOT_FOUND');
  });
});
