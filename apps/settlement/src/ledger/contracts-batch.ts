import type { EntityManager } from 'typeorm';
import type { TradeEvent } from '@starminer/events';
import { jobIdOf, readRows, RowsFold, writeRowsFold } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import { ContractRow, type ContractRowStatus } from './contract-row.entity';
import { applyToContracts, NO_RETRY, openedContractOf, reassignedPatchOf, toppedUpPatchOf } from './contracts.projection';
import { LedgerEntry, type LedgerKind } from './ledger-entry.entity';

/** What a batch of contract events does to the contracts and the ledger, folded in log order. */
export interface ContractsBatchFold {
  readonly contracts: RowsFold<ContractRow>;
  readonly ledger: RowsFold<LedgerEntry>;
}

/** What a batch reads first: the contracts of every job it names, and the ledger of the jobs whose settlement it restores or loses. */
export interface ContractsBatchReads {
  readonly jobIds: string[];
  readonly ledgerJobIds: string[];
}

/** A settlement's chain effect restored or lost (not an open's): the event reads or rewrites the job's ledger. */
const touchesLedger = (e: TradeEvent): boolean => (e.type === 'ChainEffectRestored' || e.type === 'ChainEffectLost') && e.data.action !== 'open';

export function contractsReadBy(events: readonly StoredEvent[]): ContractsBatchReads {
  const jobIds = new Set<string>();
  const ledgerJobIds = new Set<string>();
  for (const { event } of events) {
    const e = event as TradeEvent;
    const jobId = jobIdOf(e);
    if (jobId === undefined) continue;
    jobIds.add(jobId);
    if (touchesLedger(e)) ledgerJobIds.add(jobId);
  }
  return { jobIds: [...jobIds], ledgerJobIds: [...ledgerJobIds] };
}

/**
 * Folds a batch, in log order, into what `applyToContracts` applied to each event in turn leaves,
 * given the status of each contract the batch names (`contractsBefore`, of `reads.jobIds`) and the
 * ledger entries of the jobs whose settlement it restores or loses (`ledgerBefore`). Each event
 * runs the same operations as `applyToContracts`, on the rows as the fold has them just before it:
 * - a status moves only from the status the per-event update requires (open to running; open or
 *   running to settling; a restore only on the status it restores), so events out of order or
 *   delivered again move nothing there either;
 * - the retry bookkeeping is reset (NO_RETRY) by exactly the events that reset it, and a restore
 *   clears `slashDone`, as the per-event updates do; columns no event sets keep their value;
 * - a ledger entry is keyed by its event id (an entry delivered again is upserted again, after
 *   a restore too); a restore rewrites the transaction of every entry of its job and kind the
 *   ledger holds then; a loss undoes the first such entry (by seq, as recorded).
 * Pure.
 */
export function foldContractsBatch(
  events: readonly StoredEvent[],
  reads: ContractsBatchReads,
  contractsBefore: readonly (Pick<ContractRow, 'jobId' | 'status'> & Partial<Pick<ContractRow, 'requesterAddress' | 'deadlineUnixSec'>>)[],
  ledgerBefore: readonly LedgerEntry[],
): ContractsBatchFold {
  const contracts = new RowsFold<ContractRow>('jobId', reads.jobIds, contractsBefore);
  const byRecordOrder = [...ledgerBefore].sort((a, b) => Number(BigInt(a.seq) - BigInt(b.seq)));
  const ledger = new RowsFold<LedgerEntry>('eventId', byRecordOrder.map((r) => r.eventId), byRecordOrder);
  const ledgerJobs = new Set(reads.ledgerJobIds);
  for (const { event, seq } of events) {
    const e = event as TradeEvent;
    const at = new Date(e.occurredAt);
    const settledBy = (txHash: string | null, blockNumber: string | null) => ({ settleTxHash: txHash, settleBlockNumber: blockNumber, settledSeq: String(seq), settledAt: at, ...NO_RETRY });
    const entry = (kind: LedgerKind, d: { jobId: string; amountWei: bigint; txHash: string | null }, account: string): void =>
      ledger.upsert({ eventId: e.id, seq: String(seq), jobId: d.jobId, kind, account: account.toLowerCase(), amountWei: d.amountWei, txHash: d.txHash, occurredAt: at });
    const statusIn =
      (...statuses: ContractRowStatus[]) =>
      (row: Readonly<Partial<ContractRow>>): boolean =>
        statuses.includes(row.status!);
    /** The ledger entries of a job and kind the ledger holds now (the job's were read before the batch). */
    const entriesOf = (jobId: string, kind: LedgerKind): Readonly<Partial<LedgerEntry>>[] => {
      if (!ledgerJobs.has(jobId)) throw new Error(`the ledger of ${jobId} was not read before the batch`);
      return [...ledger.rows()].filter((r) => r.jobId === jobId && r.kind === kind);
    };
    switch (e.type) {
      case 'ContractOpened':
        contracts.upsert(openedContractOf(e.data));
        entry('escrow-locked', { ...e.data, amountWei: e.data.escrowWei }, e.data.requesterAddress);
        break;
      case 'JobStarted':
        contracts.update(e.data.jobId, { status: 'running' }, statusIn('open'));
        break;
      case 'ContractToppedUp': {
        const row = contracts.row(e.data.jobId);
        if (!row) break;
        if (row.deadlineUnixSec === undefined || row.requesterAddress === undefined) throw new Error(`the contract of ${e.data.jobId} was read without its deadline and requester`);
        contracts.update(e.data.jobId, toppedUpPatchOf(e.data, row.deadlineUnixSec));
        entry('escrow-topped-up', { jobId: e.data.jobId, amountWei: e.data.extraCostWei, txHash: e.data.txHash }, row.requesterAddress);
        break;
      }
      case 'ContractRunwayLow':
        contracts.update(e.data.jobId, { runwayWarnedUnixSec: String(e.data.deadlineUnixSec) });
        break;
      case 'ContractAttemptFailed':
        if (!e.data.exhausted) contracts.update(e.data.jobId, { status: 'reassigning' }, statusIn('open', 'running'));
        break;
      case 'ContractReassigned': {
        const row = contracts.row(e.data.jobId);
        if (!row) break;
        if (row.requesterAddress === undefined) throw new Error(`the contract of ${e.data.jobId} was read without its requester`);
        contracts.update(e.data.jobId, reassignedPatchOf(e.data), statusIn('reassigning'));
        if (e.data.returnedWei > 0n) entry('escrow-returned', { jobId: e.data.jobId, amountWei: e.data.returnedWei, txHash: e.data.txHash }, row.requesterAddress);
        break;
      }
      case 'ContractOpenFailed':
        contracts.update(e.data.jobId, { status: 'open-failed', ...NO_RETRY });
        break;
      case 'ResultRejected':
        contracts.update(e.data.jobId, { rejected: true });
        break;
      case 'SettlementDecided':
        contracts.update(e.data.jobId, { status: 'settling', outcome: e.data.outcome, decidedAt: at, ...NO_RETRY }, statusIn('open', 'running', 'reassigning'));
        break;
      case 'ContractReleased':
      case 'ContractRefunded': {
        const kind = e.type === 'ContractReleased' ? 'released' : 'refunded';
        contracts.update(e.data.jobId, { status: kind, ...settledBy(e.data.txHash, e.data.blockNumber ?? null) });
        entry(kind, e.data, e.type === 'ContractReleased' ? e.data.nodeAddress : e.data.requesterAddress);
        break;
      }
      case 'ChainEffectRestored': {
        if (e.data.action === 'open') break;
        const kind = e.data.action === 'release' ? 'released' : 'refunded';
        contracts.update(e.data.jobId, { ...settledBy(e.data.txHash, e.data.blockNumber), slashDone: false }, statusIn(kind));
        for (const r of entriesOf(e.data.jobId, kind)) ledger.update(r.eventId!, { txHash: e.data.txHash });
        break;
      }
      case 'ChainEffectLost': {
        if (e.data.action === 'open') break;
        const kind = e.data.action === 'release' ? 'released' : 'refunded';
        const recorded = entriesOf(e.data.jobId, kind)[0];
        contracts.update(e.data.jobId, { status: 'settle-lost', settleTxHash: null, settleBlockNumber: null, ...NO_RETRY });
        if (recorded) entry('settle-lost', { jobId: e.data.jobId, amountWei: recorded.amountWei!, txHash: e.data.previousTxHash }, recorded.account!);
        break;
      }
      default:
        break;
    }
  }
  return { contracts, ledger };
}

/**
 * Writes a whole batch of contract events with a handful of statements, where `applyToContracts`
 * writes one to three per event: one SELECT of the contracts the batch names (their status), one
 * of the ledger of the jobs whose settlement it restores or loses (only when it has such events),
 * then per table one INSERT ... ON CONFLICT a set of columns written and one UPDATE ... FROM
 * unnest(...) for all the patches. The rows are those `applyToContracts` leaves applying each
 * event in order (foldContractsBatch). Inside the runner's transaction, under its checkpoint lock:
 * no other projection writes these rows meanwhile, and the reconciler's own columns are written
 * only where an event resets them. A batch of one event takes the per-event path.
 */
export async function applyContractsBatch(em: EntityManager, events: readonly StoredEvent[]): Promise<void> {
  if (events.length <= 1) {
    for (const e of events) await applyToContracts(em, e);
    return;
  }
  const reads = contractsReadBy(events);
  const contractsBefore = await readRows(em, ContractRow, 'jobId', reads.jobIds, { jobId: true, status: true, requesterAddress: true, deadlineUnixSec: true });
  const ledgerBefore = await readRows(em, LedgerEntry, 'jobId', reads.ledgerJobIds);
  const fold = foldContractsBatch(events, reads, contractsBefore, ledgerBefore);
  await writeRowsFold(em, LedgerEntry, 'eventId', fold.ledger.writes());
  await writeRowsFold(em, ContractRow, 'jobId', fold.contracts.writes());
}
