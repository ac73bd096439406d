import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { WEI_COLUMN } from '@starminer/service-kit';

/** Where a contract is in its life, as settlement's read model keeps it. */
export const CONTRACT_ROW_STATUSES = ['open', 'running', 'settling', 'released', 'refunded'] as const;
export type ContractRowStatus = (typeof CONTRACT_ROW_STATUSES)[number];

/** Settlement's view of every contract: what is escrowed, until when, and how it ended. */
@Entity({ name: 'contracts' })
@Index(['status', 'deadlineUnixSec'])
export class ContractRow {
  @PrimaryColumn({ type: 'text' }) jobId!: string;
  /** open | running | settling | released | refunded */
  @Column({ type: 'text' }) status!: ContractRowStatus;
  @Column({ type: 'text' }) requesterAddress!: string;
  @Column({ type: 'text' }) nodeAddress!: string;
  @Column(WEI_COLUMN) escrowWei!: bigint;
  @Column({ type: 'bigint' }) deadlineUnixSec!: string;
  /** release | refund, once decided */
  @Column({ type: 'text', nullable: true }) outcome!: string | null;
  @Column({ type: 'timestamptz', nullable: true }) decidedAt!: Date | null;
}
