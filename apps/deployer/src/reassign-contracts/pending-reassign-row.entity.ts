import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A job's latest re-match (a JobMatched of attempt 2 or more) and whether the escrow's move to it
 * is on the log yet (ContractReassigned of that attempt, or the contract decided or ended). Open
 * rows are the moves the reconciler re-drives; `tries`, `nextTryAtMs` and `lastError` are its own
 * bookkeeping (a rebuild only restarts the backoff). One row per job, kept once closed.
 */
@Entity({ name: 'pending_reassigns' })
@Index(['closed', 'nextTryAtMs'])
export class PendingReassignRow {
  @PrimaryColumn({ type: 'text' }) jobId!: string;
  /** The attempt the move starts (the JobMatched's). */
  @Column({ type: 'int' }) attempt!: number;
  /** Stream sequence of the JobMatched. */
  @Column({ type: 'bigint' }) matchedSeq!: string;
  @Column({ type: 'boolean', default: false }) closed!: boolean;
  @Column({ type: 'int', default: 0 }) tries!: number;
  @Column({ type: 'bigint', default: '0' }) nextTryAtMs!: string;
  @Column({ type: 'text', nullable: true }) lastError!: string | null;
}
