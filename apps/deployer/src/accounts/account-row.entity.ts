import { Column, Entity, Generated, PrimaryColumn } from 'typeorm';

/**
 * Custodial account slots: one HD index per org, allocated once. This table is the deployer's own
 * record of which index belongs to which org (OrgRegistered repeats it on the log once the
 * gateway registers the org); the index never changes and is never given to another org.
 */
@Entity({ name: 'accounts' })
export class AccountRow {
  @PrimaryColumn({ type: 'text' }) orgId!: string;
  @Column({ type: 'int', unique: true }) @Generated('increment') custodyIndex!: number;
}
