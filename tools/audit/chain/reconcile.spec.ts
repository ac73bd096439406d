import { jobIdToBytes32 } from '@starminer/chain';
import { EXAMPLE_EVENT_DATA, makeEvent, type EventData, type EventType, type TradeEvent } from '@starminer/events';
import type { ChainJobRead, ChainWindow, EscrowChainEvent, StakingChainEvent, TokenTransfer } from './chain-reads';
import { emptyLedger, foldChainEvent, type ChainLedger } from './log-fold';
import { ChainReconciler, expectedChainStatuses } from './reconcile';

/** The comparison without a chain or a log: a folded log, chain windows and records given by hand. */

const A = (byte: string): `0x${string}` => `0x${byte.repeat(20)}`;
const H = (byte: string): string => `0x${byte.repeat(32)}`;
const AGPU = 10n ** 18n;
const ADDRESSES = { token: A('70'), escrow: A('e5'), staking: A('57'), vaults: A('7a') } as const;
const REQUESTER = A('11');
const PROVIDER = A('22');
const COST = 20n * AGPU;
const SNAPSHOT = 100n;
const key = (jobId: string): string => jobIdToBytes32(jobId).toLowerCase();

let seq = 0;
function ev<T extends EventType>(type: T, data: Partial<EventData<T>>): TradeEvent {
  seq += 1;
  return makeEvent(type, { ...EXAMPLE_EVENT_DATA[type], ...data } as EventData<T>, {
    id: `e-${seq}`,
    aggregateId: 'x',
    occurredAt: '2026-11-28T12:00:00.000Z',
    correlationId: 'x',
    causationId: 'x',
  } as never) as unknown as TradeEvent;
}

function ledgerOf(events: TradeEvent[]): ChainLedger {
  const ledger = emptyLedger();
  events.forEach((e, i) => foldChainEvent(ledger, e, i + 1, jobIdToBytes32));
  return ledger;
}

const opened = (jobId: string, over: Partial<EventData<'ContractOpened'>> = {}) =>
  ev('ContractOpened', {
    jobId,
    chainJobId: jobIdToBytes32(jobId),
    contractAddress: ADDRESSES.escrow,
    requesterAddress: REQUESTER,
    nodeAddress: PROVIDER,
    escrowWei: COST,
    deadlineUnixSec: 2_000_000_000,
    termsHash: H('a7'),
    txHash: H('01'),
    blockNumber: '10',
    ...over,
  });
const decided = (jobId: string, outcome: 'release' | 'refund') => ev('SettlementDecided', { jobId, outcome, reason: 'r' });
const released = (jobId: string, over: Partial<EventData<'ContractReleased'>> = {}) =>
  ev('ContractReleased', { jobId, nodeAddress: PROVIDER, amountWei: COST, txHash: H('02'), blockNumber: '20', ...over });
const refunded = (jobId: string, over: Partial<EventData<'ContractRefunded'>> = {}) =>
  ev('ContractRefunded', { jobId, requesterAddress: REQUESTER, amountWei: COST, txHash: H('03'), blockNumber: '30', ...over });

// the chain's side
const at = (tx: string, block: bigint, logIndex = 0) => ({ txHash: tx, block, logIndex });
const chainOpened = (jobId: string, tx = H('01'), block = 10n, over: Partial<EscrowChainEvent> = {}): EscrowChainEvent =>
  ({ ...at(tx, block), kind: 'opened', key: key(jobId), requester: REQUESTER, provider: PROVIDER, costWei: COST, deadlineSec: 2_000_000_000, termsHash: H('a7'), ...over }) as EscrowChainEvent;
const chainReleased = (jobId: string, tx = H('02'), block = 20n): EscrowChainEvent => ({ ...at(tx, block), kind: 'released', key: key(jobId), provider: PROVIDER, costWei: COST, settledBy: A('5e') });
const chainRefunded = (jobId: string, tx = H('03'), block = 30n): EscrowChainEvent => ({ ...at(tx, block), kind: 'refunded', key: key(jobId), requester: REQUESTER, costWei: COST, settledBy: A('5e') });
const transfer = (tx: string, block: bigint, from: string, to: string, valueWei = COST): TokenTransfer => ({ ...at(tx, block, 1), from, to, valueWei });
const intoEscrow = (tx = H('01'), block = 10n) => transfer(tx, block, REQUESTER, ADDRESSES.escrow);
const window = (escrow: EscrowChainEvent[], transfers: TokenTransfer[], staking: StakingChainEvent[] = []): ChainWindow => ({ fromBlock: 0n, toBlock: SNAPSHOT, escrow, staking, transfers });

/** Runs the reconciler over one window, the given records (ledger order) and balances; answers its differences and figures. */
function reconcile(ledger: ChainLedger, w: ChainWindow, records: ChainJobRead[], balances: { escrowWei: bigint; stakingWei?: bigint }, unseenSlashBlocks: Record<string, bigint | undefined> = {}) {
  const r = new ChainReconciler(ledger, ADDRESSES, SNAPSHOT);
  r.onWindow(w);
  for (const s of r.unseenSlashes()) r.onUnseenSlash(s.jobId, unseenSlashBlocks[s.jobId]);
  r.onJobRecords([...ledger.byKey.values()], records);
  r.onBalances(balances);
  return { differences: r.takeDifferences(), figures: r.figures };
}

describe('the log folded into what the chain must hold', () => {
  it('follows a job from its match to its release, with the transactions the log names', () => {
    const ledger = ledgerOf([ev('JobMatched', { jobId: 'j-1' }), opened('j-1'), decided('j-1', 'release'), released('j-1')]);
    const j = ledger.byKey.get(key('j-1'))!;
    expect(j).toMatchObject({ jobId: 'j-1', status: 'released', openTxHash: H('01'), openBlock: 10n, settleTxHash: H('02'), settleBlock: 20n, settleAmountWei: COST, settlePayee: PROVIDER });
    expect(j.terms).toMatchObject({ requester: REQUESTER, provider: PROVIDER, costWei: COST });
  });

  it('reopens a failed open that landed later, and holds a lost settlement open', () => {
    const ledger = ledgerOf([
      ev('JobMatched', { jobId: 'j-1' }),
      opened('j-1'),
      ev('ChainEffectLost', { jobId: 'j-1', action: 'open', previousTxHash: H('01') }),
      ev('ContractOpenFailed', { jobId: 'j-1' }),
      ev('ChainEffectRestored', { jobId: 'j-1', action: 'open', previousTxHash: null, txHash: H('09'), blockNumber: '40' }),
      opened('j-2'),
      decided('j-2', 'refund'),
      refunded('j-2'),
      ev('ChainEffectLost', { jobId: 'j-2', action: 'refund', previousTxHash: H('03') }),
    ]);
    expect(ledger.byKey.get(key('j-1'))).toMatchObject({ status: 'open', reopenedAfterFailure: true, openTxHash: H('09'), openBlock: 40n });
    expect(ledger.byKey.get(key('j-2'))).toMatchObject({ status: 'settle-lost', outcome: 'refund', settleTxHash: null });
  });

  it('ignores a settlement decided for a job it holds no open contract for, and events of other aggregates', () => {
    const ledger = ledgerOf([decided('j-9', 'release'), ev('PriceChanged', {}), ev('NodeRegistered', {})]);
    expect(ledger.byKey.size).toBe(0);
  });
});

describe('which chain statuses a job the log holds may show', () => {
  it.each([
    ['matched', undefined, ['none', 'open'], ['open']],
    ['open', undefined, ['open'], []],
    ['settling', 'release', ['open', 'released'], ['open', 'released']],
    ['settling', 'refund', ['open', 'disputed', 'refunded'], ['open', 'disputed', 'refunded']],
    ['released', undefined, ['released'], []],
    ['refunded', undefined, ['refunded'], []],
    ['open-failed', undefined, ['none'], []],
    ['settle-lost', 'release', ['open', 'disputed'], []],
  ] as const)('%s (%s): %j, in flight %j', (status, outcome, allowed, inFlight) => {
    expect(expectedChainStatuses(status, outcome)).toEqual({ allowed, inFlight });
  });
});

describe('the chain against the folded log', () => {
  it('finds nothing when every transfer has its event and every job its record', () => {
    const ledger = ledgerOf([opened('j-1'), decided('j-1', 'release'), released('j-1'), opened('j-2', { txHash: H('04') })]);
    const w = window(
      [chainOpened('j-1'), chainReleased('j-1'), chainOpened('j-2', H('04'), 11n)],
      [intoEscrow(), transfer(H('02'), 20n, ADDRESSES.escrow, PROVIDER), intoEscrow(H('04'), 11n)],
    );
    const { differences, figures } = reconcile(ledger, w, [{ status: 'released', termsMatch: true }, { status: 'open', termsMatch: true }], { escrowWei: COST, stakingWei: 0n });
    expect(differences).toEqual([]);
    expect(figures).toMatchObject({ jobsChecked: 2, jobsInFlight: 0, transfers: 3, transfersExplained: 3, openEscrowsLog: 1, openEscrowsLogWei: COST, openEscrowsChain: 1, openEscrowsChainWei: COST, escrowBalanceWei: COST });
  });

  it('names the job an escrow was refunded for outside the platform (the log holds it open)', () => {
    const ledger = ledgerOf([opened('j-1')]);
    const w = window([chainOpened('j-1'), chainRefunded('j-1')], [intoEscrow(), transfer(H('03'), 30n, ADDRESSES.escrow, REQUESTER)]);
    const { differences } = reconcile(ledger, w, [{ status: 'refunded', termsMatch: true }], { escrowWei: 0n, stakingWei: 0n });
    expect(differences[0]).toMatchObject({ subject: 'job j-1', message: expect.stringMatching(/^refunded on chain, but the log holds it open/), expected: { status: 'open' }, actual: { status: 'refunded' } });
    expect(differences[1]).toMatchObject({ subject: `escrow ${ADDRESSES.escrow}`, message: expect.stringContaining('the log holds 1 escrows open') });
    expect(differences).toHaveLength(2);
  });

  it('names the transaction that moved tokens into the escrow with no open', () => {
    const ledger = ledgerOf([]);
    const { differences, figures } = reconcile(ledger, window([], [transfer(H('0f'), 50n, A('33'), ADDRESSES.escrow, AGPU)]), [], { escrowWei: AGPU, stakingWei: 0n });
    expect(differences.map((d) => d.subject)).toEqual([`transfer ${H('0f')}`, `escrow ${ADDRESSES.escrow}`]);
    expect(differences[0]!.message).toContain(`${AGPU} wei moved from ${A('33')} to the escrow`);
    expect(differences[1]!.message).toContain(`+${AGPU} wei no escrow explains`);
    expect(figures).toMatchObject({ transfers: 1, transfersExplained: 0 });
  });

  it('names a transfer out of the escrow that pays someone other than the released provider', () => {
    const ledger = ledgerOf([opened('j-1'), decided('j-1', 'release'), released('j-1')]);
    const w = window([chainOpened('j-1'), chainReleased('j-1')], [intoEscrow(), transfer(H('02'), 20n, ADDRESSES.escrow, A('66'))]);
    const { differences } = reconcile(ledger, w, [{ status: 'released', termsMatch: true }], { escrowWei: 0n, stakingWei: 0n });
    expect(differences.map((d) => d.subject)).toEqual([`transfer ${H('02')}`, `transfer ${H('02')}`]);
    expect(differences[0]!.message).toContain(`to ${A('66')}`);
    expect(differences[1]!.message).toContain('the released event in block 20 has no token transfer');
  });

  it('names the job opened on chain with another cost, and the one whose record commits to other parties', () => {
    const ledger = ledgerOf([opened('j-1'), opened('j-2', { txHash: H('04') })]);
    const w = window(
      [chainOpened('j-1', H('01'), 10n, { costWei: COST + 1n }), chainOpened('j-2', H('04'), 11n)],
      [intoEscrow(H('01'), 10n), intoEscrow(H('04'), 11n)].map((t, i) => (i === 0 ? { ...t, valueWei: COST + 1n } : t)),
    );
    const { differences } = reconcile(ledger, w, [{ status: 'open', termsMatch: false }, { status: 'open', termsMatch: false }], { escrowWei: 2n * COST + 1n, stakingWei: 0n });
    expect(differences[0]).toMatchObject({ subject: 'job j-1', message: expect.stringContaining('with another cost than the log') });
    expect(differences.filter((d) => d.message.includes('commits to other parties')).map((d) => d.subject)).toEqual(['job j-1', 'job j-2']);
  });

  it('names an escrow opened on chain for a job the log never matched, once', () => {
    const ledger = ledgerOf([]);
    const w = window([chainOpened('ghost'), chainRefunded('ghost')], [intoEscrow(), transfer(H('03'), 30n, ADDRESSES.escrow, REQUESTER)]);
    const { differences } = reconcile(ledger, w, [], { escrowWei: 0n, stakingWei: 0n });
    expect(differences).toEqual([expect.objectContaining({ subject: `job key ${key('ghost')}`, message: expect.stringContaining('a job the log never matched') })]);
  });

  it('names a release recorded in another transaction than the chain shows', () => {
    const ledger = ledgerOf([opened('j-1'), decided('j-1', 'release'), released('j-1', { txHash: H('0e') })]);
    const w = window([chainOpened('j-1'), chainReleased('j-1')], [intoEscrow(), transfer(H('02'), 20n, ADDRESSES.escrow, PROVIDER)]);
    const { differences } = reconcile(ledger, w, [{ status: 'released', termsMatch: true }], { escrowWei: 0n, stakingWei: 0n });
    expect(differences).toEqual([expect.objectContaining({ subject: 'job j-1', message: expect.stringContaining('with another transaction than the log') })]);
  });

  it('counts a decided release the chain carried out and the log has not recorded as in flight, not as a difference', () => {
    const ledger = ledgerOf([opened('j-1'), decided('j-1', 'release'), opened('j-2', { txHash: H('04'), blockNumber: '101' })]);
    const w = window([chainOpened('j-1'), chainReleased('j-1')], [intoEscrow(), transfer(H('02'), 20n, ADDRESSES.escrow, PROVIDER)]);
    // j-2 was opened after the snapshot block: at the snapshot it is only matched
    const { differences, figures } = reconcile(ledger, w, [{ status: 'released', termsMatch: true }, { status: 'none', termsMatch: false }], { escrowWei: 0n, stakingWei: 0n });
    expect(differences).toEqual([]);
    expect(figures).toMatchObject({ jobsInFlight: 1, openEscrowsLog: 1, openEscrowsChain: 0 });
  });

  it('checks slashes both ways: on chain without the log, on the log without the chain', () => {
    const slash = (jobId: string, tx: string) => ev('StakeSlashed', { jobId, poolId: 'pool-1', amountWei: COST, recipient: REQUESTER, txHash: tx });
    const ledger = ledgerOf([opened('j-1'), decided('j-1', 'refund'), refunded('j-1'), slash('j-1', H('05')), opened('j-2', { txHash: H('04') }), decided('j-2', 'refund'), refunded('j-2', { txHash: H('06') }), slash('j-3', H('07')), slash('j-4', H('08'))]);
    const slashed = (jobId: string, tx: string, block: bigint, amountWei = COST): StakingChainEvent => ({ ...at(tx, block), kind: 'slashed', poolId: H('b0'), staker: PROVIDER, key: key(jobId), amountWei, recipient: REQUESTER });
    const staked: StakingChainEvent = { ...at(H('0a'), 5n), kind: 'staked', poolId: H('b0'), staker: PROVIDER, amountWei: 100n * AGPU };
    const w = window(
      [chainOpened('j-1'), chainRefunded('j-1'), chainOpened('j-2', H('04'), 11n), chainRefunded('j-2', H('06'), 31n)],
      [
        intoEscrow(),
        transfer(H('03'), 30n, ADDRESSES.escrow, REQUESTER),
        intoEscrow(H('04'), 11n),
        transfer(H('06'), 31n, ADDRESSES.escrow, REQUESTER),
        transfer(H('0a'), 5n, PROVIDER, ADDRESSES.staking, 100n * AGPU),
        transfer(H('05'), 32n, ADDRESSES.staking, REQUESTER),
        transfer(H('0b'), 33n, ADDRESSES.staking, REQUESTER, COST - 1n),
      ],
      [staked, slashed('j-1', H('05'), 32n), slashed('j-2', H('0b'), 33n, COST - 1n)],
    );
    const records: ChainJobRead[] = [{ status: 'refunded', termsMatch: true }, { status: 'refunded', termsMatch: true }, { status: 'none' }, { status: 'none' }];
    const { differences, figures } = reconcile(ledger, w, records, { escrowWei: 0n, stakingWei: 100n * AGPU - 2n * COST + 1n }, { 'j-3': 50n, 'j-4': 150n });
    expect(differences.map((d) => [d.subject, d.message.slice(0, 60)])).toEqual([
      ['job j-2', expect.stringContaining('stake slashed on chain (tx')],
      ['job j-3', expect.stringContaining('the log records a slash (StakeSlashed')],
    ]);
    expect(figures).toMatchObject({ slashes: 2, transfers: 7, transfersExplained: 7, stakedWei: 100n * AGPU });
  });

  it('names the staking contract when it holds tokens no stake explains', () => {
    const { differences } = reconcile(ledgerOf([]), window([], []), [], { escrowWei: 0n, stakingWei: 5n });
    expect(differences).toEqual([expect.objectContaining({ subject: `staking ${ADDRESSES.staking}`, message: expect.stringContaining('+5 wei no stake explains') })]);
  });
});

describe('re-match on failure: the escrow moved to another attempt', () => {
  const OTHER = A('33');
  const NEW_COST = 15n * AGPU;
  const attemptFailed = (jobId: string) => ev('ContractAttemptFailed', { jobId, attempt: 1, nodeAddress: PROVIDER, exhausted: false });
  const reassigned = (jobId: string, over: Partial<EventData<'ContractReassigned'>> = {}) =>
    ev('ContractReassigned', { jobId, attempt: 2, nodeAddress: OTHER, escrowWei: NEW_COST, returnedWei: COST - NEW_COST, deadlineUnixSec: 2_000_000_900, txHash: H('05'), blockNumber: '15', ...over });
  const chainReassigned = (jobId: string, over: Partial<Extract<EscrowChainEvent, { kind: 'reassigned' }>> = {}): EscrowChainEvent =>
    ({ ...at(H('05'), 15n), kind: 'reassigned', key: key(jobId), attempt: 2, newProvider: OTHER, newCostWei: NEW_COST, returnedWei: COST - NEW_COST, newDeadlineSec: 2_000_000_900, ...over }) as EscrowChainEvent;

  it('finds nothing when the move returned the difference to the requester and the release paid the new node', () => {
    const ledger = ledgerOf([opened('j-r1'), attemptFailed('j-r1'), reassigned('j-r1'), decided('j-r1', 'release'), released('j-r1', { nodeAddress: OTHER, amountWei: NEW_COST })]);
    expect(ledger.byKey.get(key('j-r1'))!.reassigns).toEqual([expect.objectContaining({ attempt: 2, provider: OTHER.toLowerCase(), newCostWei: NEW_COST, returnedWei: COST - NEW_COST })]);
    const w = window(
      [chainOpened('j-r1'), chainReassigned('j-r1'), { ...at(H('02'), 20n), kind: 'released', key: key('j-r1'), provider: OTHER, costWei: NEW_COST, settledBy: A('5e') }],
      [intoEscrow(), transfer(H('05'), 15n, ADDRESSES.escrow, REQUESTER, COST - NEW_COST), transfer(H('02'), 20n, ADDRESSES.escrow, OTHER, NEW_COST)],
    );
    const { differences, figures } = reconcile(ledger, w, [{ status: 'released', termsMatch: true }], { escrowWei: 0n, stakingWei: 0n });
    expect(differences).toEqual([]);
    expect(figures).toMatchObject({ transfers: 3, transfersExplained: 3, escrowReassigned: 1, openEscrowsChainWei: 0n });
  });

  it('holds an open escrow at the moved terms: the new node and cost', () => {
    const ledger = ledgerOf([opened('j-r2'), attemptFailed('j-r2'), reassigned('j-r2')]);
    const w = window([chainOpened('j-r2'), chainReassigned('j-r2')], [intoEscrow(), transfer(H('05'), 15n, ADDRESSES.escrow, REQUESTER, COST - NEW_COST)]);
    const { differences, figures } = reconcile(ledger, w, [{ status: 'open', termsMatch: true }], { escrowWei: NEW_COST, stakingWei: 0n });
    expect(differences).toEqual([]);
    expect(figures).toMatchObject({ openEscrowsLog: 1, openEscrowsLogWei: NEW_COST, openEscrowsChainWei: NEW_COST });
  });

  it('names a move on chain the log does not record, and one to another node than the log says', () => {
    const unrecorded = reconcile(ledgerOf([opened('j-r3')]), window([chainOpened('j-r3'), chainReassigned('j-r3')], [intoEscrow(), transfer(H('05'), 15n, ADDRESSES.escrow, REQUESTER, COST - NEW_COST)]), [{ status: 'open', termsMatch: false }], {
      escrowWei: NEW_COST,
      stakingWei: 0n,
    });
    expect(unrecorded.differences).toEqual(expect.arrayContaining([expect.objectContaining({ subject: 'job j-r3', message: expect.stringContaining('no ContractReassigned of that transaction') })]));
    const other = reconcile(
      ledgerOf([opened('j-r4'), attemptFailed('j-r4'), reassigned('j-r4')]),
      window([chainOpened('j-r4'), chainReassigned('j-r4', { newProvider: A('44') })], [intoEscrow(), transfer(H('05'), 15n, ADDRESSES.escrow, REQUESTER, COST - NEW_COST)]),
      [{ status: 'open', termsMatch: false }],
      { escrowWei: NEW_COST, stakingWei: 0n },
    );
    expect(other.differences).toEqual(expect.arrayContaining([expect.objectContaining({ subject: 'job j-r4', message: expect.stringContaining('another provider than the log') })]));
  });
});

describe('top-ups (issue 16): a transfer into the escrow the log must explain', () => {
  const EXTRA = 5n * AGPU;
  const toppedUp = (jobId: string, over: Partial<EventData<'ContractToppedUp'>> = {}) =>
    ev('ContractToppedUp', { jobId, topUpId: 'tu-1', extraCostWei: EXTRA, extraRuntimeSec: 600, newCostWei: COST + EXTRA, newDeadlineUnixSec: 2_000_000_600, txHash: H('05'), blockNumber: '15', ...over });
  const chainToppedUp = (jobId: string, tx = H('05'), block = 15n, over: Partial<EscrowChainEvent> = {}): EscrowChainEvent =>
    ({ ...at(tx, block), kind: 'toppedUp', key: key(jobId), topUpKey: H('9a'), extraCostWei: EXTRA, newCostWei: COST + EXTRA, newDeadlineSec: 2_000_000_600, ...over }) as EscrowChainEvent;
  const chainReleasedTotal = (jobId: string): EscrowChainEvent => ({ ...at(H('02'), 20n), kind: 'released', key: key(jobId), provider: PROVIDER, costWei: COST + EXTRA, settledBy: A('5e') });

  it('folds a top-up into the job (once, however often it is recorded) and counts the escrow with it', () => {
    const ledger = ledgerOf([opened('j-1'), toppedUp('j-1'), toppedUp('j-1')]);
    const j = ledger.byKey.get(key('j-1'))!;
    expect(j.topUps).toEqual([{ topUpId: 'tu-1', txHash: H('05'), block: 15n, extraCostWei: EXTRA, newCostWei: COST + EXTRA, newDeadlineUnixSec: 2_000_000_600, seq: 2 }]);
    expect(j.terms?.costWei).toBe(COST);
  });

  it('finds nothing when the top-up, its transfer from the requester and the release of the total agree with the log', () => {
    const ledger = ledgerOf([opened('j-1'), toppedUp('j-1'), decided('j-1', 'release'), released('j-1', { amountWei: COST + EXTRA }), opened('j-2', { txHash: H('04') }), toppedUp('j-2', { topUpId: 'tu-2', txHash: H('06'), blockNumber: '16' })]);
    const w = window(
      [chainOpened('j-1'), chainToppedUp('j-1'), chainReleasedTotal('j-1'), chainOpened('j-2', H('04'), 11n), chainToppedUp('j-2', H('06'), 16n)],
      [intoEscrow(), transfer(H('05'), 15n, REQUESTER, ADDRESSES.escrow, EXTRA), transfer(H('02'), 20n, ADDRESSES.escrow, PROVIDER, COST + EXTRA), intoEscrow(H('04'), 11n), transfer(H('06'), 16n, REQUESTER, ADDRESSES.escrow, EXTRA)],
    );
    const { differences, figures } = reconcile(ledger, w, [{ status: 'released', termsMatch: true }, { status: 'open', termsMatch: true }], { escrowWei: COST + EXTRA });
    expect(differences).toEqual([]);
    expect(figures).toMatchObject({ transfers: 5, transfersExplained: 5, escrowToppedUp: 2, openEscrowsLogWei: COST + EXTRA, openEscrowsChainWei: COST + EXTRA, escrowBalanceWei: COST + EXTRA });
  });

  it('names a top-up on chain the log does not record, and one paid by someone other than the requester', () => {
    const ledger = ledgerOf([opened('j-1')]);
    const w = window([chainOpened('j-1'), chainToppedUp('j-1')], [intoEscrow(), transfer(H('05'), 15n, A('99'), ADDRESSES.escrow, EXTRA)]);
    const { differences } = reconcile(ledger, w, [{ status: 'open', termsMatch: false }], { escrowWei: COST + EXTRA });
    const messages = differences.map((d) => `${d.subject}: ${d.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^transfer 0x0505.*no event of the contract to explain it/),
        expect.stringMatching(/^transfer 0x0505.*toppedUp event in block 15 has no token transfer/),
        expect.stringMatching(/^job j-1: topped up on chain .* but the log has no ContractToppedUp of that transaction/),
        expect.stringMatching(/^escrow .*: the log holds 1 escrows open \(20000000000000000000 wei\), the chain 1 \(25000000000000000000 wei\)/),
      ]),
    );
  });

  it('does not count a top-up the log recorded in a block after the snapshot', () => {
    const ledger = ledgerOf([opened('j-1'), toppedUp('j-1', { blockNumber: String(SNAPSHOT + 5n) })]);
    const { differences, figures } = reconcile(ledger, window([chainOpened('j-1')], [intoEscrow()]), [{ status: 'open', termsMatch: true }], { escrowWei: COST });
    expect(differences).toEqual([]);
    expect(figures.openEscrowsLogWei).toBe(COST);
  });
});
