import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { WEI_COLUMN } from '@starminer/service-kit';
import { JobUpdateRow } from '../job-events/job-update.entity';

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
@Index(['matchedAt'])
export class JobView {
  @PrimaryColumn({ type: 'text' }) jobId!: string;
  @Column({ type: 'text' }) orgId!: string;
  @Column({ type: 'text' }) status!: string;
  @Column({ type: 'text' }) category!: string;
  @Column({ type: 'text' }) urgency!: string;
  @Column(WEI_COLUMN) budgetWei!: bigint;
  @Column({ type: 'int' }) expectedRuntimeSec!: number;
  /** seconds after the contract opens by which the result must be in, as submitted (null on rows projected before it was kept) */
  @Column({ type: 'int', nullable: true }) deadlineSec!: number | null;
  @Column({ type: 'jsonb' }) requirements!: object;
  @Column({ type: 'jsonb' }) workload!: object;
  @Column({ type: 'text', nullable: true }) nodeId!: string | null;
  @Column({ type: 'text', nullable: true }) nodeAddress!: string | null;
  /** when the engine matched the job (JobMatched): the market stats count matches by it */
  @Column({ type: 'timestamptz', nullable: true }) matchedAt!: Date | null;
  /** GPUs the job runs on, from JobMatched (null until matched, and on rows projected before it was kept) */
  @Column({ type: 'int', nullable: true }) gpuCount!: number | null;
  /** the engine's hourly price for all the job's GPUs */
  @Column({ ...WEI_COLUMN, nullable: true }) priceWeiPerHour!: bigint | null;
  @Column({ ...WEI_COLUMN, nullable: true }) costWei!: bigint | null;
  @Column({ type: 'jsonb', nullable: true }) quote!: object | null;
  /** the matching engine's receipt: candidates, winner and runner-up term by term, price terms, engine version */
  @Column({ type: 'jsonb', nullable: true }) receipt!: object | null;
  @Column({ type: 'text', nullable: true }) contractAddress!: string | null;
  /** the escrow's deadline: the open's, moved by every top-up (ContractToppedUp) */
  @Column({ type: 'bigint', nullable: true }) deadlineUnixSec!: string | null;
  /** what the escrow holds: the open's escrow, then each top-up's new total (null until contracted) */
  @Column({ ...WEI_COLUMN, nullable: true }) escrowWei!: bigint | null;
  @Column({ type: 'text', nullable: true }) openTxHash!: string | null;
  /** The W3C traceparent of the contract's opening, while tracing is on: the node's run of the job continues that trace. */
  @Column({ type: 'text', nullable: true }) traceparent!: string | null;
  @Column({ type: 'text', nullable: true }) settleTxHash!: string | null;
  /** when the escrow was released or refunded (ContractReleased / ContractRefunded) */
  @Column({ type: 'timestamptz', nullable: true }) settledAt!: Date | null;
  /** what the contract released to the node key (ContractReleased.amountWei) */
  @Column({ ...WEI_COLUMN, nullable: true }) paidWei!: bigint | null;
  @Column({ type: 'text', nullable: true }) resultOutput!: string | null;
  @Column({ type: 'text', nullable: true }) resultHash!: string | null;
  /** the TEE attestation that came with the result, as settlement recorded it (ResultSubmitted.attestation): format, report hash, verdict */
  @Column({ type: 'jsonb', nullable: true }) attestation!: object | null;
  @Column({ type: 'text', nullable: true }) waitingReason!: string | null;
  @Column({ type: 'text', nullable: true }) failureCode!: string | null;
  @Column({ type: 'text', nullable: true }) failureReason!: string | null;
  /** Redundancy (issue 17): the group this job is a copy of (JobSubmitted.redundantCopy's groupId), for finding its siblings; null for a single run. */
  @Index() @Column({ type: 'text', nullable: true }) redundancyGroupId!: string | null;
  /** JobSubmitted.redundantCopy: the group, this copy's index, the copies asked and the comparison. */
  @Column({ type: 'jsonb', nullable: true }) redundantCopy!: object | null;
  /** RedundancyVerdictRecorded, less its jobId: the group's verdict as it decided this copy. */
  @Column({ type: 'jsonb', nullable: true }) redundancyVerdict!: object | null;
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
  /** the node key's stake: declared at registration, then as the staking contract reports it (NodeStakeChanged) */
  @Column({ ...WEI_COLUMN, default: 0 }) stakeWei!: bigint;
  @Column({ type: 'text', nullable: true }) poolId!: string | null;
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

/**
 * Every price of each (GPU class, region) market over time, one row per PriceChanged (its log
 * sequence): appended, never updated, so the price history's candles are read from it. The base
 * price is the engine's for the class (the price board's), kept with each point; a class without
 * one has no points, as it has no row on the board.
 */
@Entity({ name: 'market_price_points' })
@Index(['gpuClass', 'region', 'at'])
export class MarketPricePoint {
  @PrimaryColumn({ type: 'bigint' }) seq!: string;
  @Column({ type: 'text' }) gpuClass!: string;
  @Column({ type: 'text' }) region!: string;
  @Column({ type: 'timestamptz' }) at!: Date;
  @Column(WEI_COLUMN) basePriceWeiPerGpuHour!: bigint;
  @Column({ type: 'int' }) multiplierBps!: number;
  @Column({ type: 'int' }) utilizationBps!: number;
}

/**
 * Each (GPU class, region) market's surge as the log says it (SurgeStarted / SurgeEnded): the last
 * change applied, ordered by the engine's time of the change (`atMs`), then by log sequence. A
 * change ordered before the one the row holds (the engine's own event coming back after a later
 * decision, a replica's late one, a redelivery) changes nothing, as the engine folds them
 * (applySurgeChange in libs/matching). A market that ended its surge keeps its row, `surgeSince` null.
 */
@Entity({ name: 'market_surges' })
export class MarketSurgeView {
  @PrimaryColumn({ type: 'text' }) gpuClass!: string;
  @PrimaryColumn({ type: 'text' }) region!: string;
  /** when the market's surge started (SurgeStarted.atMs); null: not in surge (the last change a SurgeEnded) */
  @Column({ type: 'timestamptz', nullable: true }) surgeSince!: Date | null;
  /** the engine's time of the change applied last (its atMs) */
  @Column({ type: 'timestamptz' }) changedAt!: Date;
  /** the log sequence of the change applied last: orders two changes of the same atMs */
  @Column({ type: 'bigint' }) lastSeq!: string;
}

/** JobUpdateRow: each job's updates as clients see them, written by the same projection (job-events). */
export const VIEW_ENTITIES = [OrgRow, JobView, NodeView, MarketPriceView, MarketPricePoint, MarketSurgeView, JobUpdateRow];
