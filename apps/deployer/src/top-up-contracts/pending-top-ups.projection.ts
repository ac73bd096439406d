import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { TOP_UP_ID_PREFIX, type TradeEvent } from '@starminer/events';
import { ServiceRuntime, type ReadModel } from '@starminer/service-kit';
import type { ProjectionRunner, StoredEvent } from '@starminer/trade-log';
import { PendingTopUpRow } from './pending-top-up.entity';

export const PENDING_TOP_UPS_PROJECTION = 'deployer-top-ups';

/** The top-ups in flight as a read model: reserved (account events) and not yet recorded (contract events). */
export const PENDING_TOP_UPS_MODEL: ReadModel = {
  name: PENDING_TOP_UPS_PROJECTION,
  kinds: ['account', 'contract'],
  // the cases of applyToTopUps that write (its default changes nothing)
  types: ['FundsReserved', 'FundsReleased', 'ContractToppedUp'],
  apply: (em, e) => applyToTopUps(em, e),
  tables: [{ entity: PendingTopUpRow, notFromLog: ['checks', 'nextCheckAtMs', 'lastError'] }],
};

/**
 * The deployer's top-ups in flight, for its top-up reconciler. Not critical: a parked event here
 * only delays a reconciliation (a retry of the request records the top-up as well).
 */
@Injectable()
export class PendingTopUpsProjection implements OnApplicationBootstrap {
  private runner!: ProjectionRunner;

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    this.runner = this.rt.readModel(PENDING_TOP_UPS_MODEL);
    await this.runner.start();
  }

  /** Resolves once the read model includes `seq`. */
  waitUntil(seq: number): Promise<void> {
    return this.runner.waitUntil(seq);
  }
}

const isTopUpKey = (key: string): boolean => key.startsWith(TOP_UP_ID_PREFIX);

/** One event: a top-up's reservation adds its row (again after a release: a retry reserved anew), its release marks it, its record removes it. */
export async function applyToTopUps(em: EntityManager, { event }: StoredEvent): Promise<void> {
  const rows = em.getRepository(PendingTopUpRow);
  const e = event as TradeEvent;
  switch (e.type) {
    case 'FundsReserved': {
      if (!isTopUpKey(e.data.jobId)) return;
      const reservedAtMs = String(Date.parse(e.occurredAt));
      await rows.upsert({ topUpId: e.data.jobId, jobId: e.correlationId, orgId: e.data.orgId, amountWei: e.data.amountWei, reservedAtMs, releasedAtMs: null }, ['topUpId']);
      return;
    }
    case 'FundsReleased':
      if (!isTopUpKey(e.data.jobId)) return;
      await rows.update({ topUpId: e.data.jobId }, { releasedAtMs: String(Date.parse(e.occurredAt)) });
      return;
    case 'ContractToppedUp':
      await rows.delete({ topUpId: e.data.topUpId });
      return;
    default:
      return;
  }
}
