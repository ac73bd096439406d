import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Hex, TransactionReceipt } from 'viem';
import { ChainActionError, readComputeContract, readSettleTransaction } from '@starminer/chain';
import { contractDecider, type SettleEffectCommand } from '@starminer/domain';
import type { TradeEventOf } from '@starminer/events';
import { ServiceRuntime, Ticker, type Causation } from '@starminer/service-kit';
import { PoisonEventError } from '@starminer/trade-log';
import { SETTLE_GIVE_UP_MS } from '../deadlines/deadline-scanner';
import { redriveDelayMs } from '../deadlines/redrive-backoff';
import { ExecuteSettlement, OpenMissingError } from '../execute-settlement/execute-settlement';
import { Slashing } from '../execute-settlement/slashing';
import type { ContractRow } from '../ledger/contract-row.entity';
import { ContractsProjection } from '../ledger/contracts.projection';
import { SettlementChain } from '../settlement-chain';

/** How often a round runs. */
export const RECONCILE_SCAN_MS = 2_000;
/** Settlements one round checks against the chain, of each kind (due retries, the cursor, slashes). */
export const RECONCILE_ROWS_MAX = 50;
/**
 * Outside a full pass the cursor walks the settlements recorded in this window: a reorganisation
 * only reaches recent blocks, and a chain restored from an older state moves its head below what
 * was recorded, which starts a full pass.
 */
export const RECONCILE_RECENT_MS = 60 * 60_000;
/** A rejected result's refund older than this whose slash is not known done is slashed again (the executor had its chance). */
export const SLASH_STALE_MS = 60_000;

type Action = 'release' | 'refund';

/** What one check found. */
type Check =
  | { readonly kind: 'held'; readonly receipt?: TransactionReceipt }
  | { readonly kind: 'restored'; readonly txHash: string | null }
  | { readonly kind: 'moved-on' };

/** The chain settled the job the other way (a release recorded, the chain refunded, or the reverse): no retry changes that. */
class SettledOtherWayError extends Error {
  override readonly name = 'SettledOtherWayError';
}

/**
 * Compares the chain with the log for recorded releases and refunds, and carries out again what
 * the chain no longer holds (a reorganisation, a chain restored from an older state):
 * - the chain holds it, by the recorded transaction: nothing;
 * - the chain holds it by another transaction (the recorded one is gone): `ChainEffectRestored`
 *   names the transaction the chain shows, so no job is settled with a transaction not on chain;
 * - the contract is open (or disputed) again: released again with the signed result on the log,
 *   or refunded again, then `ChainEffectRestored` with the new transaction (at confirmation depth);
 * - the chain lost the open too: it waits (bounded backoff) for the deployer's reconciler to open
 *   it again, then settles; after SETTLE_GIVE_UP_MS, or when the chain went the other way or there
 *   is no signed result, `ChainEffectLost` (an operator must look).
 * It also re-drives the slash of a rejected result's refund that is not known done.
 *
 * Bounded: RECONCILE_ROWS_MAX per kind per round, a cursor over the recent settlements, and a full
 * pass over all of them at start and when the chain rewound (its head went back, is below the
 * highest recorded settlement block, or a checked block's hash changed). One job that fails never
 * stops the round; a query that fails is logged and run again next round.
 */
@Injectable()
export class ReconcileSettlements implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('reconcile-settlements');
  private readonly ticker = new Ticker('reconcile-settlements', RECONCILE_SCAN_MS, () => this.round(), this.logger);
  /** A full pass first: the chain may have moved while this process was down. */
  private fullPass = true;
  private cursorSeq = '0';
  /** The highest settlement block checked on chain, with its hash then: a changed hash is a rewind. */
  private watermark: { number: bigint; hash: Hex } | undefined;
  private lastHead: bigint | undefined;
  /** The highest recorded block that already started a full pass (one stuck row does not restart it every round). */
  private rewindSeenFor: bigint | undefined;

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: SettlementChain,
    private readonly contracts: ContractsProjection,
    private readonly settlement: ExecuteSettlement,
    private readonly slashing: Slashing,
  ) {}

  onApplicationBootstrap(): void {
    this.ticker.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.ticker.stop();
  }

  /** One round; each part logs its own failure and the next round tries again. */
  async round(nowMs: number = Date.now()): Promise<void> {
    let head: bigint;
    try {
      head = await this.chain.publicClient.getBlockNumber({ cacheTime: 0 });
      await this.detectRewind(head);
    } catch (err) {
      this.logger.warn(`the chain could not be read (next round retries): ${(err as Error).message}`);
      return;
    }
    await this.part('due restores', async () => {
      for (const row of await this.contracts.dueRestores(new Date(nowMs), RECONCILE_ROWS_MAX)) await this.checkOne(row, nowMs);
    });
    await this.part('settlement cursor', () => this.advanceCursor(nowMs));
    await this.part('slashes', async () => {
      for (const row of await this.contracts.unslashed(new Date(nowMs - SLASH_STALE_MS), new Date(nowMs), RECONCILE_ROWS_MAX)) await this.slashOne(row, nowMs);
    });
  }

  /** Whether a full pass is running (at start, and after a rewind until it has seen every settlement). */
  get inFullPass(): boolean {
    return this.fullPass;
  }

  private async part(name: string, work: () => Promise<void>): Promise<void> {
    await work().catch((err: Error) => this.logger.warn(`${name} failed (next round retries): ${err.message}`));
  }

  private async detectRewind(head: bigint): Promise<void> {
    const highest = await this.contracts.highestSettleBlock();
    const headWentBack = this.lastHead !== undefined && head < this.lastHead;
    const belowRecorded = highest !== null && highest > head && highest !== this.rewindSeenFor;
    let hashChanged = false;
    if (this.watermark) {
      hashChanged = this.watermark.number > head || (await this.chain.publicClient.getBlock({ blockNumber: this.watermark.number })).hash !== this.watermark.hash;
    }
    this.lastHead = head;
    if (!headWentBack && !belowRecorded && !hashChanged) return;
    this.logger.warn(`the chain rewound (head ${head}, highest recorded settlement block ${highest ?? 'none'}): checking every settlement again`);
    if (belowRecorded) this.rewindSeenFor = highest;
    this.fullPass = true;
    this.cursorSeq = '0';
    this.watermark = undefined;
  }

  private async advanceCursor(nowMs: number): Promise<void> {
    const since = this.fullPass ? undefined : new Date(nowMs - RECONCILE_RECENT_MS);
    const rows = await this.contracts.settledAfter(this.cursorSeq, RECONCILE_ROWS_MAX, since);
    for (const row of rows) await this.checkOne(row, nowMs);
    // The cursor stays at the last settlement checked: later rounds check the ones recorded since,
    // each once. One already checked needs no second look unless the chain rewound under it, which
    // detectRewind sees (the head went back, or the watermark block, at or above every checked
    // settlement, changed its hash: a reorganisation below it changes it too) and answers with a
    // full pass. Walking the last hour's settlements again and again instead (as this did) made
    // every settlement cost six chain reads every few seconds for an hour: the settlement
    // service's largest cost under load, growing with the rate and with the chain.
    this.cursorSeq = rows.at(-1)?.settledSeq ?? this.cursorSeq;
    if (rows.length < RECONCILE_ROWS_MAX) this.fullPass = false;
  }

  /** One settlement checked (and restored where the chain lost it); a failure waits its backoff, or gives up past its bound. */
  async checkOne(row: ContractRow, nowMs: number = Date.now()): Promise<void> {
    try {
      const check = await this.settlement.exclusive(row.jobId, () => this.reconcile(row.jobId));
      if (check.kind === 'held') {
        if (check.receipt) this.raiseWatermark(check.receipt);
        if (row.retryAt) await this.contracts.clearRetry(row.jobId);
      }
    } catch (err) {
      await this.failed(row, err, nowMs).catch((e: Error) => this.logger.warn(`reconciling ${row.jobId} failed: ${e.message}`));
    }
  }

  private async reconcile(jobId: string): Promise<Check> {
    const { state, events } = await this.rt.load('contract', jobId, contractDecider);
    if (state.status !== 'released' && state.status !== 'refunded') return { kind: 'moved-on' };
    const action: Action = state.status === 'released' ? 'release' : 'refund';
    const { publicClient, addresses } = this.chain;
    const onChain = await readComputeContract(publicClient, { addresses, jobId });
    if (onChain.status === state.status) {
      if (state.settleTxHash === null) {
        // recorded as the chain showed it (settled first by someone else: no transaction of ours),
        // and checked once like every settlement: its block must sit under the watermark, or a
        // reorganisation that drops it would not change the watermark's hash and go unseen
        const shown = await readSettleTransaction(publicClient, { addresses, jobId });
        const receipt = shown ? await this.receiptOf(shown.txHash) : undefined;
        return receipt?.status === 'success' ? { kind: 'held', receipt } : { kind: 'held' };
      }
      const receipt = await this.receiptOf(state.settleTxHash as Hex);
      if (receipt?.status === 'success') return { kind: 'held', receipt };
      // held, but by another transaction than the one recorded (re-driven after the chain rewound)
      const shown = await readSettleTransaction(publicClient, { addresses, jobId });
      return this.restore(jobId, action, shown?.txHash ?? null, shown?.blockNumber ?? null);
    }
    if (onChain.status === 'open' || onChain.status === 'disputed') {
      this.logger.warn(`job ${jobId}: the chain no longer holds its ${action} (${state.settleTxHash ?? 'no transaction recorded'}); carrying it out again`);
      const r = await this.settlement.carryOut(jobId, action, events);
      const tx = r.txHash === null ? await readSettleTransaction(publicClient, { addresses, jobId }) : { txHash: r.txHash, blockNumber: r.blockNumber };
      return this.restore(jobId, action, tx?.txHash ?? null, tx?.blockNumber ?? null);
    }
    if (onChain.status === 'none') throw new OpenMissingError(`${action} of ${jobId}: the chain lost the open too; waiting for it to be opened again`);
    throw new SettledOtherWayError(`job ${jobId} is recorded ${state.status}, but the chain shows it ${onChain.status}`);
  }

  private async restore(jobId: string, action: Action, txHash: Hex | null, blockNumber: bigint | null): Promise<Check> {
    const command: SettleEffectCommand = { type: 'RestoreSettleEffect', action, txHash, blockNumber: blockNumber === null ? null : blockNumber.toString() };
    const { events } = await this.rt.execute('contract', jobId, contractDecider, command, causationOf(jobId));
    if (events.length) this.logger.warn(`job ${jobId}: ${action} restored on chain by ${txHash ?? 'a transaction not found'}`);
    return { kind: 'restored', txHash };
  }

  /** The receipt of `hash` on the chain now, or undefined when the chain does not hold it. */
  private async receiptOf(hash: Hex): Promise<TransactionReceipt | undefined> {
    try {
      return await this.chain.publicClient.getTransactionReceipt({ hash });
    } catch (err) {
      if ((err as Error).name === 'TransactionReceiptNotFoundError') return undefined;
      throw err;
    }
  }

  private raiseWatermark(receipt: TransactionReceipt): void {
    if (!this.watermark || receipt.blockNumber > this.watermark.number) this.watermark = { number: receipt.blockNumber, hash: receipt.blockHash };
  }

  private async failed(row: ContractRow, err: unknown, nowMs: number): Promise<void> {
    const refusal = refusalOf(err);
    const pendingSince = row.pendingSince ?? (refusal ? new Date(nowMs) : null);
    const waitedMs = pendingSince ? nowMs - pendingSince.getTime() : 0;
    if (refusal && (refusal.final || waitedMs >= SETTLE_GIVE_UP_MS)) {
      const action: Action = row.status === 'released' ? 'release' : 'refund';
      await this.rt.execute('contract', row.jobId, contractDecider, { type: 'RecordSettleEffectLost', action, code: refusal.code, reason: refusal.reason }, causationOf(row.jobId));
      this.logger.error(`job ${row.jobId}: its ${action} is lost on chain and could not be carried out again (${refusal.code}); an operator must look`);
      return;
    }
    const attempts = row.retryAttempts + 1;
    const delayMs = redriveDelayMs(attempts);
    await this.contracts.scheduleRetry(row.jobId, { attempts, retryAt: new Date(nowMs + delayMs), pendingSince });
    this.logger.warn(`reconciling ${row.jobId} (try ${attempts}) failed, next in ${Math.round(delayMs / 1000)} s: ${(err as Error).message}`);
  }

  /** The slash after a rejected result's refund, through Slashing (idempotent: it checks the chain and the pool's log first). */
  private async slashOne(row: ContractRow, nowMs: number): Promise<void> {
    try {
      await this.settlement.exclusive(row.jobId, async () => {
        const refunded = (await this.rt.events('contract', row.jobId)).filter((e): e is TradeEventOf<'ContractRefunded'> & typeof e => e.type === 'ContractRefunded').at(-1);
        if (refunded) await this.slashing.afterRefund(refunded);
      });
      await this.contracts.markSlashDone(row.jobId);
    } catch (err) {
      const refusal = refusalOf(err);
      const pendingSince = row.pendingSince ?? (refusal ? new Date(nowMs) : null);
      if (refusal && pendingSince && nowMs - pendingSince.getTime() >= SETTLE_GIVE_UP_MS) {
        // there is no event for a slash the chain refuses: say it loudly, and stop retrying
        this.logger.error(`job ${row.jobId}: the slash after its refund keeps being refused (${refusal.code}); given up, an operator must look`);
        await this.contracts.markSlashDone(row.jobId).catch(() => undefined);
        return;
      }
      const attempts = row.retryAttempts + 1;
      await this.contracts
        .scheduleRetry(row.jobId, { attempts, retryAt: new Date(nowMs + redriveDelayMs(attempts)), pendingSince })
        .catch((e: Error) => this.logger.warn(`slash of ${row.jobId}: ${e.message}`));
      this.logger.warn(`slash of ${row.jobId} (try ${attempts}) failed: ${(err as Error).message}`);
    }
  }
}

const causationOf = (jobId: string): Causation => ({ correlationId: jobId, causationId: jobId, actor: 'service:settlement' });

/**
 * What cannot pass by waiting a round: `final` when no retry can change it (the chain went the
 * other way, no signed result to release against), else given up after SETTLE_GIVE_UP_MS (an open
 * not restored, a revert). Undefined for a chain or log that did not answer: retried, unbounded.
 */
function refusalOf(err: unknown): { code: string; reason: string; final: boolean } | undefined {
  if (err instanceof OpenMissingError) return { code: 'OPEN_LOST', reason: 'the chain lost the open with the settlement, and it was not opened again', final: false };
  if (err instanceof SettledOtherWayError) return { code: 'SETTLED_OTHER_WAY', reason: err.message, final: true };
  if (err instanceof PoisonEventError) return { code: 'NO_SIGNED_RESULT', reason: err.message, final: true };
  if (err instanceof ChainActionError && err.code !== 'ChainUnavailable') return { code: err.code, reason: err.message, final: false };
  return undefined;
}
