import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { WEI_COLUMN } from '@starminer/service-kit';

/**
 * The deployer's view of faucet mints (projection `faucet-mints` of account events), and the
 * reconciler's notes on each. The projection writes what the log says (requested, funded, its
 * transaction); the reconciler writes when it last found the mint on chain and its retry backoff.
 */
@Entity({ name: 'faucet_mints' })
@Index(['status', 'requestedSeq'])
@Index(['status', 'fundedSeq'])
@Index(['retryAt'])
export class FaucetMintRow {
  /** The reference, lower case. */
  @PrimaryColumn({ type: 'text' }) mintRef!: string;
  @Column({ type: 'text' }) orgId!: string;
  @Column({ type: 'text' }) accountAddress!: string;
  @Column(WEI_COLUMN) amountWei!: bigint;
  /** The faucet request id (the causation of MintRequested): the records the reconciler appends carry it too. */
  @Column({ type: 'text' }) requestId!: string;
  /** requested | funded */
  @Column({ type: 'text' }) status!: string;
  @Column({ type: 'bigint' }) requestedSeq!: string;
  @Column({ type: 'timestamptz' }) requestedAt!: Date;
  /** The transaction the log names for the mint (the latest MintRestored's); null while requested. */
  @Column({ type: 'text', nullable: true }) txHash!: string | null;
  /** The stream sequence of its AccountFunded: the reconciler's check cursor runs over it. */
  @Column({ type: 'bigint', nullable: true }) fundedSeq!: string | null;
  /** The block the reconciler last found the mint in (null: not checked since it was recorded). */
  @Column({ type: 'bigint', nullable: true }) checkedBlockNumber!: string | null;
  @Column({ type: 'text', nullable: true }) checkedBlockHash!: string | null;
  /** Failed attempts in a row, and when the next may run (bounded backoff); null: no failure pending. */
  @Column({ type: 'int', default: 0 }) attempts!: number;
  @Column({ type: 'timestamptz', nullable: true }) retryAt!: Date | null;
  @Column({ type: 'text', nullable: true }) lastError!: string | null;
}

/** The reconciler's place: its cursor over recorded mints, and the highest block it found one in. */
@Entity({ name: 'faucet_mint_reconciler' })
export class MintReconcilerRow {
  @PrimaryColumn({ type: 'text' }) name!: string;
  /** The fundedSeq up to which recorded mints were checked (0: from the start, after a rewind). */
  @Column({ type: 'bigint', default: '0' }) cursorSeq!: string;
  @Column({ type: 'bigint', nullable: true }) highBlockNumber!: string | null;
  @Column({ type: 'text', nullable: true }) highBlockHash!: string | null;
}
