import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * The gateway's note of an org's vault: its place in the org's listing, and the secret its trigger
 * URLs are signed with. Gateway-local data (like a webhook's secret): the vault itself is on the log
 * (`trade.vault.<vaultId>`), and a note whose vault the log does not hold (a refused creation) is
 * never listed. Written before the vault is created, so every attempt of one request answers the
 * same secret.
 */
@Entity({ name: 'vault_notes' })
@Index(['orgId', 'createdAt'])
export class VaultNoteRow {
  @PrimaryColumn({ type: 'text' }) vaultId!: string;
  @Column({ type: 'text' }) orgId!: string;
  /** As is: an HMAC needs the secret itself. Shown once at creation; null for a vault without a URL trigger. */
  @Column({ type: 'text', nullable: true }) triggerSecret!: string | null;
  @Column({ type: 'timestamptz' }) createdAt!: Date;
}
