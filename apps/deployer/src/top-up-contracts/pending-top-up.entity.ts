import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { WEI_COLUMN } from '@starminer/service-kit';

/**
 * A top-up in flight (issue 16): its price reserved on the org's account (FundsReserved under its
 * top-up id) and no ContractToppedUp of it on the log yet. The top-up reconciler looks for it on
 * chain: a top-up the chain paid and the log never recorded (the deployer crashed between the two,
 * and nobody retried) is recorded from the chain's event. `checks`, `nextCheckAtMs` and
 * `lastError` are the reconciler's bookkeeping (lost with the read model, which only checks again).
 */
@Entity({ name: 'pending_top_ups' })
@Index(['nextCheckAtMs'])
export class PendingTopUpRow {
  @PrimaryColumn({ type: 'text' }) topUpId!: string;
  /** The job (the reservation's correlation id). */
  @Column({ type: 'text' }) jobId!: string;
  @Column({ type: 'text' }) orgId!: string;
  @Column(WEI_COLUMN) amountWei!: bigint;
  /** When the price was reserved (FundsReserved's occurredAt): the reconciler leaves a live request this long first. */
  @Column({ type: 'bigint' }) reservedAtMs!: string;
  /** When the reservation ended without a top-up on the log (FundsReleased): once the chain shows none either, the row goes. */
  @Column({ type: 'bigint', nullable: true }) releasedAtMs!: string | null;
  @Column({ type: 'int', default: 0 }) checks!: number;
  @Column({ type: 'bigint', default: '0' }) nextCheckAtMs!: string;
  @Column({ type: 'text', nullable: true }) lastError!: string | null;
}
