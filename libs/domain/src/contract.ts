import { LIMITS, truncateText, type AggregateEvent, type EventData } from '@starminer/events';
import { verificationWithAttestation, type AttestationRecord } from './attestation';
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
      /** The TEE attestation that came with the result, as settlement verified it at the edge (recorded on ResultSubmitted). */
      readonly attestation?: AttestationRecord;
      /** The job asked for a TEE: released only with a verified attestation (verificationWithAttestation). */
      readonly teeRequired?: boolean;
      /**
       * Redundancy (issue 17): the job is one copy of a group, so a verified result is held
       * (`awaiting-verdict`) until the group's verdict decides it (DecideRedundancy). A rejected one
       * is refunded at once, as always.
       */
      readonly hold?: boolean;
    }
  | RedundancyVerdictCommand
  | { readonly type: 'ExpireDeadline'; readonly nowUnixSec: number }
  | { readonly type: 'RecordReleased'; readonly amountWei: bigint; readonly txHash: string | null; readonly blockNumber?: string | null }
  | { readonly type: 'RecordRefunded'; readonly amountWei: bigint; readonly txHash: string | null; readonly blockNumber?: string | null }
  | TopUpContractCommand
  | AttemptCommand
  | WarnRunwayCommand
  | SettleEffectCommand
  | OpenEffectCommand;

/**
 * Redundancy (issue 17): the group's verdict for this copy, decided by settlement over the copies'
 * held results (libs/domain redundancy-group.ts). Only on a contract awaiting its verdict; a
 * contract already decided is a no-op (a verdict applied twice decides once).
 */
export type RedundancyVerdictCommand = {
  readonly type: 'DecideRedundancy';
  readonly verdict: Omit<EventData<'RedundancyVerdictRecorded'>, 'jobId'>;
};

/**
 * Most top-ups of one contract: ComputeEscrow.MAX_TOP_UPS_PER_JOB, so the log never holds more than
 * the chain allows (and the ids a contract remembers stay bounded).
 */
export const CONTRACT_TOP_UPS_MAX = 32;
/** Most one top-up moves the deadline: ComputeEscrow.MAX_TOP_UP_EXTENSION_SEC. */
export const TOP_UP_EXTENSION_SEC_MAX = 7 * 24 * 3600;
/** Most all top-ups of one contract move its deadline: ComputeEscrow.MAX_TOTAL_EXTENSION_SEC. */
export const TOP_UPS_EXTENSION_SEC_MAX = 30 * 24 * 3600;

/**
 * A top-up the chain made (ComputeEscrow.topUp, read from its ComputeContractToppedUp event by the
 * chain action): more escrow (`extraCostWei`, base units) and a later deadline for a running job.
 * Recorded once per `topUpId` (a second record of the same id is a no-op: the chain paid it once).
 * `toppedUpAtUnixSec` is the chain's time of the top-up (its block's): the chain refuses a top-up
 * after the deadline, so the log does too. Accepted while open, running or settling (a top-up that
 * landed just before the settlement decision is the chain's truth: release pays the new total);
 * refused once the contract has ended.
 */
export type TopUpContractCommand = {
  readonly type: 'TopUpContract';
  readonly topUpId: string;
  readonly extraCostWei: bigint;
  readonly extraRuntimeSec: number;
  readonly newCostWei: bigint;
  readonly newDeadlineUnixSec: number;
  readonly toppedUpAtUnixSec: number;
  readonly txHash: string;
  readonly blockNumber: string;
};

/**
 * Settlement's scan found the escrow's runway (seconds until the deadline at `nowUnixSec`) under
 * `thresholdSec`: warn the requester (ContractRunwayLow), once per deadline. Nothing once the
 * deadline has passed (the refund is then decided) or for a contract no longer open or running.
 */
export type WarnRunwayCommand = { readonly type: 'WarnRunway'; readonly nowUnixSec: number; readonly thresholdSec: number };

/**
 * Re-match on failure (issue 16). `FailAttempt`: settlement found the node of the running attempt
 * offline (the registry's liveness) or giving the job up: the attempt fails (ContractAttemptFailed;
 * its node is paid nothing and not slashed: no rule), and either the job goes to another node
 * (the contract waits, `reassigning`, for the deployer's move) or, on its last attempt
 * (LIMITS.jobAttemptsMax), the escrow is refunded with the reason. Only for the node the contract
 * names, while open or running; anything else (a result already in, a later attempt) is a no-op, so
 * a liveness event read twice fails nothing twice. `RecordReassigned`: the deployer moved the escrow
 * on chain (ComputeEscrow.reassign) for the next attempt; recorded once per attempt.
 */
export type AttemptCommand =
  | { readonly type: 'FailAttempt'; readonly nodeId: string; readonly nodeAddress: string; readonly code: string; readonly reason: string }
  | {
      readonly type: 'RecordReassigned';
      readonly attempt: number;
      readonly nodeId: string;
      readonly nodeAddress: string;
      readonly escrowWei: bigint;
      readonly returnedWei: bigint;
      readonly deadlineUnixSec: number;
      readonly termsHash: string;
      readonly txHash: string;
      readonly blockNumber: string;
    };

/**
 * A recorded open that the chain no longer holds, as the deployer's reconciler finds it: opened
 * again on the same terms (`RecordOpenRestored`, with the new transaction or the one the chain now
 * shows), or given up (`RecordOpenLost`: the deadline passed, or the requester's funds stayed
 * missing past its bound), which ends the job as an open failure. On a contract recorded as
 * open-failed, `RecordOpenRestored` notes an open that landed on chain after the give-up.
 */
export type OpenEffectCommand =
  | { readonly type: 'RecordOpenRestored'; readonly previousTxHash: string | null; readonly txHash: string | null; readonly blockNumber: string | null }
  | { readonly type: 'RecordOpenLost'; readonly previousTxHash: string | null; readonly code: string; readonly reason: string };

/** Set once an open was restored (or found on chain after an open failure): a second record of the same transaction is a no-op. */
interface OpenRestored {
  readonly restoredOpenTxHash?: string | null;
}

/**
 * A recorded release or refund that the chain no longer holds (a reorganisation, a chain restored
 * from an older state), as settlement's reconciler finds it: carried out again (`RestoreSettleEffect`,
 * with the new transaction, or the one the chain shows), or given up (`RecordSettleEffectLost`: a
 * settlement that cannot reach the chain within its bound, e.g. the open was lost with it).
 */
export type SettleEffectCommand =
  | { readonly type: 'RestoreSettleEffect'; readonly action: 'release' | 'refund'; readonly txHash: string | null; readonly blockNumber: string | null }
  | { readonly type: 'RecordSettleEffectLost'; readonly action: 'release' | 'refund'; readonly code: string; readonly reason: string };

interface OpenTerms {
  readonly jobId: string;
  readonly nodeAddress: string;
  readonly requesterAddress: string;
  /** The escrow now: the open's, plus every top-up's. */
  readonly escrowWei: bigint;
  /** The deadline now: the open's, moved by every top-up. */
  readonly deadlineUnixSec: number;
  /** Absent until the first top-up. */
  readonly topUps?: TopUps;
  /** The attempt the contract is for (re-match on failure): absent for the first. */
  readonly attempt?: number;
  /** The deadline a runway warning was given for (absent: none yet); a top-up's later deadline re-arms it. */
  readonly runwayWarnedFor?: number;
}

/** The top-ups recorded so far: their ids (at most CONTRACT_TOP_UPS_MAX) and what they added to the deadline. */
interface TopUps {
  readonly ids: readonly string[];
  readonly extendedSec: number;
}

export type ContractState =
  | { readonly status: 'none' }
  | ({ readonly status: 'open-failed'; readonly jobId: string } & OpenRestored)
  | ({ readonly status: 'open' | 'running' } & OpenTerms & OpenRestored)
  /** The attempt's node failed; the escrow (still committed to it on chain) waits for the move to the next attempt's node. */
  | ({ readonly status: 'reassigning' } & OpenTerms & OpenRestored)
  /** Redundancy: a verified result is in; its release or refund waits for the group's verdict. */
  | ({ readonly status: 'awaiting-verdict' } & OpenTerms & OpenRestored)
  | ({ readonly status: 'settling'; readonly outcome: 'release' | 'refund' } & OpenTerms & OpenRestored)
  | ({ readonly status: 'released' | 'refunded'; readonly settleTxHash: string | null } & OpenTerms & OpenRestored)
  /** A release or refund the chain lost (or never took) and no retry could carry out: an operator must look. */
  | ({ readonly status: 'settle-lost'; readonly action: 'release' | 'refund' } & OpenTerms);

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
        ...(command.attestation ? { attestation: command.attestation } : {}),
      });
      const verification = verificationWithAttestation({ teeRequired: command.teeRequired ?? false, attestation: command.attestation, verification: command.verification });
      if (verification.ok) {
        if (command.hold) return [submitted];
        const attested = command.attestation?.verdict === 'verified' ? '; TEE attestation verified' : '';
        return [submitted, draft('SettlementDecided', { jobId: state.jobId, outcome: 'release', reason: `result and proof verified${attested}` })];
      }
      return [
        submitted,
        draft('ResultRejected', { jobId: state.jobId, code: verification.code, reason: verification.reason }),
        draft('SettlementDecided', { jobId: state.jobId, outcome: 'refund', reason: truncateText(`result rejected: ${verification.reason}`, LIMITS.reasonLengthMax) }),
      ];
    }
    case 'DecideRedundancy':
      return decideRedundancyVerdict(command, state);
    case 'ExpireDeadline': {
      if (state.status !== 'open' && state.status !== 'running' && state.status !== 'reassigning') return [];
      if (command.nowUnixSec <= state.deadlineUnixSec) return [];
      return [draft('SettlementDecided', { jobId: state.jobId, outcome: 'refund', reason: `deadline ${state.deadlineUnixSec} passed without a result` })];
    }
    case 'RecordReleased': {
      if (state.status === 'released') return [];
      // Once settling, the chain is the truth: record the release even if a refund was decided
      // (e.g. the provider's release landed first); never after a recorded refund.
      if (state.status !== 'settling') return refuse('NOT_SETTLING_RELEASE', `the contract is ${state.status}`);
      return [draft('ContractReleased', { jobId: state.jobId, nodeAddress: state.nodeAddress, amountWei: command.amountWei, txHash: command.txHash, ...blockOf(command) })];
    }
    case 'RecordRefunded': {
      if (state.status === 'refunded') return [];
      if (state.status !== 'settling') return refuse('NOT_SETTLING_REFUND', `the contract is ${state.status}`);
      return [
        draft('ContractRefunded', { jobId: state.jobId, requesterAddress: state.requesterAddress, amountWei: command.amountWei, txHash: command.txHash, ...blockOf(command) }),
      ];
    }
    case 'TopUpContract':
      return decideTopUp(command, state);
    case 'FailAttempt':
    case 'RecordReassigned':
      return decideAttempt(command, state);
    case 'WarnRunway': {
      if (state.status !== 'open' && state.status !== 'running') return [];
      if (state.runwayWarnedFor === state.deadlineUnixSec) return [];
      const runwaySec = state.deadlineUnixSec - command.nowUnixSec;
      if (runwaySec < 0 || runwaySec >= command.thresholdSec) return [];
      return [draft('ContractRunwayLow', { jobId: state.jobId, deadlineUnixSec: state.deadlineUnixSec, atUnixSec: command.nowUnixSec, runwaySec, thresholdSec: command.thresholdSec })];
    }
    case 'RestoreSettleEffect':
    case 'RecordSettleEffectLost':
      return decideSettleEffect(command, state);
    case 'RecordOpenRestored':
    case 'RecordOpenLost':
      return decideOpenEffect(command, state);
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
      if (state.status !== 'open' && state.status !== 'running' && state.status !== 'reassigning' && state.status !== 'awaiting-verdict') return state;
      return { ...state, status: 'settling', outcome: event.data.outcome };
    case 'ContractReleased':
      return state.status === 'settling' ? { ...withoutOutcome(state), status: 'released', settleTxHash: event.data.txHash } : state;
    case 'ContractRefunded':
      return state.status === 'settling' ? { ...withoutOutcome(state), status: 'refunded', settleTxHash: event.data.txHash } : state;
    case 'ContractToppedUp':
      return evolveTopUp(state, event.data);
    case 'ContractAttemptFailed':
      // the last attempt: the SettlementDecided refund after it ends the contract
      if ((state.status !== 'open' && state.status !== 'running') || event.data.exhausted) return state;
      return { ...state, status: 'reassigning' };
    case 'ContractReassigned': {
      if (state.status !== 'reassigning') return state;
      const d = event.data;
      const { runwayWarnedFor: _warned, ...rest } = state;
      return { ...rest, status: 'open', nodeAddress: d.nodeAddress, escrowWei: d.escrowWei, deadlineUnixSec: d.deadlineUnixSec, attempt: d.attempt };
    }
    case 'ContractRunwayLow':
      return state.status === 'open' || state.status === 'running' ? { ...state, runwayWarnedFor: event.data.deadlineUnixSec } : state;
    case 'ResultSubmitted':
      // held for a redundancy verdict, or (a single run) settled by the SettlementDecided appended with it
      return state.status === 'open' || state.status === 'running' ? { ...state, status: 'awaiting-verdict' } : state;
    case 'ResultRejected':
    case 'RedundancyVerdictRecorded':
      return state;
    case 'ChainEffectRestored':
    case 'ChainEffectLost':
      if (event.data.action === 'release' || event.data.action === 'refund') return evolveSettleEffect(state, event);
      return evolveOpenEffect(state, event);
    default:
      return assertNever(event);
  }
}

function openTermsOf({ jobId, nodeAddress, requesterAddress, escrowWei, deadlineUnixSec, topUps, attempt }: OpenTerms): OpenTerms {
  return { jobId, nodeAddress, requesterAddress, escrowWei, deadlineUnixSec, ...(topUps ? { topUps } : {}), ...(attempt ? { attempt } : {}) };
}

/**
 * The verdict's effect on this copy: `agree` releases; `dissent` rejects the result
 * (REDUNDANCY_DISSENT, so the refund is followed by a slash where the rules allow) and refunds;
 * `tie` refunds with the reason. Once: only while the contract awaits its verdict.
 */
function decideRedundancyVerdict(command: RedundancyVerdictCommand, state: ContractState): Draft<ContractEvent['type']>[] {
  if (state.status === 'none' || state.status === 'open-failed') return refuse('CONTRACT_NOT_OPEN', 'the job has no open contract');
  if (state.status !== 'awaiting-verdict') return []; // decided already, or no held result to decide
  const v = command.verdict;
  const reason = truncateText(v.reason, LIMITS.reasonLengthMax);
  const recorded = draft('RedundancyVerdictRecorded', { ...v, jobId: state.jobId, reason });
  if (v.outcome === 'agree') return [recorded, draft('SettlementDecided', { jobId: state.jobId, outcome: 'release', reason })];
  if (v.outcome === 'dissent')
    return [
      recorded,
      draft('ResultRejected', { jobId: state.jobId, code: 'REDUNDANCY_DISSENT', reason }),
      draft('SettlementDecided', { jobId: state.jobId, outcome: 'refund', reason: truncateText(`result rejected: ${reason}`, LIMITS.reasonLengthMax) }),
    ];
  return [recorded, draft('SettlementDecided', { jobId: state.jobId, outcome: 'refund', reason })];
}

/** The attempt a contract is for: 1 until its first reassign. */
export const attemptOf = (state: OpenTerms): number => state.attempt ?? 1;

function decideAttempt(command: AttemptCommand, state: ContractState): Draft<ContractEvent['type']>[] {
  if (state.status === 'none' || state.status === 'open-failed') return refuse('CONTRACT_NOT_OPEN', 'the job has no open contract');
  if (command.type === 'FailAttempt') {
    // a result already in, the contract ended or waiting for its move, or another node's attempt: nothing to fail
    if (state.status !== 'open' && state.status !== 'running') return [];
    if (!sameAddress(command.nodeAddress, state.nodeAddress)) return [];
    const attempt = attemptOf(state);
    const exhausted = attempt >= LIMITS.jobAttemptsMax;
    const code = truncateText(command.code, LIMITS.codeLengthMax);
    const reason = truncateText(command.reason, LIMITS.reasonLengthMax);
    const failed = draft('ContractAttemptFailed', { jobId: state.jobId, attempt, nodeId: command.nodeId, nodeAddress: state.nodeAddress, code, reason, exhausted, slash: 'not-slashed-no-rule' });
    if (!exhausted) return [failed];
    return [failed, draft('SettlementDecided', { jobId: state.jobId, outcome: 'refund', reason: truncateText(`attempts exhausted (${attempt} of ${LIMITS.jobAttemptsMax}): ${reason}`, LIMITS.reasonLengthMax) })];
  }
  const current = state.status === 'settle-lost' ? LIMITS.jobAttemptsMax : attemptOf(state);
  if (command.attempt <= current) return []; // the same move recorded again
  if (state.status !== 'reassigning')
    return refuse('CONTRACT_NOT_REASSIGNING', `the contract is ${state.status}: no attempt waits for its move`, { status: state.status });
  if (command.attempt !== current + 1) return refuse('ATTEMPT_OUT_OF_ORDER', `attempt ${command.attempt} does not follow attempt ${current}`, { attempt: current });
  if (command.escrowWei <= 0n || command.escrowWei > state.escrowWei)
    return refuse('BAD_AMOUNT', `the moved escrow ${command.escrowWei} must be in 1..${state.escrowWei}`, { field: 'escrowWei' });
  if (command.returnedWei !== state.escrowWei - command.escrowWei)
    return refuse('BAD_AMOUNT', 'returnedWei must be the escrow less the moved escrow', { field: 'returnedWei' });
  return [
    draft('ContractReassigned', {
      jobId: state.jobId,
      attempt: command.attempt,
      nodeId: command.nodeId,
      nodeAddress: command.nodeAddress,
      escrowWei: command.escrowWei,
      returnedWei: command.returnedWei,
      deadlineUnixSec: command.deadlineUnixSec,
      termsHash: command.termsHash,
      txHash: command.txHash,
      blockNumber: command.blockNumber,
    }),
  ];
}

function withoutOutcome(state: OpenTerms & { readonly status: string; readonly outcome: 'release' | 'refund' }): OpenTerms {
  return openTermsOf(state);
}

/**
 * Refusals, in order: no contract; (a recorded id: nothing, whatever the status now); an ended
 * contract; amounts out of the chain's bounds; a top-up after the deadline the log holds.
 */
function decideTopUp(command: TopUpContractCommand, state: ContractState): Draft<ContractEvent['type']>[] {
  if (state.status === 'none' || state.status === 'open-failed') return refuse('CONTRACT_NOT_OPEN', 'the job has no open contract');
  if (state.topUps?.ids.includes(command.topUpId)) return []; // the same top-up recorded again
  if (state.status !== 'open' && state.status !== 'running' && state.status !== 'reassigning' && state.status !== 'awaiting-verdict' && state.status !== 'settling')
    return refuse('JOB_ALREADY_FINAL', `the contract is ${state.status}: its escrow can no longer be topped up`, { status: state.status });
  if (command.extraCostWei <= 0n) return refuse('AMOUNT_NOT_POSITIVE', 'extraCostWei must be greater than 0', { field: 'extraCostWei' });
  if (command.newCostWei < command.extraCostWei) return refuse('BAD_AMOUNT', 'newCostWei must include extraCostWei', { field: 'newCostWei' });
  if (!Number.isInteger(command.extraRuntimeSec) || command.extraRuntimeSec < 1 || command.extraRuntimeSec > TOP_UP_EXTENSION_SEC_MAX)
    return refuse('RUNTIME_OUT_OF_RANGE', `extraRuntimeSec must be in 1..${TOP_UP_EXTENSION_SEC_MAX}`, { field: 'extraRuntimeSec', max: TOP_UP_EXTENSION_SEC_MAX });
  const topUps = state.topUps ?? { ids: [], extendedSec: 0 };
  if (topUps.ids.length >= CONTRACT_TOP_UPS_MAX)
    return refuse('RUNTIME_OUT_OF_RANGE', `a contract takes at most ${CONTRACT_TOP_UPS_MAX} top-ups`, { field: 'topUps', max: CONTRACT_TOP_UPS_MAX });
  if (topUps.extendedSec + command.extraRuntimeSec > TOP_UPS_EXTENSION_SEC_MAX)
    return refuse('RUNTIME_OUT_OF_RANGE', `top-ups move a deadline by at most ${TOP_UPS_EXTENSION_SEC_MAX} s in all`, { field: 'extraRuntimeSec', max: TOP_UPS_EXTENSION_SEC_MAX - topUps.extendedSec });
  if (command.toppedUpAtUnixSec > state.deadlineUnixSec)
    return refuse('RESULT_TOO_LATE', `the deadline ${state.deadlineUnixSec} has passed: the escrow can no longer be topped up and goes back to the requester`, {
      deadlineUnixSec: state.deadlineUnixSec,
    });
  return [
    draft('ContractToppedUp', {
      jobId: state.jobId,
      topUpId: command.topUpId,
      extraCostWei: command.extraCostWei,
      extraRuntimeSec: command.extraRuntimeSec,
      newCostWei: command.newCostWei,
      newDeadlineUnixSec: command.newDeadlineUnixSec,
      txHash: command.txHash,
      blockNumber: command.blockNumber,
    }),
  ];
}

/**
 * The escrow and the deadline only grow, so each takes the larger of the state's and the event's:
 * two top-ups recorded in another order than the chain's fold to the same contract.
 */
function evolveTopUp(state: ContractState, d: EventData<'ContractToppedUp'>): ContractState {
  if (state.status !== 'open' && state.status !== 'running' && state.status !== 'reassigning' && state.status !== 'awaiting-verdict' && state.status !== 'settling') return state;
  const topUps = state.topUps ?? { ids: [], extendedSec: 0 };
  if (topUps.ids.includes(d.topUpId)) return state;
  return {
    ...state,
    escrowWei: d.newCostWei > state.escrowWei ? d.newCostWei : state.escrowWei,
    deadlineUnixSec: Math.max(state.deadlineUnixSec, d.newDeadlineUnixSec),
    topUps: { ids: [...topUps.ids, d.topUpId], extendedSec: topUps.extendedSec + d.extraRuntimeSec },
  };
}

/** The block of a recorded release/refund, where the chain action knew it (older records have none). */
const blockOf = (c: { readonly blockNumber?: string | null }): { blockNumber?: string | null } => (c.blockNumber === undefined ? {} : { blockNumber: c.blockNumber });

const settledStatusOf = (action: 'release' | 'refund'): 'released' | 'refunded' => (action === 'release' ? 'released' : 'refunded');

/**
 * Restore: only the effect the log records (a release is restored as a release), once per
 * transaction (the same transaction again is a no-op). Lost: from the recorded effect, or from a
 * settlement that never reached the chain (settling, with that outcome); once.
 */
function decideSettleEffect(command: SettleEffectCommand, state: ContractState): Draft<ContractEvent['type']>[] {
  const target = settledStatusOf(command.action);
  if (command.type === 'RestoreSettleEffect') {
    if (state.status !== target) return refuse('SETTLE_EFFECT_NOT_RECORDED', `no ${command.action} to restore: the contract is ${state.status}`);
    if (command.txHash !== null && command.txHash === state.settleTxHash) return [];
    return [draft('ChainEffectRestored', { jobId: state.jobId, action: command.action, previousTxHash: state.settleTxHash, txHash: command.txHash, blockNumber: command.blockNumber })];
  }
  if (state.status === 'settle-lost' && state.action === command.action) return [];
  const recorded = state.status === target;
  const pending = state.status === 'settling' && state.outcome === command.action;
  if (!recorded && !pending) return refuse('SETTLE_EFFECT_NOT_RECORDED', `no ${command.action} to give up: the contract is ${state.status}`);
  return [
    draft('ChainEffectLost', {
      jobId: state.jobId,
      action: command.action,
      previousTxHash: recorded ? state.settleTxHash : null,
      code: truncateText(command.code, LIMITS.codeLengthMax),
      reason: truncateText(command.reason, LIMITS.reasonLengthMax),
    }),
  ];
}

function evolveSettleEffect(state: ContractState, event: Extract<ContractEvent, { type: 'ChainEffectRestored' | 'ChainEffectLost' }>): ContractState {
  const action = event.data.action;
  if (action === 'open') return state;
  if (event.type === 'ChainEffectRestored') return state.status === settledStatusOf(action) ? { ...state, settleTxHash: event.data.txHash } : state;
  const lost = state.status === settledStatusOf(action) || (state.status === 'settling' && state.outcome === action);
  return lost ? { ...openTermsOf(state as OpenTerms), status: 'settle-lost', action } : state;
}

/**
 * Restore: while the contract is open, running or settling (its escrow is needed), once per
 * transaction; on an open-failed contract it records an open that landed after the give-up (the
 * escrow then waits on chain for the requester's refund; see apps/deployer reconcile-opens).
 * Lost: ChainEffectLost, then ContractOpenFailed, so every reader of open failures ends the job
 * (matching frees its GPUs, intake its budget); once.
 */
function decideOpenEffect(command: OpenEffectCommand, state: ContractState): Draft<ContractEvent['type']>[] {
  // a settled contract too: a chain restored from an older state can lose the open with its settle,
  // and settlement's reconciler settles again once the open is back
  const settled = state.status === 'released' || state.status === 'refunded';
  const restorable =
    state.status === 'open' || state.status === 'running' || state.status === 'reassigning' || state.status === 'awaiting-verdict' || state.status === 'settling' || settled;
  if (command.type === 'RecordOpenRestored') {
    if (!restorable && state.status !== 'open-failed') return refuse('OPEN_NOT_RESTORABLE', `no open to restore: the contract is ${state.status}`);
    if (command.txHash !== null && command.txHash === state.restoredOpenTxHash) return [];
    const previousTxHash = state.status === 'open-failed' ? null : (state.restoredOpenTxHash ?? command.previousTxHash);
    return [draft('ChainEffectRestored', { jobId: state.jobId, action: 'open', previousTxHash, txHash: command.txHash, blockNumber: command.blockNumber })];
  }
  if (state.status === 'open-failed') return [];
  if (!restorable) return refuse('OPEN_NOT_RESTORABLE', `no open to give up: the contract is ${state.status}`);
  const code = truncateText(command.code, LIMITS.codeLengthMax);
  const reason = truncateText(command.reason, LIMITS.reasonLengthMax);
  const lost = draft('ChainEffectLost', { jobId: state.jobId, action: 'open', previousTxHash: state.restoredOpenTxHash ?? command.previousTxHash, code, reason });
  // a settled contract keeps its outcome on the log; settlement's reconciler records its settle lost
  if (settled) return [lost];
  return [lost, draft('ContractOpenFailed', { jobId: state.jobId, code, reason })];
}

function evolveOpenEffect(state: ContractState, event: Extract<ContractEvent, { type: 'ChainEffectRestored' | 'ChainEffectLost' }>): ContractState {
  if (event.type === 'ChainEffectLost') return state; // the ContractOpenFailed after it ends the contract
  if (state.status !== 'none' && state.status !== 'settle-lost') return { ...state, restoredOpenTxHash: event.data.txHash };
  return state;
}

export const contractDecider: Decider<'contract', ContractCommand, ContractState> = { aggregate: 'contract', decide: decideContract, evolve: evolveContract, initialState: initialContractState };
