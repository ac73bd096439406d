import { Injectable } from '@nestjs/common';
import { Brackets } from 'typeorm';
import type { z } from 'zod';
import { COMMANDS, FINAL_JOB_STATUSES, LIMITS, SERVICES_WITH_PARKING, type opsStatusSchema, type ServiceStatus } from '@starminer/events';
import type { ChainPublicClient } from '@starminer/chain';
import { CommandBus, describeError, InjectConfig, publicClientFor, ServiceHealth, ServiceRuntime, withTimeout } from '@starminer/service-kit';
import { AnchorList } from '../anchors/anchor-list';
import type { GatewayConfig } from '../gateway.config';
import { JobView } from '../views/entities';
import { OPS_COMMAND_TIMEOUT_MS, OPS_READ_TIMEOUT_MS, STUCK_MATCHED_WITHOUT_CONTRACT_MS, STUCK_PAST_DEADLINE_GRACE_MS } from './ops-limits';

export type OpsStatusAnswer = z.input<typeof opsStatusSchema>;
type ServiceEntry = OpsStatusAnswer['services'][number];

/** The services the gateway asks (it answers for itself, from its own health). */
const OTHER_SERVICES = SERVICES_WITH_PARKING.filter((s) => s !== 'gateway');

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Whether the market is healthy: every service answered ready (the gateway too), no reader of
 * any of them failed, nothing is parked (a count that could not be read counts against it), no
 * job is stuck, and every part was read. Pure.
 */
export function overallOf(p: { services: readonly ServiceEntry[]; gateway: ServiceStatus; stuckCount: number | null; partsRead: boolean }): OpsStatusAnswer['overall'] {
  const statuses = [p.gateway, ...p.services];
  const healthy =
    p.partsRead &&
    p.stuckCount === 0 &&
    statuses.every((s) => s.ready && 'readers' in s && s.readers.every((r) => r.state !== 'failed' && r.parked === 0));
  return healthy ? 'healthy' : 'degraded';
}

/**
 * The operator's status of the market (GET /v1/ops/status): each service's own status
 * (cmd.<service>.status, asked at once, each bounded by OPS_COMMAND_TIMEOUT_MS), the gateway's from
 * its own health, the log's head, the chain and its latest anchor, and the jobs that are stuck,
 * from the gateway's job view. A part that cannot be read is null with its error, and the market
 * degraded: an operator's page must answer in an outage.
 */
@Injectable()
export class OpsStatus {
  private readonly publicClient: ChainPublicClient;

  constructor(
    private readonly bus: CommandBus,
    private readonly rt: ServiceRuntime,
    private readonly anchors: AnchorList,
    private readonly health: ServiceHealth,
    @InjectConfig() private readonly config: GatewayConfig,
  ) {
    this.publicClient = publicClientFor(config);
  }

  async read(now: Date = new Date()): Promise<OpsStatusAnswer> {
    const [services, gateway, log, stuckJobs] = await Promise.all([this.services(), this.health.status(), this.log(), this.stuckJobs(now)]);
    const chain = await this.chain(log.lastSeq);
    const partsRead = log.error === undefined && chain.error === undefined && stuckJobs.error === undefined;
    return { at: now.toISOString(), overall: overallOf({ services, gateway, stuckCount: stuckJobs.count, partsRead }), services, gateway, log, chain, stuckJobs };
  }

  private services(): Promise<ServiceEntry[]> {
    return Promise.all(
      OTHER_SERVICES.map(async (service): Promise<ServiceEntry> => {
        try {
          return await this.bus.send(COMMANDS[service].status, {}, { timeoutMs: OPS_COMMAND_TIMEOUT_MS });
        } catch (err) {
          return { service, ready: false, error: describeError(err).body };
        }
      }),
    );
  }

  private async log(): Promise<OpsStatusAnswer['log']> {
    try {
      return { lastSeq: await withTimeout(this.rt.tradeLog.lastSeq(), OPS_READ_TIMEOUT_MS, 'the trade log did not answer') };
    } catch (err) {
      return { lastSeq: null, error: messageOf(err) };
    }
  }

  private async chain(lastSeq: number | null): Promise<OpsStatusAnswer['chain']> {
    const base = { chainId: this.config.CHAIN_ID, anchorContract: this.config.MARKET_ADDRESSES.anchor ?? null };
    const [block, anchor] = await Promise.all([
      withTimeout(this.publicClient.getBlockNumber(), OPS_READ_TIMEOUT_MS, 'the chain did not answer').then(
        (n) => ({ n: Number(n) }),
        (err: unknown) => ({ error: `block number: ${messageOf(err)}` }),
      ),
      withTimeout(this.anchors.latest(), OPS_READ_TIMEOUT_MS, 'the anchors were not read in time').then(
        (a) => ({ a }),
        (err: unknown) => ({ error: `latest anchor: ${messageOf(err)}` }),
      ),
    ]);
    const latestAnchor = 'a' in anchor ? anchor.a : null;
    const eventsSinceAnchor = lastSeq === null || !('a' in anchor) ? null : Math.max(0, lastSeq - (latestAnchor?.toSeq ?? 0));
    const errors = [block, anchor].flatMap((r) => ('error' in r ? [r.error] : []));
    return { ...base, blockNumber: 'n' in block ? block.n : null, latestAnchor, eventsSinceAnchor, ...(errors.length ? { error: errors.join('; ') } : {}) };
  }

  /**
   * Stuck jobs, from the job view: not final and past the deadline by STUCK_PAST_DEADLINE_GRACE_MS
   * (since: the deadline), or matched STUCK_MATCHED_WITHOUT_CONTRACT_MS ago with no contract opened
   * (since: the match, the view's last update of a matched job). Every one counted, the first
   * LIMITS.opsStuckJobsListedMax listed, longest stuck first.
   */
  private async stuckJobs(now: Date): Promise<OpsStatusAnswer['stuckJobs']> {
    const pastSec = Math.floor((now.getTime() - STUCK_PAST_DEADLINE_GRACE_MS) / 1000);
    const matchedBefore = new Date(now.getTime() - STUCK_MATCHED_WITHOUT_CONTRACT_MS);
    const pastDeadline = 'j.deadlineUnixSec IS NOT NULL AND j.deadlineUnixSec < :pastSec';
    const stuck = () =>
      this.rt.db
        .getRepository(JobView)
        .createQueryBuilder('j')
        .where('j.status NOT IN (:...final)', { final: FINAL_JOB_STATUSES })
        .andWhere(new Brackets((w) => w.where(pastDeadline, { pastSec }).orWhere('(j.status = :matched AND j.updatedAt < :matchedBefore)', { matched: 'matched', matchedBefore })));
    const since = `CASE WHEN ${pastDeadline} THEN to_timestamp(j.deadlineUnixSec) ELSE j.updatedAt END`;
    try {
      const [count, rows] = await withTimeout(
        Promise.all([
          stuck().getCount(),
          stuck()
            .select('j.jobId', 'jobId')
            .addSelect('j.status', 'status')
            .addSelect(since, 'since')
            .addSelect(`CASE WHEN ${pastDeadline} THEN 'past-deadline' ELSE 'matched-without-contract' END`, 'reason')
            .orderBy(since, 'ASC')
            .addOrderBy('j.jobId', 'ASC')
            .limit(LIMITS.opsStuckJobsListedMax)
            .getRawMany<{ jobId: string; status: string; since: Date; reason: 'past-deadline' | 'matched-without-contract' }>(),
        ]),
        OPS_READ_TIMEOUT_MS,
        'the job view did not answer',
      );
      return {
        count,
        jobs: rows.map((r) => ({ jobId: r.jobId, status: r.status as OpsStatusAnswer['stuckJobs']['jobs'][number]['status'], reason: r.reason, since: new Date(r.since).toISOString() })),
      };
    } catch (err) {
      return { count: null, jobs: [], error: messageOf(err) };
    }
  }
}
