import { AnchorMismatchError, anchorTreeOf, eventHashOf, type AnchorLeaf, type PostedAnchor } from '@starminer/chain';
import { decodeEvent } from '@starminer/events';
import type { LogMessage } from '../shared/log-reader';
import type { Differences } from '../shared/outcome';

/**
 * The most events one anchor may cover: the deployer's ANCHOR_EVENTS_MAX
 * (apps/deployer/src/anchor/anchor.service.ts). A longer range on chain is a difference and is
 * never read into memory, so the check holds at most this many leaves at once.
 */
export const ANCHOR_RANGE_EVENTS_MAX = 10_000;

/** What the log's AnchorPosted event says of one anchor. */
export interface RecordedAnchor {
  readonly index: number;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly root: string;
}

const rangeOf = (a: { index: number; fromSeq: bigint | number; toSeq: bigint | number }): string => `anchor #${a.index} [${a.fromSeq}, ${a.toSeq}]`;

/**
 * The check of `audit anchors`, fed the log's messages in order: each anchor's leaves are
 * collected while its range is read and its root rebuilt when the range ends (one range in memory
 * at a time); each AnchorPosted met on the way is compared with the chain's anchor of its index.
 * The chain's anchors are read in index order through `read` (cached by the caller).
 */
export class AnchorCheck {
  private index = 0;
  private current: PostedAnchor | undefined;
  /** The current range is longer than ANCHOR_RANGE_EVENTS_MAX: its leaves are not collected. */
  private skipping = false;
  private leaves: AnchorLeaf[] = [];
  private nextFromSeq = 1n;
  /** The indexes the log records an AnchorPosted for (one number per anchor, not per event). */
  private readonly recorded = new Set<number>();
  rangesVerified = 0;
  anchorEventsOnLog = 0;

  constructor(
    private readonly p: {
      /** The chain's anchorCount when the audit started. */
      readonly count: number;
      readonly read: (index: number) => Promise<PostedAnchor>;
      /** The chain's anchor `index` at or past `count` (one posted since the audit started), undefined while the chain has none. */
      readonly readPostedSince: (index: number) => Promise<PostedAnchor | undefined>;
      readonly subjectPrefix: string;
      readonly differences: Differences;
    },
  ) {}

  /** The last sequence the chain's anchors cover (0 when none); reads the last anchor. */
  async anchoredThrough(): Promise<bigint> {
    return this.p.count === 0 ? 0n : (await this.p.read(this.p.count - 1)).toSeq;
  }

  async start(): Promise<void> {
    await this.enter(0);
  }

  /** One message of the log, in sequence order. */
  async add(m: LogMessage): Promise<void> {
    const seq = BigInt(m.seq);
    // a range whose last events the log lacks ends where a later message shows up
    while (this.current && seq > this.current.toSeq) await this.close();
    const a = this.current;
    if (a && seq >= a.fromSeq) {
      if (!this.skipping) this.leaves.push({ seq, eventHash: eventHashOf(m.data) });
      if (seq === a.toSeq) await this.close();
    }
    if (m.subject.startsWith(`${this.p.subjectPrefix}.anchor.`)) await this.recordedOnLog(m);
  }

  /** The log is read: close what is open; answer the chain's anchors the log has no AnchorPosted for. */
  async finish(): Promise<number[]> {
    while (this.current) await this.close();
    const missing: number[] = [];
    for (let i = 0; i < this.p.count; i += 1) if (!this.recorded.has(i)) missing.push(i);
    return missing;
  }

  /** An AnchorPosted read apart from the scan (one appended after the scan's end): compared as if met. */
  async compareRecorded(r: RecordedAnchor, where: string): Promise<void> {
    this.anchorEventsOnLog += 1;
    if (this.recorded.has(r.index)) {
      this.p.differences.add({ subject: rangeOf(r), message: `the log records anchor #${r.index} twice (${where})` });
      return;
    }
    this.recorded.add(r.index);
    // an anchor posted after the audit read the chain's count may be on the log already: the chain is asked again
    const c = r.index < this.p.count ? await this.p.read(r.index) : await this.p.readPostedSince(r.index);
    if (!c) {
      this.p.differences.add({ subject: rangeOf(r), message: `the log records anchor #${r.index} (${where}), which the chain does not hold`, expected: null, actual: r });
      return;
    }
    const chain = { index: c.index, fromSeq: Number(c.fromSeq), toSeq: Number(c.toSeq), root: c.root };
    if (chain.fromSeq !== r.fromSeq || chain.toSeq !== r.toSeq || chain.root.toLowerCase() !== r.root.toLowerCase()) {
      this.p.differences.add({ subject: rangeOf(chain), message: `the log's AnchorPosted (${where}) says ${rangeOf(r)} root ${r.root}; the chain holds root ${chain.root}`, expected: chain, actual: r });
    }
  }

  private async recordedOnLog(m: LogMessage): Promise<void> {
    let recorded: RecordedAnchor;
    try {
      const e = decodeEvent(m.data);
      if (e.type !== 'AnchorPosted') throw new Error(`a ${e.type} on an anchor subject`);
      recorded = e.data;
    } catch (err) {
      this.p.differences.add({ subject: m.subject, message: `#${m.seq} is not an AnchorPosted the catalogue reads: ${(err as Error).message}` });
      return;
    }
    if (m.subject !== `${this.p.subjectPrefix}.anchor.${recorded.index}`) {
      this.p.differences.add({ subject: m.subject, message: `#${m.seq} records anchor #${recorded.index} on another anchor's subject` });
    }
    await this.compareRecorded(recorded, `#${m.seq}`);
  }

  private async enter(index: number): Promise<void> {
    this.index = index;
    this.leaves = [];
    this.skipping = false;
    this.current = index < this.p.count ? await this.p.read(index) : undefined;
    const a = this.current;
    if (!a) return;
    if (a.fromSeq !== this.nextFromSeq) {
      this.p.differences.add({ subject: rangeOf(a), message: `ranges must be contiguous from #1: anchor #${index} starts at #${a.fromSeq}, not #${this.nextFromSeq}` });
    }
    this.nextFromSeq = a.toSeq + 1n;
    const events = a.toSeq - a.fromSeq + 1n;
    if (events > BigInt(ANCHOR_RANGE_EVENTS_MAX)) {
      this.skipping = true;
      this.p.differences.add({ subject: rangeOf(a), message: `covers ${events} events, more than an anchor may (${ANCHOR_RANGE_EVENTS_MAX}): its root is not rebuilt` });
    }
  }

  private async close(): Promise<void> {
    const a = this.current!;
    if (!this.skipping) {
      try {
        anchorTreeOf(a, this.leaves);
        this.rangesVerified += 1;
      } catch (err) {
        if (!(err instanceof AnchorMismatchError)) throw err;
        this.p.differences.add({ subject: rangeOf(a), message: err.message.replace(`${rangeOf(a)}: `, ''), expected: { root: a.root }, actual: { root: err.rebuiltRoot, events: this.leaves.length } });
      }
    }
    await this.enter(this.index + 1);
  }
}
