import { LIMITS, truncateText, type AggregateEvent, type EventData } from '@starminer/events';
import { assertNever, draft, type Decider, type Draft } from './decider';
import { refuse } from './errors';

/**
 * The Compute Service Contract of one job, as the platform sees it: opened on chain by the
 * deployer, run by the assigned node, settled (released or refunded) exactly once by settlement.
 * Chain effects follow the log: a `SettlementDecided` event comes first, the chain call second,
 * and `ContractReleased`/`ContractRefunded` records the transaction, so a crash in between is
 * finished on restart and never paid twice.
 */
export type ContractCommand =
  | { readonly type: 'RecordOpened'; readonly opened: EventData<'ContractOpened'> }
  | { readonly type: 'RecordOpenFailed'; readonly jobId: string; readonly code: string; readonly reason: string }
  | { readonly type: 'StartJob'; readonly nodeId: string; readonly signerAddress: string }
  | {
      readonly type: 'SubmitResult';
      readonly nodeId: string;
      /** Who signed (resultHash, proofHash): recovered at the edge from the EIP-712 signature. */
      readonly signerAddress: string;
      readonly resultHash: string;
      readonly proofHash: string;
      readonly signature: string;
      readonly output: string;
      /** Whether the result and proof check out against the job's workload (recomputed at the edge). */
      readonly verification: { readonly ok: true } | { readonly ok: false; readonly code: string; readonly reason: string };
      /** Edge time of the submission: a result after the deadline is refused (the refund follows). */
      readonly nowUnixSec: number;
    }
  | { readonly type: 'ExpireDeadline'; readonly nowUnixSec: number }
  | { readonly type: 'RecordReleased'; readonly amountWei: bigint; readonly txHash: string | null }
  | { readonly type: 'RecordRefunded'; readonly amountWei: bigint; readonly txHash: string | null };

interface OpenTerms {
  readonly jobId: string;
  readonly nodeAddress: string;
  readonly requesterAddress: string;
  readonly escrowWei: bigint;
  readonly deadlineUnixSec: number;
}

export type ContractState =
  | { readonly status: 'none' }
  | { readonly status: 'open-failed'; readonly jobId: string }
  | ({ readonly status: 'open' | 'running' } & OpenTerms)
  | ({ readonly status: 'settling'; readonly outcome: 'release' | 'refund' } & OpenTerms)
  | ({ readonly status: 'released' | 'refunded' } & OpenTerms);

export type ContractEvent = AggregateEvent<'contract'>;

export const initialContractState = (): ContractState => ({ status: 'none' });

const sameAddress = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export function decideContract(command: ContractCommand, state: ContractState): Draft<ContractEvent['type']>[] {
  switch (command.type) {
    case 'RecordOpened':
      if (state.status !== 'none') return []; // a retried open: the chain made it idempotent, so is the log
      return [draft('ContractOpened', command.opened)];
    case 'RecordOpenFailed':
      if (state.status !== 'none') return [];
      return [draft('ContractOpenFailed', { jobId: command.jobId, code: command.code, reason: command.reason })];
    case 'StartJob': {
      if (state.status === 'none' || state.status === 'open-failed') return refuse('CONTRACT_NOT_OPEN', 'the job has no open contract');
      if (!sameAddress(command.signerAddress, state.nodeAddress)) return refuse('NOT_ASSIGNED_NODE', 'this job is assigned to another node');
      if (state.status === 'running') return [];
      if (state.status !== 'open') return refuse('CONTRACT_NOT_OPEN', `the contract is ${state.status}`);
      return [draft('JobStarted', { jobId: state.jobId, nodeId: command.nodeId })];
    }
    case 'SubmitResult': {
      if (state.status === 'none' || state.status === 'open-failed') return refuse('CONTRACT_NOT_OPEN', 'the job has no open contract');
      if (!sameAddress(command.signerAddress, state.nodeAddress))
        return refuse('BAD_RESULT_SIGNATURE', 'the result is not signed by the assigned node key');
      if (state.status !== 'open' && state.status !== 'running') return refuse('RESULT_ALREADY_FINAL', `the contract is ${state.status}`);
      if (command.nowUnixSec > state.deadlineUnixSec)
        return refuse('RESULT_TOO_LATE', `the deadline ${state.deadlineUnixSec} has passed; the escrow goes back to the requester`, {
          deadlineUnixSec: state.deadlineUnixSec,
        });
      const submitted = draft('ResultSubmitted', {
        jobId: state.jobId,
        nodeId: command.nodeId,
        resultHash: command.resultHash,
        proofHash: command.proofHash,
        signature: command.signature,
        output: command.output,
      });
      if (command.verification.ok) {
        return [submitted, draft('SettlementDecided', { jobId: state.jobId, outcome: 'release', reason: 'result and proof verified' })];
      }
      return [
        submitted,
        draft('ResultRejected', { jobId: state.jobId, code: command.verification.code, reason: command.verification.reason }),
        draft('SettlementDecided', { jobId: state.jobId, outcome: 'refund', reason: truncateText(`result rejected: ${command.verification.reason}`, LIMITS.reasonLengthMax) }),
      ];
    }
    case 'ExpireDeadline': {
      if (state.status !== 'open' && state.status !== 'running') return [];
      if (command.nowUnixSec <= state.deadlineUnixSec) return [];
      return [draft('SettlementDecided', { jobId: state.jobId, outcome: 'refund', reason: `deadline ${state.deadlineUnixSec} passed without a result` })];
    }
    case 'RecordReleased': {
      if (state.status === 'released') return [];
      // Once settling, the chain is the truth: record the release even if a refund was decided
      // (e.g. the provider's release landed first); never after a recorded refund.
      if (state.status !== 'settling') return refuse('NOT_SETTLING_RELEASE', `the contract is ${state.status}`);
      return [draft('ContractReleased', { jobId: state.jobId, nodeAddress: state.nodeAddress, amountWei: command.amountWei, txHash: command.txHash })];
    }
    case 'RecordRefunded': {
      if (state.status === 'refunded') return [];
      if (state.status !== 'settling') return refuse('NOT_SETTLING_REFUND', `the contract is ${state.status}`);
      return [
        draft('ContractRefunded', { jobId: state.jobId, requesterAddress: state.requesterAddress, amountWei: command.amountWei, txHash: command.txHash }),
      ];
    }
    default:
      return assertNever(command);
  }
}

export function evolveContract(state: ContractState, event: ContractEvent): ContractState {
  switch (event.type) {
    case 'ContractOpened': {
      const d = event.data;
      return {
        status: 'open',
        jobId: d.jobId,
        nodeAddress: d.nodeAddress,
        requesterAddress: d.requesterAddress,
        escrowWei: d.escrowWei,
        deadlineUnixSec: d.deadlineUnixSec,
      };
    }
    case 'ContractOpenFailed':
      return { status: 'open-failed', jobId: event.data.jobId };
    case 'JobStarted':
      return state.status === 'open' ? { ...state, status: 'running' } : state;
    case 'SettlementDecided':
      if (state.status !== 'open' && state.status !== 'running') return state;
      return { ...state, status: 'settling', outcome: event.data.outcome };
    case 'ContractReleased':
      return state.status === 'settling' ? { ...withoutOutcome(state), status: 'released' } : state;
    case 'ContractRefunded':
      return state.status === 'settling' ? { ...withoutOutcome(state), status: 'refunded' } : state;
    case 'ResultSubmitted':
    case 'ResultRejected':
    case 'ChainEffectRestored':
    case 'ChainEffectLost':
      return state;
    default:
      return assertNever(event);
  }
}

function withoutOutcome(state: OpenTerms & { readonly status: string; readonly outcome: 'release' | 'refund' }): OpenTerms {
  const { jobId, nodeAddress, requesterAddress, escrowWei, deadlineUnixSec } = state;
  return { jobId, nodeAddress, requesterAddress, escrowWei, deadlineUnixSec };
}

export const contractDecider: Decider<'contract', ContractCommand, ContractState> = { aggregate: 'contract', decide: decideContract, evolve: evolveContract, initialState: initialContractState };
