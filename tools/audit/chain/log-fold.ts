import type { TradeEvent } from '@starminer/events';

/**
 * What the log says each job's escrow on chain must be, folded from the log one event at a time.
 * The auditor's own fold, written from the catalogue, not the platform's decider: an audit that
 * reused the code under audit would agree with it by construction.
 *
 * Per job only what the comparison needs is kept (terms, the two transactions, a slash), so the
 * memory grows with the jobs that reached matching, never with the log's length.
 */
export type LoggedStatus =
  /** Matched, no contract recorded yet: the chain may hold none, or an open the deployer is recording. */
  | 'matched'
  /** Recorded open (or running): the escrow holds the cost. */
  | 'open'
  /** A release or refund decided, its transaction not recorded yet. */
  | 'settling'
  | 'released'
  | 'refunded'
  /** The open failed (or was given up): the chain must hold no record. */
  | 'open-failed'
  /** A recorded release or refund the chain lost and no retry carried out: the escrow is still held. */
  | 'settle-lost';

export interface LoggedTerms {
  /** Lowercase addresses, so comparisons never trip on checksums. */
  readonly requester: string;
  readonly provider: string;
  /** The open's cost (what ComputeContractOpened shows); top-ups add to it (`loggedCostWei`). */
  readonly costWei: bigint;
  readonly deadlineUnixSec: number;
  readonly termsHash: string;
  /** The escrow contract the log names. */
  readonly contractAddress: string;
}

export interface LoggedSlash {
  readonly poolId: string;
  readonly amountWei: bigint;
  readonly recipient: string;
  readonly txHash: string;
  readonly seq: number;
}

/** A top-up the log records (ContractToppedUp): a transfer from the requester into the escrow. */
export interface LoggedTopUp {
  readonly topUpId: string;
  readonly txHash: string;
  readonly block: bigint;
  readonly extraCostWei: bigint;
  readonly newCostWei: bigint;
  readonly newDeadlineUnixSec: number;
  readonly seq: number;
}

/** A move of the escrow to the node of the job's next attempt the log records (ContractReassigned, re-match on failure). */
export interface LoggedReassign {
  readonly attempt: number;
  readonly txHash: string;
  readonly block: bigint;
  /** The new attempt's node key (lowercase): release pays it from now on. */
  readonly provider: string;
  readonly newCostWei: bigint;
  /** Back to the requester in the same transaction: the old escrow less the new. */
  readonly returnedWei: bigint;
  readonly deadlineUnixSec: number;
  readonly seq: number;
}

export interface LoggedJob {
  readonly jobId: string;
  /** The on-chain key (keccak256 of the job id), lowercase hex. */
  readonly key: string;
  status: LoggedStatus;
  /** The decided outcome while settling, the lost action while settle-lost. */
  outcome?: 'release' | 'refund';
  terms?: LoggedTerms;
  /** The transaction that holds the open (the latest restored one), where the log names it. */
  openTxHash: string | null;
  openBlock: bigint | null;
  /** The release or refund: its transaction (null where the chain settled first), amount, payee. */
  settleTxHash: string | null;
  settleBlock: bigint | null;
  settleAmountWei?: bigint;
  settlePayee?: string;
  /** An open that landed on chain after the log gave it up (the requester's refund waits on chain). */
  reopenedAfterFailure: boolean;
  slash?: LoggedSlash;
  /** Its top-ups in log order (at most ComputeEscrow.MAX_TOP_UPS_PER_JOB, 32); absent until the first. */
  topUps?: LoggedTopUp[];
  /** Its escrow's moves to later attempts, in log order (at most ComputeEscrow.MAX_ATTEMPTS_PER_JOB - 1); absent until the first. */
  reassigns?: LoggedReassign[];
  /** The log sequence of the job's last contract event: where an auditor starts reading. */
  lastSeq: number;
}

/** The jobs by on-chain key, and by job id (events other than ContractOpened name only the id). */
export interface ChainLedger {
  readonly byKey: Map<string, LoggedJob>;
  readonly keyOf: Map<string, string>;
  /** Events the fold used, by type (for the figures). */
  readonly counts: Record<string, number>;
}

export function emptyLedger(): ChainLedger {
  return { byKey: new Map(), keyOf: new Map(), counts: {} };
}

/** The event types this fold reads; everything else on the log is skipped. */
export const CHAIN_EVENT_TYPES = [
  'JobMatched',
  'ContractOpened',
  'ContractOpenFailed',
  'SettlementDecided',
  'ContractReleased',
  'ContractRefunded',
  'ContractToppedUp',
  'ContractReassigned',
  'ChainEffectRestored',
  'ChainEffectLost',
  'StakeSlashed',
] as const;

const lower = (s: string): string => s.toLowerCase();
const blockOf = (b: string | null | undefined): bigint | null => (b === null || b === undefined ? null : BigInt(b));

/**
 * Applies one event of the log to the ledger. `keyOf` maps a job id to its on-chain key (the
 * command passes `jobIdToBytes32`); a ContractOpened brings its own key (`chainJobId`).
 */
export function foldChainEvent(ledger: ChainLedger, event: TradeEvent, seq: number, keyOf: (jobId: string) => string): void {
  const job = (jobId: string, create: boolean): LoggedJob | undefined => {
    const known = ledger.keyOf.get(jobId);
    if (known !== undefined) return ledger.byKey.get(known);
    if (!create) return undefined;
    const key = lower(keyOf(jobId));
    const fresh: LoggedJob = { jobId, key, status: 'matched', openTxHash: null, openBlock: null, settleTxHash: null, settleBlock: null, reopenedAfterFailure: false, lastSeq: seq };
    ledger.keyOf.set(jobId, key);
    ledger.byKey.set(key, fresh);
    return fresh;
  };
  const count = (): void => {
    ledger.counts[event.type] = (ledger.counts[event.type] ?? 0) + 1;
  };
  switch (event.type) {
    case 'JobMatched': {
      count();
      job(event.data.jobId, true);
      return;
    }
    case 'ContractOpened': {
      count();
      const d = event.data;
      const j = job(d.jobId, true)!;
      j.status = 'open';
      j.terms = {
        requester: lower(d.requesterAddress),
        provider: lower(d.nodeAddress),
        costWei: d.escrowWei,
        deadlineUnixSec: d.deadlineUnixSec,
        termsHash: lower(d.termsHash),
        contractAddress: lower(d.contractAddress),
      };
      j.openTxHash = d.txHash === null ? null : lower(d.txHash);
      j.openBlock = blockOf(d.blockNumber);
      j.lastSeq = seq;
      return;
    }
    case 'ContractOpenFailed': {
      count();
      const j = job(event.data.jobId, true)!;
      j.status = 'open-failed';
      j.reopenedAfterFailure = false;
      j.lastSeq = seq;
      return;
    }
    case 'SettlementDecided': {
      count();
      const j = job(event.data.jobId, false);
      if (!j || j.status !== 'open') return;
      j.status = 'settling';
      j.outcome = event.data.outcome;
      j.lastSeq = seq;
      return;
    }
    case 'ContractReleased':
    case 'ContractRefunded': {
      count();
      const d = event.data;
      const j = job(d.jobId, true)!;
      j.status = event.type === 'ContractReleased' ? 'released' : 'refunded';
      delete j.outcome;
      j.settleTxHash = d.txHash === null ? null : lower(d.txHash);
      j.settleBlock = blockOf(d.blockNumber);
      j.settleAmountWei = d.amountWei;
      j.settlePayee = lower(event.type === 'ContractReleased' ? event.data.nodeAddress : event.data.requesterAddress);
      j.lastSeq = seq;
      return;
    }
    case 'ContractToppedUp': {
      count();
      const d = event.data;
      const j = job(d.jobId, false);
      if (!j) return;
      const topUps = (j.topUps ??= []);
      if (topUps.some((t) => t.topUpId === d.topUpId)) return; // the same top-up recorded again changes nothing
      topUps.push({ topUpId: d.topUpId, txHash: lower(d.txHash), block: BigInt(d.blockNumber), extraCostWei: d.extraCostWei, newCostWei: d.newCostWei, newDeadlineUnixSec: d.newDeadlineUnixSec, seq });
      j.lastSeq = seq;
      return;
    }
    case 'ContractReassigned': {
      count();
      const d = event.data;
      const j = job(d.jobId, false);
      if (!j) return;
      const reassigns = (j.reassigns ??= []);
      if (reassigns.some((r) => r.attempt === d.attempt)) return; // the same move recorded again changes nothing
      reassigns.push({ attempt: d.attempt, txHash: lower(d.txHash), block: BigInt(d.blockNumber), provider: lower(d.nodeAddress), newCostWei: d.escrowWei, returnedWei: d.returnedWei, deadlineUnixSec: d.deadlineUnixSec, seq });
      j.lastSeq = seq;
      return;
    }
    case 'ChainEffectRestored': {
      count();
      const d = event.data;
      const j = job(d.jobId, false);
      if (!j) return;
      j.lastSeq = seq;
      if (d.action === 'open') {
        if (j.status === 'open-failed') {
          // an open that landed after the give-up: the escrow waits on chain for the requester's refund
          j.status = 'open';
          j.reopenedAfterFailure = true;
        }
        j.openTxHash = d.txHash === null ? null : lower(d.txHash);
        j.openBlock = blockOf(d.blockNumber);
        return;
      }
      j.settleTxHash = d.txHash === null ? null : lower(d.txHash);
      j.settleBlock = blockOf(d.blockNumber);
      return;
    }
    case 'ChainEffectLost': {
      count();
      const d = event.data;
      const j = job(d.jobId, false);
      if (!j) return;
      j.lastSeq = seq;
      // a lost open is followed by ContractOpenFailed (or keeps a settled outcome): nothing to do here
      if (d.action === 'open') return;
      const recorded = j.status === (d.action === 'release' ? 'released' : 'refunded');
      const pending = j.status === 'settling' && j.outcome === d.action;
      if (!recorded && !pending) return;
      j.status = 'settle-lost';
      j.outcome = d.action;
      j.settleTxHash = null;
      j.settleBlock = null;
      return;
    }
    case 'StakeSlashed': {
      count();
      const d = event.data;
      const j = job(d.jobId, true)!;
      j.slash = { poolId: d.poolId, amountWei: d.amountWei, recipient: lower(d.recipient), txHash: lower(d.txHash), seq };
      return;
    }
    default:
      return;
  }
}

/**
 * What the log says the job's escrow holds: the open's cost plus its top-ups, only those in blocks
 * up to `atBlock` when given (a top-up after the snapshot has not happened there yet).
 */
export function loggedCostWei(j: LoggedJob, atBlock?: bigint): bigint {
  return loggedTermsAt(j, atBlock).costWei;
}

/**
 * Who the escrow pays and how much, as the log says, at `atBlock` when given: the open's provider
 * and cost, then in chain order (block, then log order) each top-up adding its extra cost and
 * each move to a later attempt (ContractReassigned) setting its provider and cost.
 */
export function loggedTermsAt(j: LoggedJob, atBlock?: bigint): { provider: string; costWei: bigint } {
  const steps = [
    ...(j.topUps ?? []).map((t) => ({ block: t.block, seq: t.seq, apply: (x: { provider: string; costWei: bigint }) => ({ ...x, costWei: x.costWei + t.extraCostWei }) })),
    ...(j.reassigns ?? []).map((r) => ({ block: r.block, seq: r.seq, apply: () => ({ provider: r.provider, costWei: r.newCostWei }) })),
  ]
    .filter((s) => atBlock === undefined || s.block <= atBlock)
    .sort((a, b) => (a.block === b.block ? a.seq - b.seq : a.block < b.block ? -1 : 1));
  let terms = { provider: j.terms?.provider ?? '', costWei: j.terms?.costWei ?? 0n };
  for (const s of steps) terms = s.apply(terms);
  return terms;
}

/** Whether the log holds this job's escrow as still locked in the contract. */
export function loggedEscrowHeld(j: LoggedJob): boolean {
  return j.terms !== undefined && (j.status === 'open' || j.status === 'settling' || j.status === 'settle-lost');
}
