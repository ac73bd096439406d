import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { In, type EntityManager } from 'typeorm';
import type { EventData, TradeEvent } from '@starminer/events';
import { ServiceRuntime, type ReadModel } from '@starminer/service-kit';
import type { ProjectionRunner, StoredEvent } from '@starminer/trade-log';
import { ContractRow } from './contract-row.entity';
import { applyContractsBatch } from './contracts-batch';
import { LedgerEntry } from './ledger-entry.entity';

/** The projection's name: its checkpoint, its parked events, its health and metrics. */
export const CONTRACTS_PROJECTION = 'contracts';

/**
 * Contracts and their ledger as a read model. A contract's retry bookkeeping (attempts, next try,
 * pending since) and whether its slash is done belong to the settlement reconciler, not the log.
 */
export const CONTRACTS_MODEL: ReadModel = {
  name: CONTRACTS_PROJECTION,
  kinds: ['contract'],
  apply: (em, e) => applyToContracts(em, e),
  applyBatch: (em, events) => applyContractsBatch(em, events),
  tables: [{ entity: LedgerEntry }, { entity: ContractRow, notFromLog: ['retryAttempts', 'retryAt', 'pendingSince', 'slashDone', 'runwayWarnAtUnixSec'] }],
  critical: true,
};

/**
 * Every contract and every movement of its escrow, from contract events. Critical: with one of
 * its events parked the ledger no longer matches the chain and the deadline scan would miss (or
 * wrongly keep) a contract, so readiness is red until an operator re-applies it.
 */
@Injectable()
export class ContractsProjection implements OnApplicationBootstrap {
  private runner!: ProjectionRunner;

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    this.runner = this.rt.readModel(CONTRACTS_MODEL);
    await this.runner.start();
  }

  /** Resolves once the read model includes `seq`. */
  waitUntil(seq: number, timeoutMs?: number): Promise<void> {
    return this.runner.waitUntil(seq, timeoutMs);
  }

  /**
   * Open or running contracts whose deadline is before `nowUnixSec` and whose backoff (after a
   * failed expiry) is over, oldest deadline first: one that keeps failing never hides the others.
   */
  expired(nowUnixSec: number, limit: number): Promise<ContractRow[]> {
    return this.rt.db
      .getRepository(ContractRow)
      .createQueryBuilder('c')
      .where('c.status IN (:...statuses)', { statuses: ['open', 'running', 'reassigning'] })
      .andWhere('c.deadlineUnixSec < :nowUnixSec', { nowUnixSec: String(nowUnixSec) })
      .andWhere('(c.retryAt IS NULL OR c.retryAt <= :now)', { now: new Date(nowUnixSec * 1000) })
      .orderBy('c.deadlineUnixSec', 'ASC')
      .limit(limit)
      .getMany();
  }

  /**
   * Contracts decided before `decidedBefore` whose chain call is not recorded yet and whose backoff
   * is over at `now`, the longest waiting first (so one job in backoff never hides the others).
   */
  staleSettling(decidedBefore: Date, now: Date, limit: number): Promise<ContractRow[]> {
    return this.rt.db
      .getRepository(ContractRow)
      .createQueryBuilder('c')
      .where('c.status = :status', { status: 'settling' })
      .andWhere('c.decidedAt < :decidedBefore', { decidedBefore })
      .andWhere('(c.retryAt IS NULL OR c.retryAt <= :now)', { now })
      .orderBy('COALESCE(c.retryAt, c.decidedAt)', 'ASC')
      .limit(limit)
      .getMany();
  }

  /**
   * Released or refunded contracts recorded after stream sequence `afterSeq` (and, with
   * `recordedSince`, not before it), in log order, without a retry pending: the reconciler's cursor.
   */
  settledAfter(afterSeq: string, limit: number, recordedSince?: Date): Promise<ContractRow[]> {
    const q = this.rt.db
      .getRepository(ContractRow)
      .createQueryBuilder('c')
      .where('c.status IN (:...statuses)', { statuses: SETTLED })
      .andWhere('c.settledSeq > :afterSeq', { afterSeq })
      .andWhere('c.retryAt IS NULL');
    if (recordedSince) q.andWhere('c.settledAt >= :recordedSince', { recordedSince });
    return q.orderBy('c.settledSeq', 'ASC').limit(limit).getMany();
  }

  /** Released or refunded contracts whose re-check or restore is due again at `now`. */
  dueRestores(now: Date, limit: number): Promise<ContractRow[]> {
    return this.rt.db
      .getRepository(ContractRow)
      .createQueryBuilder('c')
      .where('c.status IN (:...statuses)', { statuses: SETTLED })
      .andWhere('c.retryAt <= :now', { now })
      .orderBy('c.retryAt', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** The highest block a release or refund of record was recorded in (null: none known). */
  async highestSettleBlock(): Promise<bigint | null> {
    const row = await this.rt.db
      .getRepository(ContractRow)
      .createQueryBuilder('c')
      .select('MAX(c.settleBlockNumber)', 'max')
      .where('c.status IN (:...statuses)', { statuses: SETTLED })
      .getRawOne<{ max: string | null }>();
    return row?.max ? BigInt(row.max) : null;
  }

  /** Refunds of a rejected result recorded before `refundedBefore` whose slash is not known done, due at `now`. */
  unslashed(refundedBefore: Date, now: Date, limit: number): Promise<ContractRow[]> {
    return this.rt.db
      .getRepository(ContractRow)
      .createQueryBuilder('c')
      .where('c.status = :status', { status: 'refunded' })
      .andWhere('c.rejected = true AND c.slashDone = false')
      .andWhere('c.settledAt < :refundedBefore', { refundedBefore })
      .andWhere('(c.retryAt IS NULL OR c.retryAt <= :now)', { now })
      .orderBy('c.settledSeq', 'ASC')
      .limit(limit)
      .getMany();
  }

  /** The pending chain action of `jobId` failed: not again before `retryAt`. */
  async scheduleRetry(jobId: string, retry: { attempts: number; retryAt: Date; pendingSince: Date | null }): Promise<void> {
    await this.rt.db.getRepository(ContractRow).update({ jobId }, { retryAttempts: retry.attempts, retryAt: retry.retryAt, pendingSince: retry.pendingSince });
  }

  /** The pending chain action of `jobId` needs nothing more (checked fine). */
  async clearRetry(jobId: string): Promise<void> {
    await this.rt.db.getRepository(ContractRow).update({ jobId }, NO_RETRY);
  }

  async markSlashDone(jobId: string): Promise<void> {
    await this.rt.db.getRepository(ContractRow).update({ jobId }, { slashDone: true, ...NO_RETRY });
  }
}

const SETTLED = ['released', 'refunded'];
/** A chain action that ended: nothing to retry. */
export const NO_RETRY = { retryAttempts: 0, retryAt: null, pendingSince: null };

/**
 * Applies one contract event. Rows are keyed by job and ledger entries by event id (upserts), so
 * an event applied twice changes nothing; the runner's checkpoint skips it anyway.
 */
export async function applyToContracts(em: EntityManager, { event, seq }: StoredEvent): Promise<void> {
  /** The settlement of record, by this transaction, as of this event (the reconciler's cursor); its retries end. */
  const settledBy = (txHash: string | null, blockNumber: string | null) => ({ settleTxHash: txHash, settleBlockNumber: blockNumber, settledSeq: String(seq), settledAt: new Date(event.occurredAt), ...NO_RETRY });
  const contracts = em.getRepository(ContractRow);
  const ledger = em.getRepository(LedgerEntry);
  const e = event as TradeEvent;
  const at = new Date(e.occurredAt);
  /** One movement of escrow, keyed by the event that recorded it. */
  const entry = (kind: LedgerEntry['kind'], d: { jobId: string; amountWei: bigint; txHash: string | null }, account: string) =>
    ledger.upsert({ eventId: e.id, seq: String(seq), jobId: d.jobId, kind, account: account.toLowerCase(), amountWei: d.amountWei, txHash: d.txHash, occurredAt: at }, ['eventId']);
  switch (e.type) {
    case 'ContractOpened':
      await contracts.upsert(
        openedContractOf(e.data),
        ['jobId'],
      );
      await entry('escrow-locked', { ...e.data, amountWei: e.data.escrowWei }, e.data.requesterAddress);
      return;
    case 'JobStarted':
      await contracts.update({ jobId: e.data.jobId, status: 'open' }, { status: 'running' });
      return;
    case 'ContractToppedUp': {
      // the escrow and the deadline only grow (the chain's new total and deadline); the refund follows the moved deadline
      const row = await contracts.findOne({ where: { jobId: e.data.jobId }, select: { jobId: true, requesterAddress: true, deadlineUnixSec: true } });
      if (!row) return;
      await contracts.update({ jobId: e.data.jobId }, toppedUpPatchOf(e.data, row.deadlineUnixSec));
      await entry('escrow-topped-up', { jobId: e.data.jobId, amountWei: e.data.extraCostWei, txHash: e.data.txHash }, row.requesterAddress);
      return;
    }
    case 'ContractRunwayLow':
      await contracts.update({ jobId: e.data.jobId }, { runwayWarnedUnixSec: String(e.data.deadlineUnixSec) });
      return;
    case 'ContractAttemptFailed':
      // the last attempt: the SettlementDecided refund after it moves the row
      if (!e.data.exhausted) await contracts.update({ jobId: e.data.jobId, status: In(['open', 'running']) }, { status: 'reassigning' });
      return;
    case 'ContractReassigned': {
      const row = await contracts.findOne({ where: { jobId: e.data.jobId }, select: { jobId: true, requesterAddress: true } });
      if (!row) return;
      await contracts.update({ jobId: e.data.jobId, status: 'reassigning' }, reassignedPatchOf(e.data));
      if (e.data.returnedWei > 0n) await entry('escrow-returned', { jobId: e.data.jobId, amountWei: e.data.returnedWei, txHash: e.data.txHash }, row.requesterAddress);
      return;
    }
    case 'ContractOpenFailed':
      // an open the chain lost and the deployer gave up (a contract recorded open before): it ended
      await contracts.update({ jobId: e.data.jobId }, { status: 'open-failed', ...NO_RETRY });
      return;
    case 'ResultRejected':
      await contracts.update({ jobId: e.data.jobId }, { rejected: true });
      return;
    case 'SettlementDecided':
      await contracts.update({ jobId: e.data.jobId, status: In(['open', 'running', 'reassigning']) }, { status: 'settling', outcome: e.data.outcome, decidedAt: at, ...NO_RETRY });
      return;
    case 'ContractReleased':
    case 'ContractRefunded': {
      const kind = e.type === 'ContractReleased' ? 'released' : 'refunded';
      await contracts.update({ jobId: e.data.jobId }, { status: kind, ...settledBy(e.data.txHash, e.data.blockNumber ?? null) });
      await entry(kind, e.data, e.type === 'ContractReleased' ? e.data.nodeAddress : e.data.requesterAddress);
      return;
    }
    case 'ChainEffectRestored': {
      if (e.data.action === 'open') return;
      // the chain holds the release/refund again, by this transaction: the job shows it, the ledger names it
      const kind = e.data.action === 'release' ? 'released' : 'refunded';
      // a refund done again may have lost its slash with it: the reconciler looks at that again
      await contracts.update({ jobId: e.data.jobId, status: kind }, { ...settledBy(e.data.txHash, e.data.blockNumber), slashDone: false });
      await ledger.update({ jobId: e.data.jobId, kind }, { txHash: e.data.txHash });
      return;
    }
    case 'ChainEffectLost': {
      if (e.data.action === 'open') return;
      const kind = e.data.action === 'release' ? 'released' : 'refunded';
      const recorded = await ledger.findOneBy({ jobId: e.data.jobId, kind });
      await contracts.update({ jobId: e.data.jobId }, { status: 'settle-lost', settleTxHash: null, settleBlockNumber: null, ...NO_RETRY });
      // the movement the ledger holds did not happen on the final chain: undo it, keyed by this event
      if (recorded) await entry('settle-lost', { jobId: e.data.jobId, amountWei: recorded.amountWei, txHash: e.data.previousTxHash }, recorded.account);
      return;
    }
    default:
      return;
  }
}

/**
 * What a top-up changes in its contract's row, given the deadline the row holds: the new escrow,
 * the later of the two deadlines (the chain's deadline only grows), and the runway warning's due
 * time cleared so the scan computes it for the new deadline. The per-event and batch paths write this.
 */
export function toppedUpPatchOf(d: EventData<'ContractToppedUp'>, deadlineBefore: string): Pick<ContractRow, 'escrowWei' | 'deadlineUnixSec' | 'runwayWarnAtUnixSec'> {
  const deadline = Math.max(Number(deadlineBefore), d.newDeadlineUnixSec);
  return { escrowWei: d.newCostWei, deadlineUnixSec: String(deadline), runwayWarnAtUnixSec: null };
}

/** The row of a contract whose escrow moved to its next attempt's node (re-match on failure): open again, for the new node, escrow and deadline. */
export function reassignedPatchOf(d: EventData<'ContractReassigned'>): Pick<ContractRow, 'status' | 'nodeAddress' | 'escrowWei' | 'deadlineUnixSec' | 'runwayWarnAtUnixSec'> {
  // the runway warning's due time cleared, as after a top-up: the scan computes it for the new deadline
  return { status: 'open', nodeAddress: d.nodeAddress.toLowerCase(), escrowWei: d.escrowWei, deadlineUnixSec: String(d.deadlineUnixSec), runwayWarnAtUnixSec: null };
}

/** An opened contract's row (open, nothing decided): the per-event and batch paths write this. */
export function openedContractOf(d: EventData<'ContractOpened'>): Pick<ContractRow, 'jobId' | 'status' | 'requesterAddress' | 'nodeAddress' | 'escrowWei' | 'deadlineUnixSec' | 'outcome' | 'decidedAt'> {
  return {
    jobId: d.jobId,
    status: 'open',
    requesterAddress: d.requesterAddress.toLowerCase(),
    nodeAddress: d.nodeAddress.toLowerCase(),
    escrowWei: d.escrowWei,
    deadlineUnixSec: String(d.deadlineUnixSec),
    outcome: null,
    decidedAt: null,
  };
}
