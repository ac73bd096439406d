import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { LessThanOrEqual, MoreThan, type Repository } from 'typeorm';
import type { Address, Hex } from 'viem';
import { readMintRef } from '@starminer/chain';
import { KeyedMutex, ServiceRuntime, Ticker, type Causation } from '@starminer/service-kit';
import { DeployerChain } from '../chain/deployer-chain';
import { FaucetMints, type RequestedMint } from '../mint/faucet-mints';
import { FaucetMintRow, MintReconcilerRow } from './faucet-mint-row.entity';

/** How often a round runs. */
export const MINT_RECONCILE_INTERVAL_MS = 5_000;
/** A request younger than this is still its command's to finish (the reconciler would only find it done). */
export const MINT_PENDING_GRACE_MS = 15_000;
/** Requests without AccountFunded finished per round. */
export const MINT_PENDING_BATCH_MAX = 20;
/** Recorded mints checked against the chain per round, along the cursor. */
export const MINT_CHECK_BATCH_MAX = 50;
/** Recorded mints whose check failed, tried again per round. */
export const MINT_RETRY_BATCH_MAX = 20;
/** Backoff of one mint's failed attempts: base * 2^(attempts - 1), at most max. */
export const MINT_RETRY_BASE_MS = 1_000;
export const MINT_RETRY_MAX_MS = 5 * 60_000;
/** Backoff of whole rounds that failed in a row (the chain or Postgres away): at most this. */
export const MINT_ROUND_BACKOFF_MAX_MS = 60_000;
/** The reconciler's row in faucet_mint_reconciler. */
const PLACE = 'faucet';

export const mintBackoffMs = (attempts: number): number => Math.min(MINT_RETRY_MAX_MS, MINT_RETRY_BASE_MS * 2 ** Math.min(Math.max(attempts - 1, 0), 20));

export interface MintReconcileReport {
  /** The chain went back under a block a mint was found in: every recorded mint is checked again. */
  readonly rewound: boolean;
  /** Requests finished (minted or found minted, and recorded). */
  readonly finished: number;
  /** Recorded mints checked against the chain. */
  readonly checked: number;
  /** Recorded mints the chain had lost, minted again and recorded as MintRestored. */
  readonly restored: number;
  /** Attempts that failed (each backs off on its own; the others went on). */
  readonly failed: number;
  /** The cursor reached the last recorded mint. */
  readonly caughtUp: boolean;
}

/**
 * The faucet's reconciler. Each round (bounded batches, each mint with its own bounded backoff, so
 * one failing mint never stops the others):
 *   1. a rewind of the chain is noticed (the head below the highest block a mint was found in, or
 *      that block's hash changed): the cursor goes back to the start, a full re-check;
 *   2. requests without AccountFunded (a crash mid-mint) are finished: minted once or found minted;
 *   3. recorded mints along the cursor are checked: `mintBlockOf(ref)` 0 or the mint under another
 *      transaction means the chain lost the recorded one: minted again (once: the token refuses a
 *      reference twice) and MintRestored appended.
 */
@Injectable()
export class ReconcileMintsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('reconcile-mints');
  private readonly ticker: Ticker;
  /** A tick and a direct call (an operator, a spec) never run a round at the same time. */
  private readonly rounds = new KeyedMutex();
  private failedRounds = 0;
  private nextRoundAt = 0;

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: DeployerChain,
    private readonly mints: FaucetMints,
  ) {
    this.ticker = new Ticker('reconcile-mints', MINT_RECONCILE_INTERVAL_MS, () => this.tick(), this.logger);
  }

  onApplicationBootstrap(): void {
    this.ticker.start();
  }

  // before the kit closes the log and the database (its global module's shutdown hooks run first)
  async onModuleDestroy(): Promise<void> {
    await this.ticker.stop();
  }

  /** A timed round, skipped while an earlier failure's backoff runs. */
  private async tick(): Promise<void> {
    if (Date.now() < this.nextRoundAt) return;
    try {
      await this.reconcileOnce();
      this.failedRounds = 0;
    } catch (err) {
      this.failedRounds += 1;
      this.nextRoundAt = Date.now() + Math.min(MINT_ROUND_BACKOFF_MAX_MS, MINT_RECONCILE_INTERVAL_MS * 2 ** Math.min(this.failedRounds, 10));
      throw err;
    }
  }

  /** One round; `nowMs` is the round's clock (the grace of young requests and the backoffs are measured on it). */
  reconcileOnce(nowMs = Date.now()): Promise<MintReconcileReport> {
    return this.rounds.run('round', async () => {
      const now = new Date(nowMs);
      const place = await this.place();
      const rewound = await this.rewound(place);
      if (rewound) {
        this.logger.warn(`the chain went back under block ${place.highBlockNumber}: checking every recorded faucet mint again`);
        place.cursorSeq = '0';
        place.highBlockNumber = null;
        place.highBlockHash = null;
        await this.places().save(place);
      }
      const pending = await this.finishPending(now);
      const recorded = await this.checkRecorded(place, now);
      return { rewound, finished: pending.finished, checked: recorded.checked, restored: recorded.restored, failed: pending.failed + recorded.failed, caughtUp: recorded.caughtUp };
    });
  }

  private rows(): Repository<FaucetMintRow> {
    return this.rt.db.getRepository(FaucetMintRow);
  }

  private places(): Repository<MintReconcilerRow> {
    return this.rt.db.getRepository(MintReconcilerRow);
  }

  private async place(): Promise<MintReconcilerRow> {
    const found = await this.places().findOne({ where: { name: PLACE } });
    if (found) return found;
    await this.places().createQueryBuilder().insert().values({ name: PLACE, cursorSeq: '0', highBlockNumber: null, highBlockHash: null }).orIgnore().execute();
    return (await this.places().findOne({ where: { name: PLACE } }))!;
  }

  private async rewound(place: MintReconcilerRow): Promise<boolean> {
    if (place.highBlockNumber === null) return false;
    const high = BigInt(place.highBlockNumber);
    const head = await this.chain.publicClient.getBlockNumber({ cacheTime: 0 });
    if (head < high) return true;
    const block = await this.chain.publicClient.getBlock({ blockNumber: high });
    return block.hash?.toLowerCase() !== place.highBlockHash?.toLowerCase();
  }

  /** Requests older than the grace without AccountFunded, whose backoff (if any) has run out. */
  private async finishPending(now: Date): Promise<{ finished: number; failed: number }> {
    const due = await this.rows()
      .createQueryBuilder('m')
      .where('m.status = :status', { status: 'requested' })
      .andWhere('m.requestedAt <= :before', { before: new Date(now.getTime() - MINT_PENDING_GRACE_MS) })
      .andWhere('(m.retryAt IS NULL OR m.retryAt <= :now)', { now })
      .orderBy('m.requestedSeq', 'ASC')
      .limit(MINT_PENDING_BATCH_MAX)
      .getMany();
    let finished = 0;
    let failed = 0;
    for (const row of due) {
      try {
        const minted = await this.mints.finish(requestOf(row), causationOf(row));
        this.logger.warn(`faucet request ${row.requestId} of ${row.orgId} was left unfinished; ${minted.alreadyMinted ? 'found it minted' : 'minted it'} in ${minted.txHash} and recorded it`);
        // not again before the projection has its AccountFunded
        await this.rows().update({ mintRef: row.mintRef }, { attempts: 0, retryAt: new Date(now.getTime() + MINT_PENDING_GRACE_MS), lastError: null });
        finished += 1;
      } catch (err) {
        failed += 1;
        await this.failedAttempt(row, now, err);
      }
    }
    return { finished, failed };
  }

  /** The next recorded mints along the cursor, and those whose earlier check failed and is due again. */
  private async checkRecorded(place: MintReconcilerRow, now: Date): Promise<{ checked: number; restored: number; failed: number; caughtUp: boolean }> {
    const next = await this.rows().find({ where: { status: 'funded', fundedSeq: MoreThan(place.cursorSeq) }, order: { fundedSeq: 'ASC' }, take: MINT_CHECK_BATCH_MAX });
    const retries = await this.rows().find({
      where: { status: 'funded', fundedSeq: LessThanOrEqual(place.cursorSeq), retryAt: LessThanOrEqual(now) },
      order: { retryAt: 'ASC' },
      take: MINT_RETRY_BATCH_MAX,
    });
    let checked = 0;
    let restored = 0;
    let failed = 0;
    for (const row of [...retries, ...next]) {
      try {
        const found = await this.check(row);
        checked += 1;
        if (found.restored) restored += 1;
        if (place.highBlockNumber === null || found.blockNumber > BigInt(place.highBlockNumber)) {
          place.highBlockNumber = found.blockNumber.toString();
          place.highBlockHash = found.blockHash;
        }
      } catch (err) {
        failed += 1;
        await this.failedAttempt(row, now, err);
      }
    }
    // the cursor passes every mint of the page: one that failed is tried again by its backoff
    if (next.length > 0) place.cursorSeq = next[next.length - 1]!.fundedSeq!;
    await this.places().save(place);
    return { checked, restored, failed, caughtUp: next.length < MINT_CHECK_BATCH_MAX };
  }

  /** One recorded mint against the chain: still there under its transaction, or minted again. */
  private async check(row: FaucetMintRow): Promise<{ blockNumber: bigint; blockHash: Hex; restored: boolean }> {
    const onChain = await readMintRef(this.chain.publicClient, { token: this.chain.addresses.token, mintRef: row.mintRef as Hex });
    let found: { blockNumber: bigint; blockHash: Hex; restored: boolean };
    if (onChain.minted && onChain.txHash.toLowerCase() === row.txHash?.toLowerCase()) {
      found = { blockNumber: onChain.blockNumber, blockHash: onChain.blockHash, restored: false };
    } else {
      // lost (a reorganisation, a chain restored from an older state), or minted again by a restore that crashed before its record
      const minted = await this.mints.restore(requestOf(row), causationOf(row));
      this.logger.warn(
        `faucet mint ${row.mintRef} of ${row.orgId} recorded in ${row.txHash} is not on chain; ${minted.alreadyMinted ? 'found it' : 'minted it again'} in ${minted.txHash} and recorded MintRestored`,
      );
      found = { blockNumber: minted.blockNumber, blockHash: minted.blockHash, restored: true };
    }
    await this.rows().update(
      { mintRef: row.mintRef },
      { checkedBlockNumber: found.blockNumber.toString(), checkedBlockHash: found.blockHash, attempts: 0, retryAt: null, lastError: null },
    );
    return found;
  }

  private async failedAttempt(row: FaucetMintRow, now: Date, err: unknown): Promise<void> {
    const attempts = row.attempts + 1;
    const message = (err as Error)?.message ?? String(err);
    this.logger.warn(`faucet mint ${row.mintRef} of ${row.orgId} (${row.status}): attempt ${attempts} failed: ${message}`);
    await this.rows().update({ mintRef: row.mintRef }, { attempts, retryAt: new Date(now.getTime() + mintBackoffMs(attempts)), lastError: message.slice(0, 1_000) });
  }

  /** Faucet mints not yet recorded, for an operator or a spec. */
  pendingCount(): Promise<number> {
    return this.rows().count({ where: { status: 'requested' } });
  }
}

const requestOf = (row: FaucetMintRow): RequestedMint => ({ orgId: row.orgId, mintRef: row.mintRef as Hex, accountAddress: row.accountAddress as Address, amountWei: row.amountWei });
const causationOf = (row: FaucetMintRow): Causation => ({ correlationId: row.orgId, causationId: row.requestId, actor: 'service:deployer' });
