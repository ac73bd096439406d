import { EXAMPLE_EVENT_DATA, makeEvent, type EventData, type EventType, type TradeEvent } from '@starminer/events';
import { seededRandom } from '@starminer/testing';
import type { StoredEvent } from '@starminer/trade-log';

/**
 * A market's log made up in memory, for the specs of the services' read models (intake's jobs, the
 * deployer's opens, settlement's contracts and ledger, the registry's nodes): nodes registered (one
 * again later, one patched before it registers), then jobs through whole lifecycles with their
 * funds, many in flight at once so their events interleave, and node changes among them. Every end
 * a job may reach is drawn, the chain's included: released or refunded (each also restored, lost,
 * or lost then restored), a rejected result, an open timed out (and one landing late), an open lost,
 * a job matched twice (and once again after its open failed), failed for want of a node, cancelled before or after its match, started
 * before its contract is recorded. The same seed gives the same log.
 */
export interface MarketLogOptions {
  readonly jobs: number;
  readonly seed: number;
  /** jobs in flight at once: each step emits the next event of one of them, drawn at random */
  readonly inFlight?: number;
  readonly nodes?: number;
  readonly orgs?: number;
  /** the first event's time; each next one a millisecond later */
  readonly startMs?: number;
}

const IN_FLIGHT_DEFAULT = 12;
const NODES_DEFAULT = 6;
const ORGS_DEFAULT = 3;
const START_MS_DEFAULT = Date.UTC(2026, 0, 1);
/** A node change after about every this many job events. */
const NODE_CHANGE_EVERY = 8;

export const MARKET_OUTCOMES = [
  'released',
  'released',
  'released-restored',
  'released-lost',
  'released-lost-restored',
  'refunded-rejected',
  'refund-restored',
  'refund-lost',
  'open-timed-out',
  'open-timed-out-late',
  'open-lost',
  'matched-twice',
  'matched-after-open-failed',
  'no-node',
  'cancelled',
  'cancelled-after-match',
  'started-early',
] as const;
export type MarketOutcome = (typeof MARKET_OUTCOMES)[number];

/** One event not yet on the log: its type and its data. */
export interface MarketEvent {
  readonly type: EventType;
  readonly data: EventData<EventType>;
}

const ev = <T extends EventType>(type: T, data: EventData<T>): MarketEvent => ({ type, data: data as EventData<EventType> });
const hex = (n: number, bytes: number): string => `0x${n.toString(16).padStart(bytes * 2, '0').slice(-bytes * 2)}`;

interface Party {
  readonly orgId: string;
  readonly requesterAddress: string;
  readonly nodeId: string;
  readonly nodeAddress: string;
}

/** The events of one job's life, in order, ending as `outcome`; `n` makes its amounts and hashes its own. */
export function marketJobLife(jobId: string, p: Party, outcome: MarketOutcome, n: number): MarketEvent[] {
  const D = EXAMPLE_EVENT_DATA;
  const amountWei = 10n ** 18n + BigInt(n);
  const escrowWei = 10n ** 15n + BigInt(n);
  const openTx = hex(n * 8 + 1, 32);
  const settleTx = hex(n * 8 + 2, 32);
  const reserved = ev('FundsReserved', { orgId: p.orgId, jobId, amountWei });
  const submitted = ev('JobSubmitted', { ...D.JobSubmitted, jobId, orgId: p.orgId, requesterAddress: p.requesterAddress, budgetWei: amountWei, deadlineSec: 60 + (n % 600) });
  const matched = ev('JobMatched', { ...D.JobMatched, jobId, nodeId: p.nodeId, nodeAddress: p.nodeAddress, costWei: escrowWei });
  const contracted = ev('FundsReleased', { orgId: p.orgId, jobId, amountWei, reason: 'contracted' });
  const returned = (reason: 'failed' | 'cancelled' | 'open-failed') => ev('FundsReleased', { orgId: p.orgId, jobId, amountWei, reason });
  const opened = ev('ContractOpened', {
    ...D.ContractOpened,
    jobId,
    requesterAddress: p.requesterAddress.toUpperCase().replace('0X', '0x'),
    nodeAddress: p.nodeAddress,
    escrowWei,
    deadlineUnixSec: 1_800_000_000 + n,
    txHash: openTx,
    blockNumber: String(100 + n),
  });
  const started = ev('JobStarted', { jobId, nodeId: p.nodeId });
  const open = [reserved, submitted, matched, opened, contracted];
  const release = [
    started,
    ev('SettlementDecided', { jobId, outcome: 'release', reason: 'result and proof verified' }),
    ev('ContractReleased', { jobId, nodeAddress: p.nodeAddress, amountWei: escrowWei, txHash: settleTx, blockNumber: String(200 + n) }),
    ev('NodeReputationChanged', { nodeId: p.nodeId, reputation: (n % 100) / 100, jobId, reason: 'job released' }),
  ];
  const refund = [
    started,
    ev('ResultRejected', { jobId, code: 'RESULT_WRONG', reason: 'recomputed result differs' }),
    ev('SettlementDecided', { jobId, outcome: 'refund', reason: 'result rejected' }),
    ev('ContractRefunded', { jobId, requesterAddress: p.requesterAddress, amountWei: escrowWei, txHash: n % 2 ? null : settleTx }),
  ];
  const restored = (action: 'open' | 'release' | 'refund', k: number) =>
    ev('ChainEffectRestored', { jobId, action, previousTxHash: action === 'open' ? openTx : settleTx, txHash: hex(n * 8 + k, 32), blockNumber: String(300 + n + k) });
  const lost = (action: 'open' | 'release' | 'refund') =>
    ev('ChainEffectLost', { jobId, action, previousTxHash: action === 'open' ? openTx : settleTx, code: 'EFFECT_LOST', reason: 'the chain lost it and no retry carried it out again' });
  switch (outcome) {
    case 'released':
      return [...open, ...release];
    case 'released-restored':
      return [...open, ...release, restored('open', 3), restored('release', 4)];
    case 'released-lost':
      return [...open, ...release, lost('release')];
    case 'released-lost-restored':
      return [...open, ...release, lost('release'), restored('release', 5)];
    case 'refunded-rejected':
      return [...open, ...refund];
    case 'refund-restored':
      return [...open, ...refund, restored('refund', 6)];
    case 'refund-lost':
      return [...open, ...refund, lost('refund')];
    case 'open-timed-out':
      return [reserved, submitted, matched, ev('ContractOpenFailed', { jobId, code: 'OPEN_TIMED_OUT', reason: 'no open on chain by the deadline' }), returned('open-failed')];
    case 'open-timed-out-late':
      return [reserved, submitted, matched, ev('ContractOpenFailed', { jobId, code: 'OPEN_TIMED_OUT', reason: 'no open on chain by the deadline' }), returned('open-failed'), restored('open', 7)];
    case 'open-lost':
      return [...open, lost('open'), ev('ContractOpenFailed', { jobId, code: 'InsufficientAllowance', reason: 'the requester has not approved enough AGPU' })];
    case 'matched-twice':
      return [reserved, submitted, matched, ev('JobMatched', { ...D.JobMatched, jobId, nodeId: p.nodeId, nodeAddress: p.nodeAddress, costWei: escrowWei + 1n }), opened, contracted, ...release];
    case 'matched-after-open-failed':
      // matched again after its open failed: its pending open stays closed
      return [
        reserved,
        submitted,
        matched,
        ev('ContractOpenFailed', { jobId, code: 'InsufficientAllowance', reason: 'the requester has not approved enough AGPU' }),
        ev('JobMatched', { ...D.JobMatched, jobId, nodeId: p.nodeId, nodeAddress: p.nodeAddress, costWei: escrowWei + 2n }),
        ev('JobFailed', { jobId, code: 'NO_NODE', reason: 'no node will ever satisfy it' }),
        returned('failed'),
      ];
    case 'no-node':
      return [reserved, submitted, ev('JobFailed', { jobId, code: 'NO_NODE', reason: 'no node will ever satisfy it' }), returned('failed')];
    case 'cancelled':
      return [reserved, submitted, ev('JobCancelled', { jobId, reason: 'cancelled by requester' }), returned('cancelled')];
    case 'cancelled-after-match':
      return [reserved, submitted, matched, ev('JobCancelled', { jobId, reason: 'cancelled by requester' }), returned('cancelled')];
    case 'started-early':
      return [reserved, submitted, matched, started, opened, contracted, ...release.slice(1)];
    default: {
      const unknownOutcome: never = outcome;
      throw new Error(`unknown outcome ${String(unknownOutcome)}`);
    }
  }
}

/** The events of a market, in log order: nodes first, then jobs interleaved with node changes. */
export function marketEvents(opts: MarketLogOptions): MarketEvent[] {
  const random = seededRandom(opts.seed);
  const draw = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const D = EXAMPLE_EVENT_DATA;
  const orgs = Array.from({ length: opts.orgs ?? ORGS_DEFAULT }, (_, i) => ({ orgId: `org-${i + 1}`, requesterAddress: hex(0x1000 + i, 20) }));
  const nodes = Array.from({ length: opts.nodes ?? NODES_DEFAULT }, (_, i) => ({ nodeId: `node-${i + 1}`, nodeAddress: hex(0x2000 + i, 20) }));
  const registered = (node: (typeof nodes)[number], i: number) =>
    ev('NodeRegistered', { ...D.NodeRegistered, ...node, nodeAddress: node.nodeAddress.toUpperCase().replace('0X', '0x'), reputation: 0.5, stakeWei: BigInt(i) * 10n ** 18n, poolId: i % 3 === 0 ? undefined : 'pool-gold' });
  const nodeChange = (nodeId: string): MarketEvent => {
    const r = random();
    if (r < 0.4) return ev('NodeAvailabilityChanged', { nodeId, online: random() < 0.5, reason: 'heartbeat' });
    if (r < 0.7) return ev('NodeStakeChanged', { ...D.NodeStakeChanged, nodeId, stakeWei: BigInt(Math.floor(random() * 1e6)) * 10n ** 12n, poolId: random() < 0.5 ? 'pool-gold' : 'pool-iron' });
    return ev('NodeReputationChanged', { nodeId, reputation: Math.floor(random() * 100) / 100, jobId: 'job-none', reason: 'probe' });
  };
  const out: MarketEvent[] = [];
  // a node patched before it registers: nothing to patch yet
  out.push(nodeChange('node-late'));
  for (const [i, node] of nodes.entries()) {
    out.push(registered(node, i));
    out.push(ev('NodeAvailabilityChanged', { nodeId: node.nodeId, online: true, reason: 'registered' }));
  }
  const lives: MarketEvent[][] = [];
  let started = 0;
  const start = (): void => {
    const n = ++started;
    const org = draw(orgs);
    const node = draw(nodes);
    lives.push(marketJobLife(`job-${n}`, { ...org, ...node }, MARKET_OUTCOMES[(n - 1) % MARKET_OUTCOMES.length]!, n));
  };
  const inFlight = opts.inFlight ?? IN_FLIGHT_DEFAULT;
  while (started < opts.jobs && lives.length < inFlight) start();
  let step = 0;
  while (lives.length > 0) {
    const i = Math.floor(random() * lives.length);
    out.push(lives[i]!.shift()!);
    if (lives[i]!.length === 0) {
      lives.splice(i, 1);
      if (started < opts.jobs) start();
    }
    step += 1;
    if (random() < 1 / NODE_CHANGE_EVERY) out.push(nodeChange(draw(nodes).nodeId));
    if (step === 40) {
      // node-late registers; node-1 registers again (its reputation and stake as at registration)
      out.push(registered({ nodeId: 'node-late', nodeAddress: hex(0x2fff, 20) }, 99));
      out.push(registered(nodes[0]!, 7));
    }
  }
  return out;
}

/** Events as the log stores them: seq from `firstSeq` on, each a millisecond after the one before, ids `e-<seq>`. */
export function storedMarket(events: readonly MarketEvent[], firstSeq = 1, startMs = START_MS_DEFAULT): StoredEvent[] {
  return events.map((p, i) => {
    const seq = firstSeq + i;
    const aggregateId = String((p.data as { jobId?: string }).jobId ?? (p.data as { nodeId?: string }).nodeId ?? 'market');
    const event = makeEvent(p.type, p.data, { id: `e-${seq}`, aggregateId, occurredAt: new Date(startMs + seq).toISOString(), correlationId: aggregateId, causationId: 'market-log', actor: 'test' }) as TradeEvent;
    return { event, seq, subject: `trade.x.${aggregateId}`, redelivered: false };
  });
}

/** `marketEvents` as the log stores them. */
export function marketLog(opts: MarketLogOptions): StoredEvent[] {
  return storedMarket(marketEvents(opts), 1, opts.startMs ?? START_MS_DEFAULT);
}
