import type { AggregateEvent, EventData } from '@starminer/events';
import { assertNever, draft, type Decider, type Draft } from './decider';
import { refuse } from './errors';
import { GPU_MODELS, isKnownGpuModel } from './gpu-catalogue';

/** A node counts as offline when no heartbeat came for this long. */
export const NODE_HEARTBEAT_TIMEOUT_MS = 30_000;
/** Reputation is an exponential moving average of outcomes (1 released, 0 refunded). */
export const REPUTATION_SMOOTHING = 0.1;
export const INITIAL_REPUTATION = 0.5;
/** A registration's benchmark is compared with the fleet's only when at least this many nodes of its GPU model and kind are registered. */
export const BENCHMARK_PEERS_MIN = 5;
/** A figure more than this many times above the fleet's median, or below it by as much, is an outlier. */
export const BENCHMARK_OUTLIER_RATIO = 2;
/** An outlier starts with this share of the initial reputation: trusted less until its jobs' outcomes say otherwise. */
export const BENCHMARK_OUTLIER_TRUST = 0.5;

/** What the node states about itself; its starting reputation and the benchmark check are the market's. */
export type NodeRegistration = Omit<EventData<'NodeRegistered'>, 'reputation' | 'benchmarkCheck'>;
/** The registered nodes of one GPU model and benchmark kind, as the registry's read model knows them at the registration. */
export interface FleetBenchmark {
  readonly medianScore: number;
  readonly peers: number;
}
export type BenchmarkCheck = NonNullable<EventData<'NodeRegistered'>['benchmarkCheck']>;

/**
 * A registration's benchmark against its fleet (issue 17): the same GPU model measured by the same
 * tool should give about the same figure, so one far from the median (a claim too good to be true,
 * or a GPU throttled or shared) is an outlier. Undefined without enough peers to compare with.
 */
export function benchmarkCheckOf(score: number, fleet: FleetBenchmark | undefined): BenchmarkCheck | undefined {
  if (!fleet || fleet.peers < BENCHMARK_PEERS_MIN || !(fleet.medianScore > 0)) return undefined;
  const ratio = score / fleet.medianScore;
  return { medianScore: fleet.medianScore, peers: fleet.peers, ratio: Math.round(ratio * 1e6) / 1e6, outlier: ratio > BENCHMARK_OUTLIER_RATIO || ratio < 1 / BENCHMARK_OUTLIER_RATIO };
}
export type NodeEvent = AggregateEvent<'node'>;

export type NodeCommand =
  /** `fleet`: the registered nodes of its GPU model and benchmark kind, to compare its figure with. */
  | { readonly type: 'RegisterNode'; readonly registration: NodeRegistration; readonly fleet?: FleetBenchmark }
  | { readonly type: 'Heartbeat' }
  | { readonly type: 'MarkOffline'; readonly reason: string }
  | { readonly type: 'RecordOutcome'; readonly jobId: string; readonly outcome: 'released' | 'refunded' }
  /** The staking contract reports the node key's active stake in its pool (at a block, by a tx). */
  | { readonly type: 'RecordStake'; readonly poolId: string; readonly stakeWei: bigint; readonly blockNumber: string; readonly txHash: string };

export type NodeState =
  | { readonly status: 'none' }
  | {
      readonly status: 'registered';
      readonly nodeId: string;
      readonly nodeAddress: string;
      readonly online: boolean;
      readonly reputation: number;
      /** Jobs whose outcome already moved the reputation: a redelivered outcome counts once. */
      readonly countedJobIds: ReadonlySet<string>;
      readonly poolId?: string;
      readonly stakeWei: bigint;
    };

export const initialNodeState = (): NodeState => ({ status: 'none' });

/** The market's rules for a registration beyond its shape: a known GPU model, plausible VRAM, a measured benchmark. */
export function validateRegistration(r: Pick<NodeRegistration, 'gpuModel' | 'vramGiB' | 'benchmark'>): void {
  if (!isKnownGpuModel(r.gpuModel)) refuse('UNKNOWN_GPU_MODEL', `unknown GPU model '${r.gpuModel}'`, { model: r.gpuModel });
  const vramMax = GPU_MODELS[r.gpuModel].vramGiB;
  if (r.vramGiB > vramMax) refuse('VRAM_IMPLAUSIBLE', `a ${r.gpuModel} has at most ${vramMax} GiB`, { limit: vramMax });
  if (r.benchmark.score <= 0) refuse('BENCHMARK_REQUIRED', 'a measured benchmark score is required');
}

export function decideNode(command: NodeCommand, state: NodeState): Draft<NodeEvent['type']>[] {
  switch (command.type) {
    case 'RegisterNode': {
      const r = command.registration;
      if (state.status !== 'none') {
        if (state.nodeAddress.toLowerCase() === r.nodeAddress.toLowerCase()) return []; // the agent retried
        return refuse('NODE_EXISTS', `node ${r.nodeId} is registered with another key`);
      }
      validateRegistration(r);
      const benchmarkCheck = benchmarkCheckOf(r.benchmark.score, command.fleet);
      const reputation = benchmarkCheck?.outlier ? INITIAL_REPUTATION * BENCHMARK_OUTLIER_TRUST : INITIAL_REPUTATION;
      return [
        draft('NodeRegistered', { ...r, reputation, ...(benchmarkCheck ? { benchmarkCheck } : {}) }),
        draft('NodeAvailabilityChanged', { nodeId: r.nodeId, online: true, reason: 'registered' }),
      ];
    }
    case 'Heartbeat':
      if (state.status === 'none') return refuse('NODE_NOT_FOUND', 'node is not registered');
      return state.online ? [] : [draft('NodeAvailabilityChanged', { nodeId: state.nodeId, online: true, reason: 'heartbeat' })];
    case 'MarkOffline':
      if (state.status === 'none' || !state.online) return [];
      return [draft('NodeAvailabilityChanged', { nodeId: state.nodeId, online: false, reason: command.reason })];
    case 'RecordOutcome': {
      if (state.status === 'none' || state.countedJobIds.has(command.jobId)) return [];
      const target = command.outcome === 'released' ? 1 : 0;
      const reputation = Math.round((state.reputation * (1 - REPUTATION_SMOOTHING) + target * REPUTATION_SMOOTHING) * 1e6) / 1e6;
      return [draft('NodeReputationChanged', { nodeId: state.nodeId, reputation, jobId: command.jobId, reason: `job ${command.outcome}` })];
    }
    case 'RecordStake': {
      if (state.status === 'none') return refuse('NODE_NOT_FOUND', 'node is not registered');
      if (state.poolId !== undefined && state.poolId !== command.poolId)
        return refuse('WRONG_POOL', `node ${state.nodeId} stakes in pool ${state.poolId}, not ${command.poolId}`);
      if (state.stakeWei === command.stakeWei) return [];
      return [draft('NodeStakeChanged', { nodeId: state.nodeId, poolId: command.poolId, stakeWei: command.stakeWei, blockNumber: command.blockNumber, txHash: command.txHash })];
    }
    default:
      return assertNever(command);
  }
}

export function evolveNode(state: NodeState, event: NodeEvent): NodeState {
  switch (event.type) {
    case 'NodeRegistered': {
      const d = event.data;
      return {
        status: 'registered',
        nodeId: d.nodeId,
        nodeAddress: d.nodeAddress,
        online: false,
        reputation: d.reputation,
        countedJobIds: new Set(),
        poolId: d.poolId,
        stakeWei: d.stakeWei,
      };
    }
    case 'NodeAvailabilityChanged':
      return state.status === 'registered' ? { ...state, online: event.data.online } : state;
    case 'NodeReputationChanged':
      if (state.status !== 'registered') return state;
      return { ...state, reputation: event.data.reputation, countedJobIds: new Set([...state.countedJobIds, event.data.jobId]) };
    case 'NodeStakeChanged':
      if (state.status !== 'registered') return state;
      return { ...state, poolId: event.data.poolId, stakeWei: event.data.stakeWei };
    default:
      return assertNever(event);
  }
}

export const nodeDecider: Decider<'node', NodeCommand, NodeState> = { aggregate: 'node', decide: decideNode, evolve: evolveNode, initialState: initialNodeState };

// ------------------------------------------------------------------------------------ node keys

/**
 * One node key, one node: the key's own aggregate (`trade.nodekey.<address>`) records the node id
 * it is bound to. The registry binds the key before it registers the node, so two registrations
 * of one key under two node ids cannot both pass, whichever replicas serve them.
 */
export type NodeKeyCommand = { readonly type: 'BindNodeKey'; readonly nodeAddress: string; readonly nodeId: string };
export type NodeKeyState = { readonly status: 'free' } | { readonly status: 'bound'; readonly nodeId: string };
export type NodeKeyEvent = AggregateEvent<'nodekey'>;

export const initialNodeKeyState = (): NodeKeyState => ({ status: 'free' });

export function decideNodeKey(command: NodeKeyCommand, state: NodeKeyState): Draft<NodeKeyEvent['type']>[] {
  switch (state.status) {
    case 'free':
      return [draft('NodeKeyBound', { nodeAddress: command.nodeAddress.toLowerCase(), nodeId: command.nodeId })];
    case 'bound':
      if (state.nodeId === command.nodeId) return []; // the same registration again
      return refuse('NODE_KEY_IN_USE', `this node key is bound to node ${state.nodeId}; one key registers one node`, { nodeId: state.nodeId });
    default:
      return assertNever(state);
  }
}

export function evolveNodeKey(_state: NodeKeyState, event: NodeKeyEvent): NodeKeyState {
  return { status: 'bound', nodeId: event.data.nodeId };
}

export const nodeKeyDecider: Decider<'nodekey', NodeKeyCommand, NodeKeyState> = { aggregate: 'nodekey', decide: decideNodeKey, evolve: evolveNodeKey, initialState: initialNodeKeyState };

/** The aggregate id of a node key: the address, lower-case (a valid subject token). */
export const nodeKeyId = (nodeAddress: string): string => nodeAddress.toLowerCase();
