import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { WEI_COLUMN } from '@starminer/service-kit';

/** Where a contract is in its life, as settlement's read model keeps it. */
export const CONTRACT_ROW_STATUSES = ['open', 'running', 'reassigning', 'settling', 'released', 'refunded', 'settle-lost', 'open-failed'] as const;
export type ContractRowStatus = (typeof CONTRACT_ROW_STATUSES)[number];

/**
 * Settlement's view of every contract: what is escrowed, until when, how it ended and by which
 * transaction (the restored one after a chain lost the first). The last four columns are the
 * pending chain action's retry state, written by the deadline scan and the reconciler (not by the
 * projection, which clears them when the action ends): a rebuilt read model simply retries at once.
 */
@Entity({ name: 'contracts' })
@Index(['status', 'deadlineUnixSec'])
@Index(['status', 'settledSeq'])
export class ContractRow {
  @PrimaryColumn({ type: 'text' }) jobId!: string;
  /** open | running | reassigning (its attempt failed; the escrow waits for its move) | settling | released | refunded | settle-lost | open-failed */
  @Column({ type: 'text' }) status!: ContractRowStatus;
  @Column({ type: 'text' }) requesterAddress!: string;
  @Column({ type: 'text' }) nodeAddress!: string;
  /** What the escrow holds: the open's, then each top-up's new total (ContractToppedUp). */
  @Column(WEI_COLUMN) escrowWei!: bigint;
  /** The deadline: the open's, moved by each top-up; the refund follows it. */
  @Column({ type: 'bigint' }) deadlineUnixSec!: string;
  /** The deadline the requester was warned of (ContractRunwayLow); a top-up's later deadline re-arms the warning. */
  @Column({ type: 'bigint', nullable: true }) runwayWarnedUnixSec!: string | null;
  /**
   * When the runway warning for the current deadline is due (the deadline less its threshold), as
   * the runway scan computed it from the job's expected runtime; null until it did, and again after
   * a top-up moved the deadline. The scan's bookkeeping, not the log's.
   */
  @Column({ type: 'bigint', nullable: true }) runwayWarnAtUnixSec!: string | null;
  /** release | refund, once decided */
  @Column({ type: 'text', nullable: true }) outcome!: string | null;
  @Column({ type: 'timestamptz', nullable: true }) decidedAt!: Date | null;
  /** A result was rejected (the refund is then followed by a slash). */
  @Column({ type: 'boolean', default: false }) rejected!: boolean;
  /** The release/refund transaction of record (null: the chain settled it first, or it was lost). */
  @Column({ type: 'text', nullable: true }) settleTxHash!: string | null;
  @Column({ type: 'bigint', nullable: true }) settleBlockNumber!: string | null;
  /** The stream sequence of the event that recorded (or restored) the settlement: the reconciler's cursor. */
  @Column({ type: 'bigint', nullable: true }) settledSeq!: string | null;
  @Column({ type: 'timestamptz', nullable: true }) settledAt!: Date | null;
  /** The slash after a rejected result's refund is recorded (or nothing is to be slashed). */
  @Column({ type: 'boolean', default: false }) slashDone!: boolean;
  /** Failed tries of the pending chain action (a settle, a restore, a slash), for its bounded backoff. */
  @Column({ type: 'int', default: 0 }) retryAttempts!: number;
  /** Not retried before this. */
  @Column({ type: 'timestamptz', nullable: true }) retryAt!: Date | null;
  /** When the pending action first failed, or found its open missing: the start of its bound. */
  @Column({ type: 'timestamptz', nullable: true }) pendingSince!: Date | null;
}
