import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { WEI_COLUMN } from '@starminer/service-kit';

/**
 * Intake's view of a job and its reservation, for its sweeps: queued jobs past their deadline, and
 * reservations whose job never came. Not the funds check: that is the account aggregate's.
 */
@Entity({ name: 'intake_jobs' })
@Index(['status', 'expiresAt'])
@Index(['reservationOpen', 'reservedAt'])
export class IntakeJob {
  @PrimaryColumn({ type: 'text' }) jobId!: string;
  @Column({ type: 'text' }) orgId!: string;
  /** null until its JobSubmitted; then queued | matched | closed */
  @Column({ type: 'text', nullable: true }) status!: string | null;
  @Column({ ...WEI_COLUMN, nullable: true }) budgetWei!: bigint | null;
  /** When a queued job has had its time: JobSubmitted's time plus its deadlineSec. */
  @Column({ type: 'timestamptz', nullable: true }) expiresAt!: Date | null;
  @Column({ type: 'boolean', default: false }) reservationOpen!: boolean;
  @Column({ type: 'timestamptz', nullable: true }) reservedAt!: Date | null;
}
