import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { WEI_COLUMN } from '@starminer/service-kit';

/** Orgs, projected from OrgRegistered. */
@Entity({ name: 'orgs' })
export class OrgRow {
  @PrimaryColumn({ type: 'text' }) orgId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) accountAddress!: string;
  @Column({ type: 'int' }) custodyIndex!: number;
}

/** What clients see of a job: status streamed from job and contract events. */
@Entity({ name: 'jobs' })
@Index(['orgId', 'jobId'])
@Index(['nodeId', 'status'])
@Index(['category', 'status'])
export class JobView {
  @PrimaryColumn({ type: 'text' }) jobId!: string;
  @Column({ type: 'text' }) orgId!: string;
  @Column({ type: 'text' }) status!: string;
  @Column({ type: 'text' }) category!: string;
  @Column({ type: 'text' }) urgency!: string;
  @Column(WEI_COLUMN) budgetWei!: bigint;
  @Column({ type: 'int' }) expectedRuntimeSec!: number;
  @Column({ type: 'jsonb' }) requirements!: object;
  @Column({ type: 'jsonb' }) workload!: object;
  @Column({ type: 'text', nullable: true }) nodeId!: string | null;
  @Column({ type: 'text', nullable: true }) nodeAddress!: string | null;
  @Column({ ...WEI_COLUMN, nullable: true }) priceWeiPerHour!: bigint | null;
  @Column({ ...WEI_COLUMN, nullable: true }) costWei!: bigint | null;
  @Column({ type: 'jsonb', nullable: true }) quote!: object | null;
  /** the matching engine's receipt: candidates, winner and runner-up term by term, price terms, engine version */
  @Column({ type: 'jsonb', nullable: true }) receipt!: object | null;
  @Column({ type: 'text', nullable: true }) contractAddress!: string | null;
  @Column({ type: 'bigint', nullable: true }) deadlineUnixSec!: string | null;
  @Column({ type: 'text', nullable: true }) openTxHash!: string | null;
  @Column({ type: 'text', nullable: true }) settleTxHash!: string | null;
  @Column({ type: 'text', nullable: true }) resultOutput!: string | null;
  @Column({ type: 'text', nullable: true }) resultHash!: string | null;
  @Column({ type: 'text', nullable: true }) waitingReason!: string | null;
  @Column({ type: 'text', nullable: true }) failureCode!: string | null;
  @Column({ type: 'text', nullable: true }) failureReason!: string | null;
  @Column({ type: 'timestamptz' }) submittedAt!: Date;
  @Column({ type: 'timestamptz' }) updatedAt!: Date;
  @Column({ type: 'bigint' }) lastSeq!: string;
}

/** The supply, as clients see it. */
@Entity({ name: 'nodes' })
export class NodeView {
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
  @Column({ type: 'boolean' }) online!: boolean;
}

/** The last utilization multiplier of each (GPU class, region) market, from PriceChanged. */
@Entity({ name: 'market_prices' })
export class MarketPriceView {
  @PrimaryColumn({ type: 'text' }) gpuClass!: string;
  @PrimaryColumn({ type: 'text' }) region!: string;
  @Column({ type: 'int' }) multiplierBps!: number;
  @Column({ type: 'int' }) utilizationBps!: number;
  @Column({ type: 'int' }) smoothedUtilizationBps!: number;
  @Column({ type: 'timestamptz' }) changedAt!: Date;
  @Column({ type: 'bigint' }) lastSeq!: string;
}

export const VIEW_ENTITIES = [OrgRow, JobView, NodeView, MarketPriceView];
