import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { WEI_COLUMN } from '@starminer/service-kit';

/** settle-lost: a recorded release/refund the chain lost and no retry could carry out again (it undoes that entry). */
/** escrow-topped-up: a top-up's extra escrow, from the requester (issue 16). */
/** escrow-returned: re-match on failure, the escrow moved to a cheaper attempt and the difference went back to the requester. */
export const LEDGER_KINDS = ['escrow-locked', 'escrow-topped-up', 'escrow-returned', 'released', 'refunded', 'settle-lost'] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/** The ledger: every movement of escrow, one row per event, keyed by the event id. */
@Entity({ name: 'ledger' })
@Index(['account'])
// a restored or lost settlement finds its job's entries (per event and per batch) without reading the whole ledger
@Index(['jobId', 'kind'])
export class LedgerEntry {
  @PrimaryColumn({ type: 'text' }) eventId!: string;
  @Column({ type: 'bigint' }) seq!: string;
  @Column({ type: 'text' }) jobId!: string;
  /** escrow-locked (the requester's), released (to the node key), refunded (to the requester), settle-lost (that movement undone) */
  @Column({ type: 'text' }) kind!: LedgerKind;
  @Column({ type: 'text' }) account!: string;
  @Column(WEI_COLUMN) amountWei!: bigint;
  @Column({ type: 'text', nullable: true }) txHash!: string | null;
  @Column({ type: 'timestamptz' }) occurredAt!: Date;
}
