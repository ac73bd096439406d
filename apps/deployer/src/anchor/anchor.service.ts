import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DeliverPolicy } from '@nats-io/jetstream';
import { keccak256, type Address, type Hex } from 'viem';
import { artifacts, buildAnchorTree, postAnchor, requireAddress, type AnchorLeaf } from '@starminer/chain';
import type { EventData } from '@starminer/events';
import { envelope, InjectConfig, KeyedMutex, ServiceRuntime, Ticker } from '@starminer/service-kit';
import { ConcurrencyConflictError } from '@starminer/trade-log';
import { DeployerChain } from '../chain/deployer-chain';
import type { DeployerConfig } from '../deployer.config';

/** The most events one anchor covers; a longer backlog is anchored in several. */
export const ANCHOR_EVENTS_MAX = 10_000;
/** Anchors the log records but the chain lost (a chain restored from an older state), re-posted per round. */
export const ANCHOR_RESTORE_MAX = 16;
/** Messages one fetch of the range asks for. */
const ANCHOR_FETCH_MESSAGES_MAX = 1_000;
const ANCHOR_FETCH_EXPIRES_MS = 5_000;

export interface AnchoredRange {
  readonly index: number;
  readonly fromSeq: number;
  readonly toSeq: number;
}

interface RangeLeaf extends AnchorLeaf {
  readonly subject: string;
}

/**
 * Posts the trade log to the chain: every ANCHOR_INTERVAL_MS, the Merkle root of the events not
 * yet anchored (leaf = stream sequence and keccak256 of the event's bytes as stored), then an
 * `AnchorPosted` event on `trade.anchor.<index>`. The contract's `nextSeq` is where the next range
 * starts. The event is appended expecting its subject empty, so it is on the log once; and a crash
 * between the post and the append is mended by the next round, which first records the chain's
 * last anchor if its event is missing. Anyone can check an event's inclusion with
 * `verifyAnchoredEvent` and the proof.
 *
 * A recorded anchor the chain lost (a reorganisation, a chain restored from an older state: its
 * `anchorCount` is below the log's anchors) is re-posted with exactly the recorded range and root,
 * before anything new: the chain loses anchors from its tail, so the lost ones are the next
 * indexes it expects, the re-post gets the recorded index back, and the AnchorPosted on the log
 * stays true (only its transaction is gone; the re-post's is in the log line). A later range
 * covering it instead would leave the log's AnchorPosted naming an index whose range differs.
 * Bounded (ANCHOR_RESTORE_MAX per round) and idempotent (postAnchor skips a range already posted).
 */
@Injectable()
export class AnchorService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('anchor');
  private readonly ticker: Ticker;
  /** A tick and a direct call (an operator, a spec) never anchor at the same time. */
  private readonly rounds = new KeyedMutex();

  constructor(
    private readonly rt: ServiceRuntime,
    private readonly chain: DeployerChain,
    @InjectConfig() config: DeployerConfig,
  ) {
    this.ticker = new Ticker('anchor', config.ANCHOR_INTERVAL_MS, () => this.anchorOnce().then(() => undefined), this.logger);
  }

  onApplicationBootstrap(): void {
    if (!this.chain.addresses.anchor) {
      this.logger.warn('no anchor contract in MARKET_ADDRESSES: the log is not anchored');
      return;
    }
    this.ticker.start();
  }

  // before the kit closes the log and the database (its global module's shutdown hooks run first)
  async onModuleDestroy(): Promise<void> {
    await this.ticker.stop();
  }

  /**
   * Anchors the next range of the log and returns it; undefined when there is nothing to anchor
   * (no new events, or only this service's own AnchorPosted events, which would otherwise make
   * every round anchor the event of the round before).
   */
  anchorOnce(): Promise<AnchoredRange | undefined> {
    return this.rounds.run('anchor', async () => {
      const anchor = requireAddress(this.chain.addresses, 'anchor');
      await this.restoreLost(anchor);
      await this.recordLastPosted(anchor);
      return this.anchorNext(anchor);
    });
  }

  private async anchorNext(anchor: Address): Promise<AnchoredRange | undefined> {
    const { publicClient, addresses } = this.chain;
    const fromSeq = Number(await publicClient.readContract({ address: anchor, abi: artifacts().AuditAnchor.abi, functionName: 'nextSeq' }));
    const lastSeq = await this.rt.tradeLog.lastSeq();
    if (lastSeq < fromSeq) return undefined;
    const toSeq = Math.min(lastSeq, fromSeq + ANCHOR_EVENTS_MAX - 1);
    const leaves = await this.readLeaves(fromSeq, toSeq);
    const anchorSubjects = `${this.rt.config.TRADE_SUBJECT_PREFIX}.anchor.`;
    if (toSeq === lastSeq && leaves.every((l) => l.subject.startsWith(anchorSubjects))) return undefined;
    const tree = buildAnchorTree(leaves);
    const posted = await this.chain.asDeployer((wallet) => postAnchor(wallet, publicClient, { addresses, fromSeq: BigInt(fromSeq), toSeq: BigInt(toSeq), root: tree.root }));
    await this.record({ index: posted.index, fromSeq, toSeq, root: tree.root, txHash: posted.txHash });
    this.logger.log(`anchored [${fromSeq}, ${toSeq}] as #${posted.index}`);
    return { index: posted.index, fromSeq, toSeq };
  }

  /** Re-posts the log's anchors that the chain no longer holds, in index order; returns how many. */
  async restoreLost(anchor: Address): Promise<number> {
    const { publicClient, addresses } = this.chain;
    const abi = artifacts().AuditAnchor.abi;
    let restored = 0;
    for (; restored < ANCHOR_RESTORE_MAX; restored += 1) {
      const count = await publicClient.readContract({ address: anchor, abi, functionName: 'anchorCount' });
      const [recorded] = await this.rt.events('anchor', count.toString());
      if (recorded?.type !== 'AnchorPosted') return restored;
      const d = recorded.data;
      const posted = await this.chain.asDeployer((wallet) => postAnchor(wallet, publicClient, { addresses, fromSeq: BigInt(d.fromSeq), toSeq: BigInt(d.toSeq), root: d.root as Hex }));
      if (posted.index !== d.index) throw new Error(`anchor #${d.index} [${d.fromSeq}, ${d.toSeq}] re-posted as #${posted.index}: the chain's anchors do not follow the log's`);
      this.logger.warn(`anchor #${d.index} [${d.fromSeq}, ${d.toSeq}] was lost from the chain (recorded tx ${d.txHash}); re-posted in ${posted.txHash}`);
    }
    return restored;
  }

  /** The reconciler: the chain's last anchor on the log, if a crash came between its post and its event. */
  private async recordLastPosted(anchor: Address): Promise<void> {
    const { publicClient, addresses } = this.chain;
    const abi = artifacts().AuditAnchor.abi;
    const count = await publicClient.readContract({ address: anchor, abi, functionName: 'anchorCount' });
    if (count === 0n) return;
    const index = count - 1n;
    if ((await this.rt.events('anchor', index.toString())).length > 0) return;
    const posted = await publicClient.readContract({ address: anchor, abi, functionName: 'getAnchor', args: [index] });
    const logs = await publicClient.getContractEvents({ address: anchor, abi, eventName: 'AnchorPosted', args: { index }, fromBlock: BigInt(addresses.deployBlock ?? 0), toBlock: 'latest' });
    const data = { index: Number(index), fromSeq: Number(posted.fromSeq), toSeq: Number(posted.toSeq), root: posted.root, txHash: logs[0]?.transactionHash ?? null };
    this.logger.warn(`anchor #${index} [${data.fromSeq}, ${data.toSeq}] is on chain but not on the log; recording it`);
    await this.record(data);
  }

  /**
   * One event per anchor subject, through the catalogue's encoder: the append expects the subject
   * empty, so a second writer of the same anchor (a retry, another replica) appends nothing.
   */
  private async record(data: EventData<'AnchorPosted'>): Promise<void> {
    const id = String(data.index);
    const events = envelope([{ type: 'AnchorPosted', data }], id, { correlationId: `anchor-${id}`, causationId: `anchor-${id}`, actor: 'service:deployer' });
    try {
      await this.rt.tradeLog.append(this.rt.subject('anchor', id), events, { expectedLastSubjectSeq: 0 });
    } catch (err) {
      if (!(err instanceof ConcurrencyConflictError)) throw err;
    }
  }

  /** The leaves of [fromSeq, toSeq]: every message of the stream in that range, read in order. */
  private async readLeaves(fromSeq: number, toSeq: number): Promise<RangeLeaf[]> {
    const log = this.rt.tradeLog;
    const consumer = await log.js.consumers.get(log.streamName, {
      filter_subjects: `${this.rt.config.TRADE_SUBJECT_PREFIX}.>`,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: fromSeq,
    });
    const leaves: RangeLeaf[] = [];
    const wanted = toSeq - fromSeq + 1;
    while (leaves.length < wanted) {
      const batch = await consumer.fetch({ max_messages: Math.min(ANCHOR_FETCH_MESSAGES_MAX, wanted - leaves.length), expires: ANCHOR_FETCH_EXPIRES_MS });
      let got = 0;
      for await (const m of batch) {
        got += 1;
        if (m.seq > toSeq) break;
        leaves.push({ seq: BigInt(m.seq), eventHash: keccak256(m.data) as Hex, subject: m.subject });
      }
      if (got === 0) throw new Error(`the log ended before ${toSeq} while anchoring from ${fromSeq}`);
    }
    return leaves;
  }
}
