import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The engine's state at a stream sequence, so that a start restores it and replays only what
 * came after instead of the whole log. One row per engine version: a new version starts over.
 */
@Entity({ name: 'engine_snapshots' })
export class EngineSnapshotRow {
  @PrimaryColumn({ type: 'text' }) engineVersion!: string;
  @Column({ type: 'bigint' }) lastSeq!: string;
  @Column({ type: 'jsonb' }) body!: object;
  @Column({ type: 'timestamptz' }) takenAt!: Date;
}
