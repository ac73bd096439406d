import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { In } from 'typeorm';
import { contractDecider } from '@starminer/domain';
import { LIMITS, truncateText, type TradeEvent, type TradeEventOf } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import type { StoredEvent } from '@starminer/trade-log';
import { ContractRow } from '../ledger/contract-row.entity';

/** The durable consumer's name: it resumes after what it acked, and names its parked events. */
export const FAIL_ATTEMPTS_DURABLE = 'settlement-fail-attempts';
/**
 * Contracts of one node failed per page: a node runs at most one job per GPU
 * (LIMITS.gpusPerNodeMax), so one page is every contract it holds; the pages go on until none is left.
 */
export const FAIL_ATTEMPTS_PAGE_MAX = 2 * LIMITS.gpusPerNodeMax;
/** Pages of one node's contracts per event: a bound on the loop (far above what one node holds). */
export const FAIL_ATTEMPTS_PAGES_MAX = 16;
/** The code of an attempt whose node the registry marked offline (no heartbeat). */
export const NODE_OFFLINE = 'NODE_OFFLINE';

/**
 * Re-match on failure (issue 16), settlement's part: when the registry marks a node offline
 * (NodeAvailabilityChanged, `online: false`: no heartbeat for its timeout), every open or running
 * contract of that node's key fails its attempt (the contract decider's FailAttempt:
 * ContractAttemptFailed; the node is paid nothing and not slashed, no rule; on the job's last
 * attempt the escrow is refunded with the reason). Matching then queues the job again and the
 * deployer moves its escrow to the next node. At least once: the decider fails an attempt once,
 * and only the attempt of the node the contract names.
 */
@Injectable()
export class FailAttemptsConsumer implements OnApplicationBootstrap {
  private readonly logger = new Logger('fail-attempts');

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.rt.consume({ durable: FAIL_ATTEMPTS_DURABLE, filterSubjects: [this.rt.filter('node')], handler: (batch) => this.handle(batch) });
  }

  async handle(batch: readonly StoredEvent[]): Promise<void> {
    for (const stored of batch) {
      const e = stored.event as TradeEvent;
      if (e.type === 'NodeAvailabilityChanged' && !e.data.online) await this.nodeOffline(e);
    }
  }

  private async nodeOffline(e: TradeEventOf<'NodeAvailabilityChanged'>): Promise<void> {
    const node = (await this.rt.events('node', e.data.nodeId)).find((x): x is TradeEventOf<'NodeRegistered'> => x.type === 'NodeRegistered');
    if (!node) return; // a node never registered runs nothing
    const reason = truncateText(`node ${e.data.nodeId} went offline (${e.data.reason})`, LIMITS.reasonLengthMax);
    const failed = await this.failAttemptsOf(e.data.nodeId, node.data.nodeAddress, NODE_OFFLINE, reason, e.id);
    if (failed > 0) this.logger.log(`node ${e.data.nodeId} offline: ${failed} attempt(s) failed`);
  }

  /**
   * Fails the attempt of every open or running contract that names `nodeAddress`, a page at a
   * time; returns how many it failed. The contracts read model may lag the log: a contract it does
   * not show yet is left to its deadline's refund.
   */
  async failAttemptsOf(nodeId: string, nodeAddress: string, code: string, reason: string, causationId: string): Promise<number> {
    let failed = 0;
    let afterJobId = '';
    for (let page = 0; page < FAIL_ATTEMPTS_PAGES_MAX; page++) {
      const rows = await this.rt.db
        .getRepository(ContractRow)
        .createQueryBuilder('c')
        .select(['c.jobId'])
        .where({ nodeAddress: nodeAddress.toLowerCase(), status: In(['open', 'running']) })
        .andWhere('c.jobId > :afterJobId', { afterJobId })
        .orderBy('c.jobId', 'ASC')
        .limit(FAIL_ATTEMPTS_PAGE_MAX)
        .getMany();
      for (const { jobId } of rows) {
        const { events } = await this.rt.execute('contract', jobId, contractDecider, { type: 'FailAttempt', nodeId, nodeAddress, code, reason }, { correlationId: jobId, causationId, actor: 'service:settlement' });
        if (events.length) failed += 1;
      }
      if (rows.length < FAIL_ATTEMPTS_PAGE_MAX) break;
      afterJobId = rows[rows.length - 1]!.jobId;
    }
    return failed;
  }
}
