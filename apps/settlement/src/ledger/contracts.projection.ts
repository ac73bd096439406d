import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { In, LessThan, type EntityManager } from 'typeorm';
import type { TradeEvent } from '@starminer/events';
import { ServiceRuntime } from '@starminer/service-kit';
import type { ProjectionRunner, StoredEvent } from '@starminer/trade-log';
import { ContractRow } from './contract-row.entity';
import { LedgerEntry } from './ledger-entry.entity';

/** The projection's name: its checkpoint, its parked events, its health and metrics. */
export const CONTRACTS_PROJECTION = 'contracts';

/**
 * Every contract and every movement of its escrow, from contract events. Critical: with one of
 * its events parked the ledger no longer matches the chain and the deadline scan would miss (or
 * wrongly keep) a contract, so readiness is red until an operator re-applies it.
 */
@Injectable()
export class ContractsProjection implements OnApplicationBootstrap {
  private runner!: ProjectionRunner;

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    this.runner = this.rt.projection(CONTRACTS_PROJECTION, [this.rt.filter('contract')], (em, e) => applyToContracts(em, e), {
      critical: true,
      reset: async (em) => {
        await em.getRepository(LedgerEntry).clear();
        await em.getRepository(ContractRow).clear();
      },
    });
    await this.runner.start();
  }

  /** Resolves once the read model includes `seq`. */
  waitUntil(seq: number, timeoutMs?: number): Promise<void> {
    return this.runner.waitUntil(seq, timeoutMs);
  }

  /** Open or running contracts whose deadline is before `nowUnixSec`, oldest deadline first. */
  expired(nowUnixSec: number, limit: number): Promise<ContractRow[]> {
    return this.rt.db.getRepository(ContractRow).find({
      where: { status: In(['open', 'running']), deadlineUnixSec: LessThan(String(nowUnixSec)) },
      take: limit,
      order: { deadlineUnixSec: 'ASC' },
    });
  }

  /** Contracts decided before `decidedBefore` whose chain call is not recorded yet, oldest first. */
  staleSettling(decidedBefore: Date, limit: number): Promise<ContractRow[]> {
    return this.rt.db.getRepository(ContractRow).find({
      where: { status: 'settling', decidedAt: LessThan(decidedBefore) },
      take: limit,
      order: { decidedAt: 'ASC' },
    });
  }
}

/**
 * Applies one contract event. Rows are keyed by job and ledger entries by event id (upserts), so
 * an event applied twice changes nothing; the runner's checkpoint skips it anyway.
 */
export async function applyToContracts(em: EntityManager, { event, seq }: StoredEvent): Promise<void> {
  const contracts = em.getRepository(ContractRow);
  const ledger = em.getRepository(LedgerEntry);
  const e = event as TradeEvent;
  const at = new Date(e.occurredAt);
  /** One movement of escrow, keyed by the event that recorded it. */
  const entry = (kind: LedgerEntry['kind'], d: { jobId: string; amountWei: bigint; txHash: string | null }, account: string) =>
    ledger.upsert({ eventId: e.id, seq: String(seq), jobId: d.jobId, kind, account: account.toLowerCase(), amountWei: d.amountWei, txHash: d.txHash, occurredAt: at }, ['eventId']);
  switch (e.type) {
    case 'ContractOpened':
      await contracts.upsert(
        {
          jobId: e.data.jobId,
          status: 'open',
          requesterAddress: e.data.requesterAddress.toLowerCase(),
          nodeAddress: e.data.nodeAddress.toLowerCase(),
          escrowWei: e.data.escrowWei,
          deadlineUnixSec: String(e.data.deadlineUnixSec),
          outcome: null,
          decidedAt: null,
        },
        ['jobId'],
      );
      await entry('escrow-locked', { ...e.data, amountWei: e.data.escrowWei }, e.data.requesterAddress);
      return;
    case 'JobStarted':
      await contracts.update({ jobId: e.data.jobId, status: 'open' }, { status: 'running' });
      return;
    case 'SettlementDecided':
      await contracts.update({ jobId: e.data.jobId }, { status: 'settling', outcome: e.data.outcome, decidedAt: at });
      return;
    case 'ContractReleased':
      await contracts.update({ jobId: e.data.jobId }, { status: 'released' });
      await entry('released', e.data, e.data.nodeAddress);
      return;
    case 'ContractRefunded':
      await contracts.update({ jobId: e.data.jobId }, { status: 'refunded' });
      await entry('refunded', e.data, e.data.requesterAddress);
      return;
    default:
      return;
  }
}
