import { Injectable, Logger } from '@nestjs/common';
import { IsNull, LessThanOrEqual, MoreThan, Not } from 'typeorm';
import { encodeEventTopics, type Hex, type TransactionReceipt } from 'viem';
import { ChainActionError, escrowAbi, jobIdToBytes32, openComputeContract, readComputeContract } from '@starminer/chain';
import { contractDecider } from '@starminer/domain';
import { LIMITS, truncateText, type TradeEventOf } from '@starminer/events';
import { InjectConfig, ServiceRuntime } from '@starminer/service-kit';
import { DeployerChain } from '../chain/deployer-chain';
import type { DeployerConfig } from '../deployer.config';
import { isPoison, OpenContractsConsumer } from '../open-contracts/open-contracts.consumer';
import { RecordedOpenRow } from './open-rows.entity';

/** Recorded opens compared with the chain per round (the cursor walks them in log order). */
export const OPEN_CHECK_PAGE_MAX = 32;
/** Lost opens retried per round. */
export const OPEN_RESTORE_PAGE_MAX = 16;
/** The newest verified opens whose block hash is compared each round, to notice a rewind. */
export const REWIND_SAMPLE_MAX = 8;
/** The longest wait between two tries of restoring one lost open. */
export const OPEN_RESTORE_DELAY_MS_MAX = 60_000;
const OPEN_RESTORE_DELAY_MS_BASE = 1_000;
/**
 * Codes that mean the requester's funds are not there (yet): after a chain restored from an older
 * state its mint may be missing until the faucet's reconciler mints it again, so these are retried
 * until DEPLOYER_OPEN_RESTORE_GIVE_UP_MS. Any other revert of the open (the deadline passed, a
 * conflicting job id) cannot be cured: the open is recorded lost at once.
 */
const FUNDS_CODES: ReadonlySet<string> = new Set(['ERC20InsufficientBalance', 'ERC20InsufficientAllowance', 'PermitFailed']);
export const OPEN_LOST = 'OPEN_LOST';

/**
 * The chain-vs-log check of contract opens. Each round:
 * - rewind: the chain's head below the highest recorded open's block, or a verified open's block
 *   hash changed (a reorganisation, a chain restored from an older state): the cursor goes back to
 *   the start, so every recorded open is checked again (OPEN_CHECK_PAGE_MAX per round);
 * - the next OPEN_CHECK_PAGE_MAX recorded opens after the cursor: held on chain -> its block hash
 *   noted (and, if the chain holds it by another transaction, ChainEffectRestored with that one);
 *   not held -> marked lost and restored;
 * - lost opens due: opened again on the same terms (recomputed from the log as the consumer does;
 *   the custodial account signs a new permit) -> ChainEffectRestored {action: open}; a revert no
 *   retry cures (deadline passed) or DEPLOYER_OPEN_RESTORE_GIVE_UP_MS of missing funds ->
 *   ChainEffectLost then ContractOpenFailed OPEN_LOST, which ends the job;
 * - an open given up as OPEN_TIMED_OUT that the chain holds after all (landed after the give-up
 *   grace): ChainEffectRestored {action: open, previousTxHash: null} on the open-failed contract.
 *   Its escrow is not spent by the platform: the escrow lets anyone refund it to the requester
 *   after deadline + publicRefundDelaySec, and the log says so for the operator and the audit.
 * The cursor is in memory: a restart checks everything again, bounded per round.
 */
@Injectable()
export class OpenChainCheck {
  private readonly logger = new Logger('open-chain-check');
  private cursorSeq = 0;

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: DeployerChain,
    private readonly opens: OpenContractsConsumer,
    @InjectConfig() private readonly config: DeployerConfig,
  ) {}

  async checkOnce(nowMs: number): Promise<{ checked: number; restored: number; lost: number }> {
    const repo = this.rt.db.getRepository(RecordedOpenRow);
    if (await this.rewound()) {
      this.logger.warn('the chain was rewound under recorded opens: checking every recorded open again');
      this.cursorSeq = 0;
    }
    const page = await repo.find({ where: { seq: MoreThan(String(this.cursorSeq)), lostSinceMs: IsNull() }, order: { seq: 'ASC' }, take: OPEN_CHECK_PAGE_MAX });
    let restored = 0;
    let lost = 0;
    const receipts = new Map<string, Promise<TransactionReceipt | undefined>>(); // a batch's jobs share one
    for (const row of page) {
      try {
        const r = await this.checkRow(row, nowMs, receipts);
        if (r === 'restored') restored += 1;
      } catch (err) {
        this.logger.warn(`job ${row.jobId}: open not checked: ${(err as Error).message}`);
        break; // the chain or the log is away: this row again next round
      }
      this.cursorSeq = Number(row.seq);
    }
    const due = await repo.find({ where: { lostSinceMs: Not(IsNull()), restoreNextAtMs: LessThanOrEqual(String(nowMs)) }, order: { restoreNextAtMs: 'ASC' }, take: OPEN_RESTORE_PAGE_MAX });
    for (const row of due) {
      try {
        const r = await this.restore(row, nowMs);
        if (r === 'restored') restored += 1;
        if (r === 'lost') lost += 1;
      } catch (err) {
        await this.restoreLater(row, nowMs, (err as Error).message);
      }
    }
    return { checked: page.length, restored, lost };
  }

  /** Whether the chain went back under what was recorded or verified. */
  private async rewound(): Promise<boolean> {
    const repo = this.rt.db.getRepository(RecordedOpenRow);
    const head = await this.chain.publicClient.getBlockNumber();
    const highest = await repo.createQueryBuilder('r').select('MAX(r.blockNumber)', 'max').getRawOne<{ max: string | null }>();
    if (highest?.max && BigInt(highest.max) > head) return true;
    const sample = await repo.find({ where: { verifiedBlockHash: Not(IsNull()) }, order: { blockNumber: 'DESC' }, take: REWIND_SAMPLE_MAX });
    for (const row of sample) {
      const block = await this.chain.publicClient.getBlock({ blockNumber: BigInt(row.blockNumber!) }).catch(() => undefined);
      if (!block || block.hash !== row.verifiedBlockHash) return true;
    }
    return false;
  }

  private async checkRow(row: RecordedOpenRow, nowMs: number, receipts: Map<string, Promise<TransactionReceipt | undefined>>): Promise<'held' | 'restored' | 'lost' | 'waiting'> {
    const { publicClient, addresses } = this.chain;
    // The recorded transaction's receipt first: one call, and for nearly every row the whole check
    // (a successful transaction whose logs hold this job's ComputeContractOpened from the escrow
    // opened it). The full read (the record and its events, five calls) is for the rest.
    const txHash = row.kind !== 'timed-out' ? row.txHash : null;
    if (txHash && !receipts.has(txHash)) receipts.set(txHash, publicClient.getTransactionReceipt({ hash: txHash as Hex }).catch(() => undefined));
    const receipt = txHash ? await receipts.get(txHash) : undefined;
    if (receipt && receipt.status === 'success' && opensJob(receipt, addresses.escrow, row.jobId)) {
      await this.rt.db.getRepository(RecordedOpenRow).update({ jobId: row.jobId }, { verifiedBlockHash: receipt.blockHash, blockNumber: receipt.blockNumber.toString() });
      return 'held';
    }
    const onChain = await readComputeContract(publicClient, { addresses, jobId: row.jobId });
    if (row.kind === 'timed-out') {
      if (onChain.status === 'none') return 'held';
      const matched = await this.opens.matchedOf(row.jobId);
      if (!matched) return 'held';
      this.logger.error(
        `job ${row.jobId}: its open landed on chain (${onChain.openTxHash}) after it was given up as OPEN_TIMED_OUT; the escrow of ${onChain.costWei} wei is refundable to ${onChain.requester} after its deadline`,
      );
      await this.restored(matched, null, onChain.openTxHash, onChain.openBlockNumber);
      return 'restored';
    }
    if (onChain.status === 'none') {
      this.logger.warn(`job ${row.jobId}: recorded open ${row.txHash} is not on chain; opening it again`);
      await this.rt.db.getRepository(RecordedOpenRow).update({ jobId: row.jobId }, { lostSinceMs: String(nowMs), restoreNextAtMs: String(nowMs), restoreAttempts: 0 });
      return this.restore({ ...row, lostSinceMs: String(nowMs), restoreAttempts: 0 }, nowMs);
    }
    // open on chain, but by another transaction than the recorded one (mined again after a rewind)
    if (onChain.openTxHash && onChain.openTxHash !== row.txHash) {
      const matched = await this.opens.matchedOf(row.jobId);
      if (matched) {
        await this.restored(matched, row.txHash, onChain.openTxHash, onChain.openBlockNumber);
        return 'restored';
      }
    }
    return 'held';
  }

  /** Opens a lost open again on its recorded terms, under the deployer key's lock. */
  private async restore(row: RecordedOpenRow, nowMs: number): Promise<'restored' | 'lost' | 'waiting'> {
    const matched = await this.opens.matchedOf(row.jobId);
    if (!matched) return this.lose(row, undefined, 'OPEN_TERMS_MISSING', 'the job has no JobMatched on the log: the open cannot be recomputed');
    let prepared;
    try {
      prepared = await this.opens.termsOf(matched, { skipEnded: false });
    } catch (err) {
      if (isPoison(err)) return this.lose(row, matched, 'OPEN_TERMS_MISSING', (err as Error).message);
      throw err;
    }
    const { publicClient, addresses } = this.chain;
    try {
      const opened = await this.chain.asDeployer((wallet) => openComputeContract(wallet, publicClient, { addresses, ...prepared!.params }));
      let txHash = opened.txHash;
      let blockNumber = opened.blockNumber;
      if (txHash === null) {
        const onChain = await readComputeContract(publicClient, { addresses, jobId: row.jobId });
        txHash = onChain.openTxHash;
        blockNumber = onChain.openBlockNumber;
      }
      this.logger.warn(`job ${row.jobId}: open restored on chain (${txHash}; was ${row.txHash})`);
      await this.restored(matched, row.txHash, txHash, blockNumber);
      // held again (the projection also says so when it reads ChainEffectRestored)
      await this.rt.db.getRepository(RecordedOpenRow).update({ jobId: row.jobId }, { lostSinceMs: null, restoreNextAtMs: null, lastError: null });
      return 'restored';
    } catch (err) {
      const code = err instanceof ChainActionError ? err.code : 'Error';
      const giveUpAtMs = Number(row.lostSinceMs ?? nowMs) + this.config.DEPLOYER_OPEN_RESTORE_GIVE_UP_MS;
      const message = `${code}: ${(err as Error).message}`;
      const curable = !(err instanceof ChainActionError) || code === 'ChainUnavailable' || code === 'TransactionReverted' || FUNDS_CODES.has(code);
      if (curable && nowMs < giveUpAtMs) {
        await this.restoreLater(row, nowMs, message);
        return 'waiting';
      }
      return this.lose(row, matched, OPEN_LOST, curable ? `not restored within ${this.config.DEPLOYER_OPEN_RESTORE_GIVE_UP_MS} ms: ${message}` : message);
    }
  }

  private async restored(matched: TradeEventOf<'JobMatched'>, previousTxHash: string | null, txHash: string | null, blockNumber: bigint | null): Promise<void> {
    await this.rt.execute(
      'contract',
      matched.data.jobId,
      contractDecider,
      { type: 'RecordOpenRestored', previousTxHash, txHash, blockNumber: blockNumber === null ? null : blockNumber.toString() },
      this.opens.causation(matched),
    );
  }

  private async lose(row: RecordedOpenRow, matched: TradeEventOf<'JobMatched'> | undefined, code: string, reason: string): Promise<'lost'> {
    this.logger.error(`job ${row.jobId}: recorded open ${row.txHash} is lost from the chain and could not be restored: ${reason}`);
    const causation = matched ? this.opens.causation(matched) : { correlationId: row.jobId, causationId: row.jobId, actor: 'service:deployer' };
    await this.rt.execute('contract', row.jobId, contractDecider, { type: 'RecordOpenLost', previousTxHash: row.txHash, code, reason: truncateText(reason, LIMITS.reasonLengthMax) }, causation);
    return 'lost';
  }

  private async restoreLater(row: RecordedOpenRow, nowMs: number, error: string): Promise<void> {
    const attempts = row.restoreAttempts + 1;
    const delayMs = Math.min(OPEN_RESTORE_DELAY_MS_MAX, OPEN_RESTORE_DELAY_MS_BASE * 2 ** Math.min(30, attempts - 1));
    await this.rt.db
      .getRepository(RecordedOpenRow)
      .update({ jobId: row.jobId }, { restoreAttempts: attempts, restoreNextAtMs: String(nowMs + delayMs), lastError: truncateText(error, LIMITS.reasonLengthMax) });
  }
}

/** Whether `receipt` holds the escrow's ComputeContractOpened of `jobId` (not only a successful transaction that named it). */
export function opensJob(receipt: Pick<TransactionReceipt, 'logs'>, escrow: string, jobId: string): boolean {
  const key = jobIdToBytes32(jobId).toLowerCase();
  const at = escrow.toLowerCase();
  return receipt.logs.some((l) => l.address.toLowerCase() === at && l.topics[0] === openedTopic() && l.topics[1]?.toLowerCase() === key);
}

/** ComputeContractOpened's topic, encoded once (the ABI is loaded lazily, so not at import). */
let opened: Hex | undefined;
function openedTopic(): Hex {
  return (opened ??= encodeEventTopics({ abi: escrowAbi(), eventName: 'ComputeContractOpened' })[0] as Hex);
}
