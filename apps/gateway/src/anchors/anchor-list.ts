import { Injectable } from '@nestjs/common';
import { TransactionReceiptNotFoundError, type Hex } from 'viem';
import type { z } from 'zod';
import { DomainError } from '@starminer/domain';
import { LIMITS, type anchorPageSchema, type anchorSchema } from '@starminer/events';
import type { ChainPublicClient, PostedAnchor } from '@starminer/chain';
import { InjectConfig, publicClientFor, ServiceRuntime } from '@starminer/service-kit';
import type { GatewayConfig } from '../gateway.config';
import { AnchorTrees, Lru } from '../job-proofs/anchor-trees';
import { ANCHOR_BLOCKS_CACHED_MAX, ANCHOR_CHAIN_READS_CONCURRENT_MAX, ANCHOR_INDEXES_READ_PER_PAGE_MAX } from './anchors-limits';

export type AnchorAnswer = z.input<typeof anchorSchema>;
export type AnchorPageAnswer = z.input<typeof anchorPageSchema>;

/** What the log's AnchorPosted event says of one anchor, and when it was recorded. */
export interface RecordedAnchor {
  readonly index: number;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly root: string;
  readonly txHash: string | null;
  readonly postedAt: string;
}

/**
 * The log's anchor against the contract's at the same index: verified when the chain stores the
 * same range and root, mismatch when it stores another, missing when it holds no anchor there (the
 * chain restored from an older state, or an anchor the log records that was never posted). Pure.
 */
export function onChainOf(recorded: Pick<RecordedAnchor, 'fromSeq' | 'toSeq' | 'root'>, chain: Pick<PostedAnchor, 'fromSeq' | 'toSeq' | 'root'> | undefined): AnchorAnswer['onChain'] {
  if (!chain) return 'missing';
  const same = chain.fromSeq === BigInt(recorded.fromSeq) && chain.toSeq === BigInt(recorded.toSeq) && chain.root.toLowerCase() === recorded.root.toLowerCase();
  return same ? 'verified' : 'mismatch';
}

/** `?cursor=`: the index the previous page stopped above (a decimal, as this endpoint hands it out). */
export function cursorIndex(cursor: string): number {
  if (!/^(0|[1-9][0-9]{0,9})$/.test(cursor)) throw new DomainError('BAD_CURSOR', 'the cursor is not one this endpoint handed out');
  return Number(cursor);
}

/** `f` over `items`, at most `concurrent` at a time, results in order. */
async function mapBounded<T, R>(items: readonly T[], concurrent: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrent, items.length) }, worker));
  return out;
}

/**
 * Every anchor of the trade log, newest first, for the auditor (GET /v1/anchors) and the
 * operator's status: each read from its AnchorPosted event on `trade.anchor.<index>` (the deployer
 * records one per index, in order) and compared with the anchor the contract stores at that index
 * (AnchorTrees' cache: a posted anchor never changes), with the block of its transaction. The
 * chain's anchor count is read for every page, so an anchor the chain lost shows as missing at once.
 */
@Injectable()
export class AnchorList {
  private readonly publicClient: ChainPublicClient;
  private readonly blocks = new Lru<string, number>(ANCHOR_BLOCKS_CACHED_MAX);

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly trees: AnchorTrees,
    @InjectConfig() config: GatewayConfig,
  ) {
    this.publicClient = publicClientFor(config);
  }

  /** One page, newest first: the anchors below `cursor` (from the newest without one), at most `limit`. */
  async page(p: { limit?: number; cursor?: string }): Promise<AnchorPageAnswer> {
    const limit = p.limit ?? LIMITS.pageSizeDefault;
    const below = p.cursor === undefined ? undefined : cursorIndex(p.cursor);
    const newest = await this.newestIndex();
    if (newest === null) return { anchors: [], nextCursor: null };
    let index = below === undefined ? newest : Math.min(below - 1, newest);
    const recorded: RecordedAnchor[] = [];
    let read = 0;
    while (index >= 0 && recorded.length < limit && read < ANCHOR_INDEXES_READ_PER_PAGE_MAX) {
      const count = Math.min(limit - recorded.length, ANCHOR_INDEXES_READ_PER_PAGE_MAX - read, index + 1);
      const top = index;
      const indexes = Array.from({ length: count }, (_, k) => top - k);
      const got = await Promise.all(indexes.map((i) => this.recorded(i)));
      for (const a of got) if (a) recorded.push(a);
      read += count;
      index -= count;
    }
    return { anchors: await this.onChain(recorded), nextCursor: index >= 0 ? String(index + 1) : null };
  }

  /** The newest anchor the log records, compared with the chain; null when none yet. */
  async latest(): Promise<AnchorAnswer | null> {
    return (await this.page({ limit: 1 })).anchors[0] ?? null;
  }

  /**
   * The index of the newest anchor the log records: the subject of the last message on
   * `trade.anchor.>` (one request; the deployer appends them in index order). Null when none.
   */
  private async newestIndex(): Promise<number | null> {
    const jsm = await this.rt.tradeLog.jsm();
    const last = await jsm.streams.getMessage(this.rt.tradeLog.streamName, { last_by_subj: `${this.rt.config.TRADE_SUBJECT_PREFIX}.anchor.>` });
    if (!last) return null;
    const index = Number(last.subject.slice(last.subject.lastIndexOf('.') + 1));
    return Number.isSafeInteger(index) && index >= 0 ? index : null;
  }

  /** Anchor `index` as the log records it, or undefined when the log has no AnchorPosted there. */
  private async recorded(index: number): Promise<RecordedAnchor | undefined> {
    const events = await this.rt.events('anchor', String(index));
    const posted = events.find((e) => e.type === 'AnchorPosted');
    if (posted?.type !== 'AnchorPosted') return undefined;
    const d = posted.data;
    return { index: d.index, fromSeq: d.fromSeq, toSeq: d.toSeq, root: d.root, txHash: d.txHash, postedAt: posted.occurredAt };
  }

  /** Each recorded anchor with the chain's verdict and its transaction's block: the anchor count once, then cached reads. */
  private async onChain(recorded: readonly RecordedAnchor[]): Promise<AnchorAnswer[]> {
    if (recorded.length === 0) return [];
    const count = await this.trees.count();
    return mapBounded(recorded, ANCHOR_CHAIN_READS_CONCURRENT_MAX, async (r): Promise<AnchorAnswer> => {
      const [chain, blockNumber] = await Promise.all([r.index < count ? this.trees.anchor(r.index) : undefined, r.txHash ? this.blockOf(r.txHash as Hex) : null]);
      return { ...r, blockNumber, onChain: onChainOf(r, chain) };
    });
  }

  /** The block of a transaction, from its receipt (kept once read); null while the chain has no receipt of it. */
  private async blockOf(txHash: Hex): Promise<number | null> {
    const hit = this.blocks.get(txHash);
    if (hit !== undefined) return hit;
    try {
      const receipt = await this.publicClient.getTransactionReceipt({ hash: txHash });
      const block = Number(receipt.blockNumber);
      this.blocks.set(txHash, block);
      return block;
    } catch (err) {
      if (err instanceof TransactionReceiptNotFoundError) return null;
      throw err;
    }
  }
}
