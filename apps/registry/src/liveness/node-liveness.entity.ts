import { Column, Entity, PrimaryColumn } from 'typeorm';

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
