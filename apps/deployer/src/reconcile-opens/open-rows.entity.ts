import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A matched job and whether its contract has an outcome on the log yet (ContractOpened,
 * ContractOpenFailed, or the job cancelled or failed). Open rows are the opens the reconciler
 * re-drives; `attempts`, `nextAttemptAtMs` and `lastError` are its own bookkeeping (lost with the
 * read model on a rebuild, which only restarts the backoff). Closed rows stay (one per job, as
 * intake's jobs table), so a JobMatched replayed after its job's end never reopens it.
 */
@Entity({ name: 'pending_opens' })
@Index(['closed', 'nextAttemptAtMs'])
export class PendingOpenRow {
  @PrimaryColumn({ type: 'text' }) jobId!: string;
  /** Stream sequence of the JobMatched; null while only the job's end is known. */
  @Column({ type: 'bigint', nullable: true }) matchedSeq!: string | null;
  /** When the match was decided (its event's occurredAt): the give-up deadline counts from here. */
  @Column({ type: 'bigint', nullable: true }) matchedAtMs!: string | null;
  @Column({ type: 'boolean', default: false }) closed!: boolean;
  @Column({ type: 'int', default: 0 }) attempts!: number;
  @Column({ type: 'bigint', default: '0' }) nextAttemptAtMs!: string;
  @Column({ type: 'text', nullable: true }) lastError!: string | null;
}

/**
 * A contract open the log records (ContractOpened), or an open given up as OPEN_TIMED_OUT, that the
 * chain-vs-log check compares with the chain. Dropped once the contract is settled or its open is
 * recorded lost, so the table holds only contracts whose escrow is still needed.
 */
@Entity({ name: 'recorded_opens' })
export class RecordedOpenRow {
  @PrimaryColumn({ type: 'text' }) jobId!: string;
  /** Stream sequence of the record: the check's cursor walks this order. */
  @Index() @Column({ type: 'bigint' }) seq!: string;
  /** `opened`: ContractOpened (or restored); `timed-out`: ContractOpenFailed OPEN_TIMED_OUT, watched for an open that landed late. */
  @Column({ type: 'text' }) kind!: 'opened' | 'timed-out';
  @Column({ type: 'text', nullable: true }) txHash!: string | null;
  @Index() @Column({ type: 'bigint', nullable: true }) blockNumber!: string | null;
  /** The hash of `blockNumber` when the check last found the open there: a different hash later is a rewind. */
  @Column({ type: 'text', nullable: true }) verifiedBlockHash!: string | null;
  /** Since when the chain has not held this open (null: it does, or not checked yet). */
  @Index() @Column({ type: 'bigint', nullable: true }) lostSinceMs!: string | null;
  @Column({ type: 'int', default: 0 }) restoreAttempts!: number;
  @Column({ type: 'bigint', nullable: true }) restoreNextAtMs!: string | null;
  @Column({ type: 'text', nullable: true }) lastError!: string | null;
}
