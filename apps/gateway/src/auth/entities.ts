import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** API keys: only their sha256 is kept. Gateway-local data, not market events. */
@Entity({ name: 'api_keys' })
export class ApiKeyRow {
  @PrimaryColumn({ type: 'text' }) keyHash!: string;
  @Index() @Column({ type: 'text' }) orgId!: string;
  @Column({ type: 'timestamptz' }) createdAt!: Date;
}

/** The last nonce seen per node key: a request with a nonce at or below it is a replay. */
@Entity({ name: 'node_nonces' })
export class NodeNonceRow {
  @PrimaryColumn({ type: 'text' }) nodeAddress!: string;
  @Column({ type: 'numeric', precision: 30, scale: 0 }) lastNonce!: string;
}

export const AUTH_ENTITIES = [ApiKeyRow, NodeNonceRow];
