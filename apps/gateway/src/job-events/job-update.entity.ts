import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Every update a client sees of a job (`JobUpdate`, libs/events/src/job-updates.ts), one row per
 * event of the log that makes one, written by the views projection in the same transaction as the
 * job's view and the checkpoint. Keyed by the event's log sequence, so an event applied twice
 * writes nothing new; the stream and the history read a job's rows in seq order.
 */
@Entity({ name: 'job_updates' })
@Index(['jobId', 'seq'])
export class JobUpdateRow {
  /** the event's position on the trade log: the SSE id */
  @PrimaryColumn({ type: 'bigint' }) seq!: string;
  @Column({ type: 'text' }) jobId!: string;
  @Column({ type: 'text' }) orgId!: string;
  /** JobUpdate.type */
  @Column({ type: 'text' }) type!: string;
  /** the JobUpdate as it is sent */
  @Column({ type: 'jsonb' }) data!: object;
}
