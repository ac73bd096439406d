import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { WEI_COLUMN } from '@starminer/service-kit';

/** Intake's view of a job: enough to know what an org's unsettled jobs may still draw. */
@Entity({ name: 'jobs' })
@Index(['orgId', 'status'])
export class JobHold {
  @PrimaryColumn({ type: 'text' }) jobId!: string;
  @Column({ type: 'text' }) orgId!: string;
  @Column({ type: 'text' }) category!: string;
  /** queued | matched | contracted | closed */
  @Column({ type: 'text' }) status!: string;
  @Column(WEI_COLUMN) budgetWei!: bigint;
  @Column({ type: 'bigint' }) submittedSeq!: string;
}
