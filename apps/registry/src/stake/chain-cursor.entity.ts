import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The last block whose staking events the registry has turned into node events. */
@Entity({ name: 'chain_cursors' })
export class ChainCursor {
  @PrimaryColumn({ type: 'text' }) name!: string;
  @Column({ type: 'bigint' }) block!: string;
}
