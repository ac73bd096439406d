import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The first answer to a request with an Idempotency-Key, per org. */
@Entity({ name: 'idempotency' })
export class IdempotencyRow {
  @PrimaryColumn({ type: 'text' }) orgId!: string;
  @PrimaryColumn({ type: 'text' }) key!: string;
  @Column({ type: 'text' }) requestHash!: string;
  /** null while the first request is still being answered */
  @Column({ type: 'int', nullable: true }) statusCode!: number | null;
  @Column({ type: 'jsonb', nullable: true }) body!: object | null;
  @Column({ type: 'timestamptz' }) createdAt!: Date;
  /**
   * When the attempt now answering it claimed the record (the first one, or a retry that took over
   * an expired claim). Nullable so that synchronize adds it to a table of older rows without a
   * rewrite; a row without it counts from `createdAt`.
   */
  @Column({ type: 'timestamptz', nullable: true }) claimedAt!: Date | null;
}
