import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A vault the deployer keeps in step with the chain: the last log sequence of its subject
 * (`lastSeq`, from the log), and the reconciler's own progress (`checkedSeq`: the chain was made as
 * the log asked up to there; its retries and last error).
 */
@Entity({ name: 'vault_chain' })
@Index(['nextAttemptAtMs'])
export class VaultChainRow {
  @PrimaryColumn({ type: 'text' }) vaultId!: string;
  @Column({ type: 'text' }) orgId!: string;
  @Column({ type: 'bigint' }) lastSeq!: string;
  @Column({ type: 'bigint', default: '0' }) checkedSeq!: string;
  @Column({ type: 'int', default: 0 }) attempts!: number;
  @Column({ type: 'bigint', default: '0' }) nextAttemptAtMs!: string;
  @Column({ type: 'text', nullable: true }) lastError!: string | null;
}
