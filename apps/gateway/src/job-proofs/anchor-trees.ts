import { Injectable } from '@nestjs/common';
import { DeliverPolicy } from '@nats-io/jetstream';
import {
  anchorTreeOf, eventHashOf, findAnchorOfSeq, readAnchor, readAnchorCount, type AnchorLeaf, type AnchorTree, type ChainPublicClient, type MarketAddresses, type PostedAnchor,
} from '@starminer/chain';
import { InjectConfig, publicClientFor, ServiceRuntime } from '@starminer/service-kit';
import type { GatewayConfig } from '../gateway.config';
import { ANCHOR_RANGE_FETCH_EXPIRES_MS, ANCHOR_RANGE_FETCH_MESSAGES_MAX, ANCHOR_TREES_CACHED_MAX, ANCHORS_CACHED_MAX } from './job-proofs-limits';

/** An anchor's tree rebuilt from the log and checked against the chain's root, with the transaction the log records for it. */
export interface ProvenAnchor {
  readonly anchor: PostedAnchor;
  readonly tree: AnchorTree;
  readonly txHash: string | null;
}

/** A Map kept in least-recently-used order: `get` refreshes, `set` forgets the oldest past `max`. */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
  delete(key: K): void {
    this.map.delete(key);
  }
}

/**
 * The anchors on chain and their trees, for proofs: where an event's anchor is (a binary search
 * over the chain's contiguous ranges), and the anchor's tree rebuilt from the raw messages of its
 * range, checked against the chain's root (AnchorMismatchError otherwise: the log and its anchor
 * disagree, which is ours to look into). Trees are kept in an LRU of ANCHOR_TREES_CACHED_MAX; one
 * being built is shared by the requests that need it.
 */
@Injectable()
export class AnchorTrees {
  private readonly publicClient: ChainPublicClient;
  private readonly anchors = new Lru<number, PostedAnchor>(ANCHORS_CACHED_MAX);
  private readonly trees = new Lru<number, Promise<ProvenAnchor>>(ANCHOR_TREES_CACHED_MAX);

  constructor(
    private readonly rt: ServiceRuntime,
    @InjectConfig() private readonly config: GatewayConfig,
  ) {
    this.publicClient = publicClientFor(config);
  }

  get addresses(): MarketAddresses {
    return this.config.MARKET_ADDRESSES;
  }

  /** How many anchors the chain holds and the last sequence they cover (0 when none, or no anchor contract). */
  async coverage(): Promise<{ count: number; throughSeq: bigint }> {
    const count = await this.count();
    return { count, throughSeq: count === 0 ? 0n : (await this.anchor(count - 1)).toSeq };
  }

  /** How many anchors the chain holds now (0 without an anchor contract): one chain read, never cached (a chain restored from an older state holds fewer). */
  async count(): Promise<number> {
    if (!this.addresses.anchor) return 0;
    return readAnchorCount(this.publicClient, { addresses: this.addresses });
  }

  /** The anchor whose range holds `seq`, or null; `count` from `coverage`. */
  find(seq: bigint, count: number): Promise<PostedAnchor | null> {
    return findAnchorOfSeq(this.publicClient, { addresses: this.addresses, seq, count, read: (i) => this.anchor(i) });
  }

  async anchor(index: number): Promise<PostedAnchor> {
    const hit = this.anchors.get(index);
    if (hit) return hit;
    const a = await readAnchor(this.publicClient, { addresses: this.addresses, index });
    this.anchors.set(index, a);
    return a;
  }

  /** The anchor's tree (built once while it stays among the ANCHOR_TREES_CACHED_MAX used last). */
  proven(anchor: PostedAnchor): Promise<ProvenAnchor> {
    const hit = this.trees.get(anchor.index);
    if (hit) return hit;
    const built = this.build(anchor);
    this.trees.set(anchor.index, built);
    // a failed build (the log away) is not kept: the next request tries again
    built.catch(() => this.trees.delete(anchor.index));
    return built;
  }

  private async build(anchor: PostedAnchor): Promise<ProvenAnchor> {
    const [leaves, recorded] = await Promise.all([this.rangeLeaves(anchor.fromSeq, anchor.toSeq), this.rt.events('anchor', String(anchor.index))]);
    const posted = recorded.find((e) => e.type === 'AnchorPosted');
    return { anchor, tree: anchorTreeOf(anchor, leaves), txHash: posted?.type === 'AnchorPosted' ? posted.data.txHash : null };
  }

  /** Every message of the log in [fromSeq, toSeq] (the market's subjects), as the anchor's leaves: read in bounded fetches. */
  private async rangeLeaves(fromSeq: bigint, toSeq: bigint): Promise<AnchorLeaf[]> {
    const log = this.rt.tradeLog;
    const consumer = await log.js.consumers.get(log.streamName, {
      filter_subjects: `${log.subjectPrefix}.>`,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: Number(fromSeq),
    });
    const leaves: AnchorLeaf[] = [];
    try {
      let last = fromSeq - 1n;
      while (last < toSeq) {
        const batch = await consumer.fetch({ max_messages: Math.min(ANCHOR_RANGE_FETCH_MESSAGES_MAX, Number(toSeq - last)), expires: ANCHOR_RANGE_FETCH_EXPIRES_MS });
        let got = 0;
        for await (const m of batch) {
          got += 1;
          last = BigInt(m.seq);
          if (last > toSeq) break;
          leaves.push({ seq: last, eventHash: eventHashOf(m.data) });
          if (last === toSeq) break;
        }
        // the range is anchored, so the log holds it: an empty fetch means it does not (anchorTreeOf then says how much is missing)
        if (got === 0) break;
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    return leaves;
  }
}
