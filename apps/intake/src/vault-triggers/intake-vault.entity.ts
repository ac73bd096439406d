import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A vault whose triggers intake watches: its status (closed and failed vaults are not looked at). */
@Entity({ name: 'vaults' })
@Index(['status', 'vaultId'])
export class IntakeVault {
  @PrimaryColumn({ type: 'text' }) vaultId!: string;
  @Column({ type: 'text' }) orgId!: string;
  /** active | paused | closed | open-failed */
  @Column({ type: 'text' }) status!: string;
  /** Whether it has a cron trigger (the schedule ticker looks at these only). */
  @Column({ type: 'boolean' }) scheduled!: boolean;
}

/** One price trigger of a vault: the market (GPU model, region) whose PriceChanged events may fire it. */
@Entity({ name: 'vault_price_triggers' })
@Index(['gpuModel', 'region'])
export class IntakeVaultPriceTrigger {
  @PrimaryColumn({ type: 'text' }) vaultId!: string;
  @PrimaryColumn({ type: 'text' }) triggerId!: string;
  @Column({ type: 'text' }) gpuModel!: string;
  @Column({ type: 'text' }) region!: string;
}
