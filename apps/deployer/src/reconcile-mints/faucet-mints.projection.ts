import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { TradeEvent } from '@starminer/events';
import { ServiceRuntime, type ReadModel } from '@starminer/service-kit';
import type { ProjectionRunner, StoredEvent } from '@starminer/trade-log';
import { FaucetMintRow } from './faucet-mint-row.entity';

/** The projection's name: its checkpoint, and the reader its parked events are filed under. */
export const FAUCET_MINTS_READER = 'faucet-mints';

/** Faucet mints as a read model. What the mint reconciler found on chain, and its retries, are its own, not the log's. */
export const FAUCET_MINTS_MODEL: ReadModel = {
  name: FAUCET_MINTS_READER,
  kinds: ['account'],
  // the cases of applyToFaucetMints that write (its default changes nothing)
  types: ['MintRequested', 'AccountFunded', 'MintRestored'],
  apply: (em, e) => applyToFaucetMints(em, e),
  tables: [{ entity: FaucetMintRow, notFromLog: ['attempts', 'retryAt', 'lastError', 'checkedBlockNumber', 'checkedBlockHash'] }],
  critical: true,
};

/**
 * Faucet mints by reference, from account events (MintRequested, AccountFunded with a mintRef,
 * MintRestored), for the reconciler. Critical: a parked mint event would leave a mint unchecked.
 */
@Injectable()
export class FaucetMintsProjection implements OnApplicationBootstrap {
  private runner!: ProjectionRunner;

  constructor(private readonly rt: ServiceRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    this.runner = this.rt.readModel(FAUCET_MINTS_MODEL);
    await this.runner.start();
  }

  /** Resolves once the rows include `seq`. */
  waitUntil(seq: number): Promise<void> {
    return this.runner.waitUntil(seq);
  }
}

export async function applyToFaucetMints(em: EntityManager, { event, seq }: StoredEvent): Promise<void> {
  const repo = em.getRepository(FaucetMintRow);
  const e = event as TradeEvent;
  switch (e.type) {
    case 'MintRequested': {
      const d = e.data;
      await repo
        .createQueryBuilder()
        .insert()
        .values({
          mintRef: d.mintRef.toLowerCase(),
          orgId: d.orgId,
          accountAddress: d.accountAddress,
          amountWei: d.amountWei,
          requestId: e.causationId,
          status: 'requested',
          requestedSeq: String(seq),
          requestedAt: new Date(e.occurredAt),
        })
        .orIgnore()
        .execute();
      return;
    }
    case 'AccountFunded': {
      const d = e.data;
      if (d.mintRef === undefined) return; // funded before references: nothing the chain can be asked about
      const mintRef = d.mintRef.toLowerCase();
      const row = await repo.findOne({ where: { mintRef } });
      if (row?.status === 'funded') return;
      const recorded = { status: 'funded', txHash: d.txHash, fundedSeq: String(seq), checkedBlockNumber: null, checkedBlockHash: null, attempts: 0, retryAt: null, lastError: null };
      if (row) await repo.update({ mintRef }, recorded);
      else
        await repo.insert({
          mintRef,
          orgId: d.orgId,
          accountAddress: d.accountAddress,
          amountWei: d.amountWei,
          requestId: e.causationId,
          requestedSeq: String(seq),
          requestedAt: new Date(e.occurredAt),
          ...recorded,
        });
      return;
    }
    case 'MintRestored':
      await repo.update({ mintRef: e.data.mintRef.toLowerCase() }, { txHash: e.data.txHash, checkedBlockNumber: null, checkedBlockHash: null });
      return;
    default:
      return;
  }
}
