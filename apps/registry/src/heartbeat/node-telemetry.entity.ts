import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { GpuTelemetry } from '@starminer/events';

/**
 * GPU telemetry a node sent with its heartbeats: one row a sample, at most
 * LIMITS.telemetryHistoryMax a node (older rows are dropped as new ones come). Telemetry, not a
 * market event: like the liveness rows it never goes on the log, and a rebuilt registry starts
 * without history (the next heartbeats fill it again).
 */
@Entity({ name: 'node_telemetry' })
@Index(['nodeId', 'id'])
export class NodeTelemetrySample {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column({ type: 'text' }) nodeId!: string;
  /** When the agent read it (its clock). */
  @Column({ type: 'timestamptz' }) sampledAt!: Date;
  /** When the registry received it (ours). */
  @Column({ type: 'timestamptz' }) receivedAt!: Date;
  @Column({ type: 'jsonb' }) gpus!: GpuTelemetry[];
}
