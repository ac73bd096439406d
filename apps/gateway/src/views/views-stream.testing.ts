import { EXAMPLE_EVENT_DATA, makeEvent, type EventData, type EventType, type TradeEvent } from '@starminer/events';
import { seededRandom } from '@starminer/testing';
import type { StoredEvent } from '@starminer/trade-log';

/**
 * A log of the views projection's events as the market writes them, made up in memory: orgs,
 * nodes (registered, on and off line, reputation and stake moves), prices, and jobs through whole
 * lifecycles, many in flight at once so their events interleave; markets surge and calm down
 * again with their price moves (SurgeStarted after a high one, SurgeEnded after a low one), and
 * every other end of a surge is followed by its start again, as is, at the very end, the last end
 * of each market (the engine's own event coming back late, older than the end: the views must
 * ignore it). Every end a job may reach is
 * drawn: settled (some with a chain effect restored, or the release lost for good), refunded
 * after a rejected result, failed for want of a node, failed to open (the open lost), cancelled.
 * The same seed gives the same log. For the views specs and tools/bench/views.ts.
 */
export interface ViewsStreamOptions {
  readonly jobs: number;
  readonly seed: number;
  /** jobs in flight at once: each step emits the next event of one of them, drawn at random */
  readonly inFlight?: number;
  readonly nodes?: number;
  readonly orgs?: number;
  /** a price move after about every this many events */
  readonly priceEvery?: number;
  /** the first event's time; each next one a millisecond later */
  readonly startMs?: number;
}

const IN_FLIGHT_DEFAULT = 50;
const NODES_DEFAULT = 20;
const ORGS_DEFAULT = 3;
const PRICE_EVERY_DEFAULT = 25;
const START_MS_DEFAULT = Date.UTC(2026, 0, 1);
const MARKETS = [
  ['H100', 'eu-west'],
  ['H100', 'us-east'],
  ['A100', 'eu-west'],
] as const;
/** A price move at or above this starts a calm market's surge; one below SURGE_END_BPS ends a surging one's. */
const SURGE_START_BPS = 11_500;
const SURGE_END_BPS = 9_600;
const OUTCOMES = ['settled', 'settled', 'settled', 'settled-restored', 'settled-lost', 'refunded', 'failed', 'open-failed', 'cancelled'] as const;
type Outcome = (typeof OUTCOMES)[number];

/** One event not yet on the log: its type, its data, and the trace its appender wrote, if any. */
export interface PendingEvent {
  readonly type: EventType;
  readonly data: EventData<EventType>;
  readonly traceparent?: string;
}

const ev = <T extends EventType>(type: T, data: EventData<T>, traceparent?: string): PendingEvent => ({ type, data: data as EventData<EventType>, ...(traceparent ? { traceparent } : {}) });
const hex = (n: number, bytes: number): string => `0x${n.toString(16).padStart(bytes * 2, '0').slice(-bytes * 2)}`;

/** The events of one job's life, in order, ending as `outcome`. */
export function jobLife(jobId: string, orgId: string, nodeId: string, nodeAddress: string, outcome: Outcome, n: number): PendingEvent[] {
  const D = EXAMPLE_EVENT_DATA;
  const openTx = hex(n * 4 + 1, 32);
  const settleTx = hex(n * 4 + 2, 32);
  const submitted = ev('JobSubmitted', { ...D.JobSubmitted, jobId, orgId, budgetWei: 50n * 10n ** 18n + BigInt(n), expectedRuntimeSec: 60 + (n % 300) });
  const waiting = ev('JobWaiting', { jobId, reason: `capacity: no free node (${n})` });
  const matched = ev('JobMatched', { ...D.JobMatched, jobId, nodeId, nodeAddress, gpuCount: 1 + (n % 4), costWei: 10n ** 15n + BigInt(n), quote: { costWei: String(n) }, receipt: { jobId, n } });
  const opened = ev('ContractOpened', { ...D.ContractOpened, jobId, nodeAddress, txHash: openTx, deadlineUnixSec: 1_800_000_000 + n }, `00-${hex(n, 16).slice(2)}-${hex(n, 8).slice(2)}-01`);
  const started = ev('JobStarted', { jobId, nodeId });
  const result = ev('ResultSubmitted', { ...D.ResultSubmitted, jobId, nodeId, output: `out-${n}` });
  const release = [ev('SettlementDecided', { jobId, outcome: 'release', reason: 'result and proof verified' }), ev('ContractReleased', { ...D.ContractReleased, jobId, nodeAddress, txHash: settleTx, blockNumber: String(n) })];
  const reputation = ev('NodeReputationChanged', { nodeId, reputation: (n % 100) / 100, jobId, reason: 'job released' });
  switch (outcome) {
    case 'settled':
      return [submitted, ...(n % 2 ? [waiting] : []), matched, opened, started, result, ...release, reputation];
    case 'settled-restored':
      return [
        submitted,
        matched,
        opened,
        started,
        result,
        ...release,
        ev('ChainEffectRestored', { jobId, action: 'open', previousTxHash: openTx, txHash: hex(n * 4 + 3, 32), blockNumber: '13' }),
        ev('ChainEffectRestored', { jobId, action: 'release', previousTxHash: settleTx, txHash: hex(n * 4 + 4, 32), blockNumber: '14' }),
      ];
    case 'settled-lost':
      return [submitted, matched, opened, started, result, ...release, ev('ChainEffectLost', { jobId, action: 'release', previousTxHash: settleTx, code: 'RELEASE_LOST', reason: 'the release was lost and not restored' })];
    case 'refunded':
      return [
        submitted,
        matched,
        opened,
        result, // before JobStarted: the update keeps `contracted`
        ev('ResultRejected', { jobId, code: 'RESULT_WRONG', reason: 'recomputed result differs' }),
        ev('SettlementDecided', { jobId, outcome: 'refund', reason: 'result rejected' }),
        ev('ContractRefunded', { ...D.ContractRefunded, jobId, txHash: settleTx }),
      ];
    case 'failed':
      return [submitted, waiting, ev('JobFailed', { jobId, code: 'NO_NODE', reason: 'no node will ever satisfy it' })];
    case 'open-failed':
      return [
        submitted,
        matched,
        ev('ChainEffectLost', { jobId, action: 'open', previousTxHash: openTx, code: 'OPEN_LOST', reason: 'the open was lost' }),
        ev('ContractOpenFailed', { jobId, code: 'InsufficientAllowance', reason: 'the requester has not approved enough AGPU' }),
      ];
    case 'cancelled':
      return [submitted, waiting, ev('JobCancelled', { jobId, reason: 'cancelled by requester' })];
    default: {
      const unknownOutcome: never = outcome;
      throw new Error(`unknown outcome ${String(unknownOutcome)}`);
    }
  }
}

/** The pending events of a market: orgs and nodes first, then jobs interleaved, with price moves and node changes among them. */
export function viewsEvents(opts: ViewsStreamOptions): PendingEvent[] {
  const random = seededRandom(opts.seed);
  const draw = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const D = EXAMPLE_EVENT_DATA;
  const nodeCount = opts.nodes ?? NODES_DEFAULT;
  const orgCount = opts.orgs ?? ORGS_DEFAULT;
  const priceEvery = opts.priceEvery ?? PRICE_EVERY_DEFAULT;
  const out: PendingEvent[] = [];
  const orgs = Array.from({ length: orgCount }, (_, i) => `org-${i + 1}`);
  orgs.forEach((orgId, i) => out.push(ev('OrgRegistered', { orgId, name: `Org ${i + 1}`, accountAddress: hex(0x1000 + i, 20), custodyIndex: i + 1 })));
  const nodes = Array.from({ length: nodeCount }, (_, i) => ({ nodeId: `node-${i + 1}`, nodeAddress: hex(0x2000 + i, 20) }));
  for (const [i, node] of nodes.entries()) {
    out.push(ev('NodeRegistered', { ...D.NodeRegistered, ...node, reputation: 0.5, stakeWei: BigInt(i) * 10n ** 18n, poolId: i % 3 === 0 ? undefined : 'pool-gold' }));
    out.push(ev('NodeAvailabilityChanged', { nodeId: node.nodeId, online: true, reason: 'registered' }));
  }
  // surging markets, by key, with the SurgeStarted that began it; decided from the price draws alone (no draw of their own, so a seed's other events stay as they were)
  const surging = new Map<string, EventData<'SurgeStarted'>>();
  // markets whose last change is an end, with the start it ended
  const calmAfter = new Map<string, EventData<'SurgeStarted'>>();
  let surgesEnded = 0;
  const startMs = opts.startMs ?? START_MS_DEFAULT;
  const lives: PendingEvent[][] = [];
  let started = 0;
  const start = (): void => {
    const n = ++started;
    const node = draw(nodes);
    lives.push(jobLife(`job-${n}`, draw(orgs), node.nodeId, node.nodeAddress, draw(OUTCOMES), n));
  };
  const inFlight = opts.inFlight ?? IN_FLIGHT_DEFAULT;
  while (started < opts.jobs && lives.length < inFlight) start();
  while (lives.length > 0) {
    const i = Math.floor(random() * lives.length);
    out.push(lives[i]!.shift()!);
    if (lives[i]!.length === 0) {
      lives.splice(i, 1);
      if (started < opts.jobs) start();
    }
    if (random() < 1 / priceEvery) {
      const [gpuClass, region] = draw(MARKETS);
      const bps = 9_000 + Math.floor(random() * 3_000);
      out.push(ev('PriceChanged', { ...D.PriceChanged, gpuClass, region, multiplierBps: bps, utilizationBps: bps % 10_000, smoothedUtilizationBps: (bps * 7) % 10_000 }));
      const key = `${gpuClass}/${region}`;
      const surge = surging.get(key);
      const atMs = startMs + out.length; // the engine's time of the change: later along the log
      if (!surge && bps >= SURGE_START_BPS) {
        const start: EventData<'SurgeStarted'> = { ...D.SurgeStarted, gpuClass, region, atMs };
        surging.set(key, start);
        calmAfter.delete(key);
        out.push(ev('SurgeStarted', start));
      } else if (surge && bps < SURGE_END_BPS) {
        surging.delete(key);
        calmAfter.set(key, surge);
        out.push(ev('SurgeEnded', { ...D.SurgeEnded, gpuClass, region, atMs, startedAtMs: surge.atMs, calmSinceMs: atMs }));
        // its start coming back late: older than the end, so it changes nothing
        if (++surgesEnded % 2 === 1) out.push(ev('SurgeStarted', surge));
      }
    }
    if (random() < 1 / (priceEvery * 2)) {
      const node = draw(nodes);
      out.push(
        random() < 0.5
          ? ev('NodeAvailabilityChanged', { nodeId: node.nodeId, online: random() < 0.5, reason: 'heartbeat' })
          : ev('NodeStakeChanged', { ...D.NodeStakeChanged, nodeId: node.nodeId, stakeWei: BigInt(Math.floor(random() * 1e6)) * 10n ** 12n }),
      );
    }
  }
  // the last start of every market that ended its surge, back once more at the end: nothing after it on the log may hide it
  for (const start of calmAfter.values()) out.push(ev('SurgeStarted', start));
  return out;
}

/** Pending events as the log stores them: seq from `firstSeq` on, each a millisecond after the one before. */
export function storedStream(pending: readonly PendingEvent[], firstSeq = 1, startMs = START_MS_DEFAULT): StoredEvent[] {
  return pending.map((p, i) => {
    const seq = firstSeq + i;
    const aggregateId = String((p.data as { jobId?: string }).jobId ?? (p.data as { nodeId?: string }).nodeId ?? (p.data as { orgId?: string }).orgId ?? 'market');
    const event = makeEvent(p.type, p.data, {
      id: `e-${seq}`,
      aggregateId,
      occurredAt: new Date(startMs + seq).toISOString(),
      correlationId: aggregateId,
      causationId: 'views-stream',
      actor: 'test',
    }) as TradeEvent;
    return { event, seq, subject: `trade.x.${aggregateId}`, redelivered: false, ...(p.traceparent ? { trace: { traceparent: p.traceparent } } : {}) };
  });
}

/** `viewsEvents` as the log stores them. */
export function viewsStream(opts: ViewsStreamOptions): StoredEvent[] {
  return storedStream(viewsEvents(opts), 1, opts.startMs ?? START_MS_DEFAULT);
}
