import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { WEI_COLUMN } from '@starminer/service-kit';

/**
 * The live supply index: one row a node, projected from node events. One node key, one row: the
 * unique index refuses a second node of a key (a history from before keys were bound), and the
 * projection parks that event for an operator rather than stopping.
 */
@Entity({ name: 'nodes' })
export class NodeRow {
  @PrimaryColumn({ type: 'text' }) nodeId!: string;
  /** Lower-case. */
  @Index({ unique: true }) @Column({ type: 'text' }) nodeAddress!: string;
  @Column({ type: 'text' }) providerId!: string;
  @Column({ type: 'text' }) gpuModel!: string;
  @Column({ type: 'int' }) gpuCount!: number;
  @Column({ type: 'int' }) vramGiB!: number;
  @Column({ type: 'text' }) region!: string;
  @Column({ type: 'int' }) latencyMs!: number;
  @Column({ type: 'boolean' }) tee!: boolean;
  @Column({ type: 'double precision' }) benchmarkScore!: number;
  /** The benchmark's kind (its unit): figures are compared only within one GPU model and kind. '' on rows projected before it was kept. */
  @Column({ type: 'text', default: '' }) benchmarkKind!: string;
  @Column({ type: 'double precision' }) reputation!: number;
  @Column(WEI_COLUMN) stakeWei!: bigint;
  @Column({ type: 'text', nullable: true }) poolId!: string | null;
  @Column({ type: 'boolean' }) online!: boolean;
}
