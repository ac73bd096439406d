import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { WEI_COLUMN } from '@starminer/service-kit';

/** Settlement's view of every contract: what is escrowed, until when, and how it ended. */
@Entity({ name: 'contracts' })
@Index(['status', 'deadlineUnixSec'])
export class ContractRow {
  @PrimaryColumn({ type: 'text' }) jobId!: string;
  /** open | running | settling | released | refunded */
  @Column({ type: 'text' }) status!: string;
  @Column({ type: 'text' }) requesterAddress!: string;
  @Column({ type: 'text' }) nodeAddress!: string;
  @Column(WEI_COLUMN) escrowWei!: bigint;
  @Column({ type: 'bigint' }) deadlineUnixSec!: string;
  @Column({ type: 'text', nullable: true }) outcome!: string | null;
  @Column({ type: 'timestamptz', nullable: true }) decidedAt!: Date | null;
}

/** The ledger: every movement of escrow, one row per event, keyed by the event id. */
@Entity({ name: 'ledger' })
@Index(['account'])
export class LedgerEntry {
  @PrimaryColumn({ type: 'text' }) eventId!: string;
  @Column({ type: 'bigint' }) seq!: string;
  @Column({ type: 'text' }) jobId!: string;
  /** escrow-locked | released | refunded */
  @Column({ type: 'text' }) kind!: string;
  @Column({ type: 'text' }) account!: string;
  @Column(WEI_COLUMN) amountWei!: bigint;
  @Column({ type: 'text', nullable: true }) txHash!: string | null;
  @Column({ type: 'timestamptz' }) occurredAt!: Date;
}
