import { Column, Entity, Generated, PrimaryColumn } from 'typeorm';

/** Custodial account slots: one HD index per org, allocated once. */
@Entity({ name: 'accounts' })
export class AccountRow {
  @PrimaryColumn({ type: 'text' }) orgId!: string;
  @Column({ type: 'int', unique: true }) @Generated('increment') custodyIndex!: number;
}
