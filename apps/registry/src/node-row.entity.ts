import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { WEI_COLUMN } from '@starminer/service-kit';

/** The live supply index: one row a node, projected from node events. */
@Entity({ name: 'nodes' })
export class NodeRow {
  @PrimaryColumn({ type: 'text' }) nodeId!: string;
  @Index({ unique: true }) @Column({ type: 'text' }) nodeAddress!: string;
  @Column({ type: 'text' }) providerId!: string;
  @Column({ type: 'text' }) gpuModel!: string;
  @Column({ type: 'int' }) gpuCount!: number;
  @Column({ type: 'int' }) vramGiB!: number;
  @Column({ type: 'text' }) region!: string;
  @Column({ type: 'int' }) latencyMs!: number;
  @Column({ type: 'boolean' }) tee!: boolean;
  @Column({ type: 'double precision' }) benchmarkScore!: number;
  @Column({ type: 'double precision' }) reputation!: number;
  @Column(WEI_COLUMN) stakeWei!: bigint;
  @Column({ type: 'text', nullable: true }) poolId!: string | null;
  @Column({ type: 'boolean' }) online!: boolean;
}

/**
 * Liveness telemetry: the last heartbeat of each node. Not a market event (a heartbeat every few
 * seconds per node would flood the log); only the transitions online/offline go on the log.
 * Shared by every registry replica, so any replica may answer a heartbeat or scan for silence.
 */
@Entity({ name: 'node_liveness' })
export class NodeLiveness {
  @PrimaryColumn({ type: 'text' }) nodeId!: string;
  @Column({ type: 'timestamptz' }) lastSeenAt!: Date;
}
