import type { EventData, TradeEvent } from '@starminer/events';
import { assertNever, draft, type Draft } from './decider';
import { refuse } from './errors';
import { GPU_MODELS, isKnownGpuModel } from './gpu-catalogue';

/** A node counts as offline when no heartbeat came for this long. */
export const NODE_HEARTBEAT_TIMEOUT_MS = 30_000;
/** Reputation is an exponential moving average of outcomes (1 released, 0 refunded). */
export const REPUTATION_SMOOTHING = 0.1;
export const INITIAL_REPUTATION = 0.5;

export type NodeRegistration = Omit<EventData<'NodeRegistered'>, 'reputation'>;

export type NodeCommand =
  | { readonly type: 'RegisterNode'; readonly registration: NodeRegistration }
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

export function decideNode(command: NodeCommand, state: NodeState): Draft[] {
  switch (command.type) {
    case 'RegisterNode': {
      const r = command.registration;
      if (state.status !== 'none') {
        if (state.nodeAddress.toLowerCase() === r.nodeAddress.toLowerCase()) return []; // the agent retried
        return refuse('NODE_EXISTS', 'conflict', `node ${r.nodeId} is registered with another key`);
      }
      if (!isKnownGpuModel(r.gpuModel)) refuse('UNKNOWN_GPU_MODEL', 'invalid', `unknown GPU model '${r.gpuModel}'`, { model: r.gpuModel });
      const vramMax = GPU_MODELS[r.gpuModel].vramGiB;
      if (r.vramGiB > vramMax) refuse('VRAM_IMPLAUSIBLE', 'invalid', `a ${r.gpuModel} has at most ${vramMax} GiB`, { limit: vramMax });
      if (r.benchmark.score <= 0) refuse('BENCHMARK_REQUIRED', 'invalid', 'a measured benchmark score is required');
      return [draft('NodeRegistered', { ...r, reputation: INITIAL_REPUTATION }), draft('NodeAvailabilityChanged', { nodeId: r.nodeId, online: true, reason: 'registered' })];
    }
    case 'Heartbeat':
      if (state.status === 'none') return refuse('NODE_NOT_FOUND', 'not-found', 'node is not registered');
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
      if (state.status === 'none') return refuse('NODE_NOT_FOUND', 'not-found', 'node is not registered');
      if (state.poolId !== undefined && state.poolId !== command.poolId)
        return refuse('WRONG_POOL', 'conflict', `node ${state.nodeId} stakes in pool ${state.poolId}, not ${command.poolId}`);
      if (state.stakeWei === command.stakeWei) return [];
      return [draft('NodeStakeChanged', { nodeId: state.nodeId, poolId: command.poolId, stakeWei: command.stakeWei, blockNumber: command.blockNumber, txHash: command.txHash })];
    }
    default:
      return assertNever(command);
  }
}

export function evolveNode(state: NodeState, event: Pick<TradeEvent, 'type' | 'data'>): NodeState {
  switch (event.type) {
    case 'NodeRegistered': {
      const d = event.data as EventData<'NodeRegistered'>;
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
      return state.status === 'registered' ? { ...state, online: (event.data as EventData<'NodeAvailabilityChanged'>).online } : state;
    case 'NodeReputationChanged':
      if (state.status !== 'registered') return state;
      {
        const d = event.data as EventData<'NodeReputationChanged'>;
        return { ...state, reputation: d.reputation, countedJobIds: new Set([...state.countedJobIds, d.jobId]) };
      }
    case 'NodeStakeChanged': {
      if (state.status !== 'registered') return state;
      const d = event.data as EventData<'NodeStakeChanged'>;
      return { ...state, poolId: d.poolId, stakeWei: d.stakeWei };
    }
    default:
      return state;
  }
}

export const nodeDecider = { decide: decideNode, evolve: evolveNode, initialState: initialNodeState };
