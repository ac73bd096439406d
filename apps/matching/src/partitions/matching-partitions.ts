import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { fnv1a32, marketKey, partitionOf } from '@starminer/matching';
import { InjectConfig, ServiceRuntime } from '@starminer/service-kit';
import { PartitionLeases, type PartitionLossReason } from '@starminer/trade-log';
import { EngineState } from '../engine/engine-state';
import type { MatchingConfig } from '../matching.config';

/**
 * A match is appended under a lease only while the lease has at least this long left: an append
 * that takes longer than this to land could land after another replica took the partition over
 * (it may take it TTL + skew after the last renewal; the holder stops at TTL - skew).
 */
export const LEASE_APPEND_MARGIN_MS = 250;
/** Markets whose partition one replica remembers (cleared when full: recomputing one is a hash). */
export const MARKET_PARTITIONS_CACHED_MAX = 65_536;
/** After a failed read of the log's last sequence (the barrier of a partition just taken), the next try. */
const BARRIER_RETRY_MS = 500;

/** The lease name of partition `i` (one subject token). */
export const partitionName = (i: number): string => `p${i}`;

/**
 * The partition whose holder reports a job's waiting reasons on the log: one replica, so the log
 * does not get one report per replica. By the job id, as every replica computes it alike.
 */
export const reporterPartitionOf = (jobId: string, partitionCount: number): string => partitionName(fnv1a32(jobId) % partitionCount);

/** Where a partition stands on this replica: taken under `epoch`, and routable once the engine has folded the log up to `barrierSeq`. */
interface HeldPartition {
  readonly epoch: number;
  /** Infinity until the log's last sequence at the take-over is known */
  barrierSeq: number;
}

/**
 * Matching as several replicas (MATCHING_PARTITIONS = N >= 1): every replica follows the whole log
 * (the engine's state is the market's), and books nodes only in markets whose partition
 * (`partitionOf(market key, N)`) it holds a lease on (`PartitionLeases`: one active writer per
 * partition, an epoch per lease, hand-over after TTL + skew when a holder dies, at once when it
 * stops). So a node is booked by one replica at a time and never over capacity; a job eligible in
 * several partitions may be routed by two replicas at once, and the job aggregate's expected
 * sequence lets exactly one JobMatched in (the other finds it JOB_NOT_QUEUED and lets its
 * reservation go).
 *
 * A partition just taken is routable only once this replica's engine has folded the log up to the
 * stream's last sequence read after the take-over: by then every match the former holder appended
 * (it stopped at its deadline, TTL - skew, before the take-over at TTL + skew) is in the engine.
 * Every JobMatched carries its partition and epoch, so an auditor can tell who wrote it under
 * which lease. With N = 0 (the default) there are no leases: one instance matches everything.
 */
@Injectable()
export class MatchingPartitions {
  readonly count: number;
  readonly replicaId: string;
  private readonly logger = new Logger('matching');
  private readonly held = new Map<string, HeldPartition>();
  private readonly marketPartitions = new Map<string, string>();
  private leases?: PartitionLeases;
  private readonly changes: Counter<'change'>;
  private wake: () => void = () => undefined;

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly state: EngineState,
    @InjectConfig() private readonly config: MatchingConfig,
  ) {
    this.count = config.MATCHING_PARTITIONS;
    this.replicaId = config.MATCHING_REPLICA_ID ?? defaultReplicaId();
    const routed = () => this.routablePartitions().length;
    new Gauge({
      name: 'starminer_matching_partitions_held',
      help: 'Matching partitions this replica holds the lease of and routes (0 when matching is not partitioned)',
      registers: [rt.metrics],
      collect() {
        this.set(routed());
      },
    });
    this.changes = new Counter({ name: 'starminer_matching_lease_changes_total', help: 'Matching partition leases this replica took or lost', labelNames: ['change'], registers: [rt.metrics] });
  }

  /** Whether matching runs as partitioned replicas (else this instance matches everything). */
  get partitioned(): boolean {
    return this.count > 0;
  }

  /** Starts taking leases (after the engine caught up with the log); `onRoutable` runs when a partition becomes routable. */
  async start(onRoutable: () => void): Promise<void> {
    if (!this.partitioned) return;
    this.wake = onRoutable;
    const c = this.rt.config;
    this.leases = new PartitionLeases({
      nc: this.rt.tradeLog.nc,
      replicaId: this.replicaId,
      group: 'matching',
      partitions: Array.from({ length: this.count }, (_, i) => partitionName(i)),
      streamName: `${c.TRADE_STREAM}_LEASES`,
      subjectPrefix: `${c.TRADE_SUBJECT_PREFIX}-lease`,
      streamReplicas: c.TRADE_STREAM_REPLICAS,
      ttlMs: this.config.MATCHING_LEASE_TTL_MS,
      onAcquired: (partition, epoch) => this.acquired(partition, epoch),
      onLost: (partition, epoch, reason) => this.lost(partition, epoch, reason),
      onError: (err, partition) => this.logger.warn(`lease${partition ? ` of ${partition}` : ''}: ${(err as Error).message}`),
    });
    await this.leases.start();
    this.logger.log(`matching replica ${this.replicaId}: ${this.count} partitions, holding ${this.routablePartitions().join(', ') || 'none yet'}`);
  }

  /** Gives every lease back at once (a clean stop: another replica takes over without waiting for the TTL). */
  async stop(): Promise<void> {
    await this.leases?.release();
  }

  /** The partition of a market (its key: `marketKey(gpuClass, region)`). */
  partitionOfMarket(key: string): string {
    let p = this.marketPartitions.get(key);
    if (p === undefined) {
      p = partitionName(partitionOf(key, this.count));
      if (this.marketPartitions.size >= MARKET_PARTITIONS_CACHED_MAX) this.marketPartitions.clear();
      this.marketPartitions.set(key, p);
    }
    return p;
  }

  /** May this replica book nodes of the market now: its partition held, caught up past the take-over, time left on the lease. */
  readonly routable = (key: string): boolean => this.leaseFor(key) !== undefined;

  /** The lease a match on a node of (gpuModel, region) is appended under now, or undefined: this replica must not book it. */
  writeLease(gpuModel: string, region: string): { partition: string; epoch: number } | undefined {
    return this.leaseFor(marketKey(gpuModel, region));
  }

  /** Whether this replica reports the job's waiting reasons (the holder of its reporter partition; everyone when not partitioned). */
  reports(jobId: string): boolean {
    if (!this.partitioned) return true;
    return this.ready(reporterPartitionOf(jobId, this.count)) !== undefined;
  }

  /** Partitions this replica routes now. */
  routablePartitions(): string[] {
    return [...this.held.keys()].filter((p) => this.ready(p) !== undefined).sort();
  }

  private leaseFor(key: string): { partition: string; epoch: number } | undefined {
    const partition = this.partitionOfMarket(key);
    const epoch = this.ready(partition);
    return epoch === undefined ? undefined : { partition, epoch };
  }

  /** The epoch of a partition this replica may write for now, or undefined. */
  private ready(partition: string): number | undefined {
    const h = this.held.get(partition);
    if (!h || this.state.lastSeq < h.barrierSeq) return undefined;
    const lease = this.leases?.leaseOf(partition);
    if (!lease || lease.epoch !== h.epoch || lease.deadlineMs - Date.now() < LEASE_APPEND_MARGIN_MS) return undefined;
    return h.epoch;
  }

  private acquired(partition: string, epoch: number): void {
    const h: HeldPartition = { epoch, barrierSeq: Infinity };
    this.held.set(partition, h);
    this.changes.inc({ change: 'acquired' });
    const readBarrier = (): void => {
      this.rt.tradeLog.lastSeq().then(
        (seq) => {
          if (this.held.get(partition) !== h) return;
          h.barrierSeq = seq;
          this.logger.log(`took matching partition ${partition} (epoch ${epoch}); routes it once the engine has folded the log to #${seq}`);
          // routable now if the engine is past it already; else the follower's round after the
          // batch that passes it routes it (a round follows every batch)
          if (this.state.lastSeq >= seq) this.wake();
        },
        (err: Error) => {
          this.logger.warn(`partition ${partition}: reading the log's last sequence failed (${err.message}); trying again`);
          if (this.held.get(partition) === h) setTimeout(readBarrier, BARRIER_RETRY_MS).unref();
        },
      );
    };
    readBarrier();
  }

  private lost(partition: string, epoch: number, reason: PartitionLossReason): void {
    if (this.held.get(partition)?.epoch !== epoch) return;
    this.held.delete(partition);
    this.changes.inc({ change: 'lost' });
    const log = reason === 'stopped' || reason === 'shed' ? 'log' : 'warn';
    this.logger[log](`gave up matching partition ${partition} (epoch ${epoch}): ${reason}`);
  }
}

function defaultReplicaId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40) || 'host';
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}
