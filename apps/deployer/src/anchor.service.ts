import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DeliverPolicy } from '@nats-io/jetstream';
import { keccak256 } from 'viem';
import { uuidv7 } from 'uuidv7';
import { artifacts, buildAnchorTree, postAnchor, requireAddress, type AnchorLeaf, type MarketAddresses } from '@starminer/chain';
import { makeEvent } from '@starminer/events';
import { ConcurrencyConflictError } from '@starminer/trade-log';
import { publicClientFor, ServiceRuntime, Ticker, walletClientFor } from '@starminer/service-kit';
import { DEPLOYER_CONFIG } from './deployer.service';
import type { DeployerConfig } from './deployer.config';

/** The most events one anchor covers; a longer backlog is anchored in several. */
export const ANCHOR_EVENTS_MAX = 10_000;
const ANCHOR_FETCH_EXPIRES_MS = 5_000;

/**
 * Posts the trade log to the chain: every ANCHOR_INTERVAL_MS, the Merkle root of the events not
 * yet anchored (leaf = stream sequence and keccak256 of the event's bytes as stored), then an
 * `AnchorPosted` event on `trade.anchor.<index>`. The contract's `nextSeq` is where the next range
 * starts, so a crash between the post and the event re-posts nothing: postAnchor is idempotent.
 * Anyone can check an event's inclusion with `verifyAnchoredEvent` and the proof.
 */
@Injectable()
export class AnchorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('anchor');
  private readonly publicClient;
  private readonly wallet;
  private readonly addresses: MarketAddresses;
  private readonly ticker: Ticker;

  constructor(
    private readonly rt: ServiceRuntime,
    @Inject(DEPLOYER_CONFIG) private readonly config: DeployerConfig,
  ) {
    this.publicClient = publicClientFor(config);
    this.wallet = walletClientFor(config, config.DEPLOYER_PRIVATE_KEY);
    this.addresses = config.MARKET_ADDRESSES;
    this.ticker = new Ticker('anchor', config.ANCHOR_INTERVAL_MS, () => this.anchorOnce().then(() => undefined));
  }

  onApplicationBootstrap(): void {
    if (!this.addresses.anchor) {
      this.logger.warn('no anchor contract in MARKET_ADDRESSES: the log is not anchored');
      return;
    }
    this.ticker.start();
  }

  onApplicationShutdown(): void {
    this.ticker.stop();
  }

  /** Anchors the next range of the log, if there is one; returns it. */
  async anchorOnce(): Promise<{ index: number; fromSeq: number; toSeq: number } | undefined> {
    const anchor = requireAddress(this.addresses, 'anchor');
    const fromSeq = Number(await this.publicClient.readContract({ address: anchor, abi: artifacts().AuditAnchor.abi, functionName: 'nextSeq' }));
    const lastSeq = await this.rt.tradeLog.lastSeq();
    if (lastSeq < fromSeq) return undefined;
    const toSeq = Math.min(lastSeq, fromSeq + ANCHOR_EVENTS_MAX - 1);
    const leaves = await this.readLeaves(fromSeq, toSeq);
    const tree = buildAnchorTree(leaves);
    const posted = await postAnchor(this.wallet, this.publicClient, { addresses: this.addresses, fromSeq: BigInt(fromSeq), toSeq: BigInt(toSeq), root: tree.root });
    const event = makeEvent(
      'AnchorPosted',
      { index: posted.index, fromSeq, toSeq, root: tree.root, txHash: posted.txHash },
      { id: uuidv7(), aggregateId: String(posted.index), occurredAt: new Date().toISOString(), correlationId: `anchor-${posted.index}`, causationId: `anchor-${posted.index}`, actor: 'service:deployer' },
    );
    // One event per anchor subject: the append expects it empty, so a retry after a crash that
    // finds the event there already appends nothing.
    try {
      await this.rt.tradeLog.append(this.rt.subject('anchor', String(posted.index)), [event], { expectedLastSubjectSeq: 0 });
    } catch (err) {
      if (!(err instanceof ConcurrencyConflictError)) throw err;
    }
    this.logger.log(`anchored [${fromSeq}, ${toSeq}] as #${posted.index}`);
    return { index: posted.index, fromSeq, toSeq };
  }

  /** The leaves of [fromSeq, toSeq]: every message of the stream in that range, read in order. */
  private async readLeaves(fromSeq: number, toSeq: number): Promise<AnchorLeaf[]> {
    const log = this.rt.tradeLog;
    const consumer = await log.js.consumers.get(log.streamName, {
      filter_subjects: `${this.rt.config.TRADE_SUBJECT_PREFIX}.>`,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: fromSeq,
    });
    const leaves: AnchorLeaf[] = [];
    while (leaves.length < toSeq - fromSeq + 1) {
      const batch = await consumer.fetch({ max_messages: Math.min(1_000, toSeq - fromSeq + 1 - leaves.length), expires: ANCHOR_FETCH_EXPIRES_MS });
      let got = 0;
      for await (const m of batch) {
        got += 1;
        if (m.seq > toSeq) break;
        leaves.push({ seq: BigInt(m.seq), eventHash: keccak256(m.data) });
      }
      if (got === 0) throw new Error(`the log ended before ${toSeq} while anchoring from ${fromSeq}`);
    }
    return leaves;
  }
}
