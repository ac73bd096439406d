import type { ComputeContractStatus, MarketAddresses } from '@starminer/chain';
import type { Difference } from '../shared/outcome';
import type { ChainJobRead, ChainWindow, EscrowChainEvent, StakingChainEvent, TokenTransfer } from './chain-reads';
import { loggedCostWei, loggedEscrowHeld, loggedTermsAt, type ChainLedger, type LoggedJob, type LoggedStatus } from './log-fold';

/** The contract events that move tokens (a dispute moves none; a move to another attempt only when it returns some escrow). */
type TokenMovingEvent = Exclude<EscrowChainEvent, { kind: 'disputed' }> | StakingChainEvent;
const movesTokens = (e: EscrowChainEvent | StakingChainEvent): e is TokenMovingEvent => e.kind !== 'disputed' && !(e.kind === 'reassigned' && e.returnedWei === 0n);

/**
 * The chain against the log, with no I/O: the command feeds it the folded log, then the chain's
 * windows of blocks, then the escrow's records per job, then the balances; it answers differences
 * and figures. Everything is read at one snapshot block, so a chain that moves on while the audit
 * runs changes nothing; a log effect in a later block is "in flight", not a difference.
 */
export class ChainReconciler {
  private readonly escrow: string;
  private readonly staking?: string;
  private readonly vaults?: string;
  /** Jobs the chain shows and the log does not: reported once, their later events skipped. */
  private readonly unknownKeys = new Set<string>();
  /** Per job key, what the chain's events showed (only the marks the final checks need). */
  private readonly seenSlash = new Set<string>();
  /** Each job's requester as its ComputeContractOpened showed it: who pays the job's top-ups. */
  private readonly requesterByKey = new Map<string, string>();
  private readonly diffs: Difference[] = [];

  readonly figures = {
    jobsChecked: 0,
    jobsInFlight: 0,
    transfers: 0,
    transfersExplained: 0,
    escrowOpened: 0,
    escrowSettled: 0,
    escrowToppedUp: 0,
    escrowReassigned: 0,
    openEscrowsLog: 0,
    openEscrowsLogWei: 0n,
    openEscrowsChain: 0,
    openEscrowsChainWei: 0n,
    escrowBalanceWei: 0n,
    stakedWei: 0n,
    withdrawnWei: 0n,
    slashedWei: 0n,
    slashes: 0,
    stakingBalanceWei: undefined as bigint | undefined,
  };

  constructor(
    private readonly ledger: ChainLedger,
    addresses: MarketAddresses,
    /** The block every read is taken at. */
    readonly snapshotBlock: bigint,
  ) {
    this.escrow = addresses.escrow.toLowerCase();
    this.staking = addresses.staking?.toLowerCase();
    this.vaults = addresses.vaults?.toLowerCase();
  }

  /** The differences found so far, in the order found (the command hands them to `Differences`). */
  takeDifferences(): Difference[] {
    return this.diffs.splice(0);
  }

  // ------------------------------------------------------------------ windows of blocks

  /** One window of the chain's logs: every transfer explained by a contract event, every event checked against the log. */
  onWindow(w: ChainWindow): void {
    // a top-up in the same window as its open is explained by the open's requester
    for (const e of w.escrow) if (e.kind === 'opened') this.requesterByKey.set(e.key, e.requester);
    this.explainTransfers(w);
    for (const e of w.escrow) this.onEscrowEvent(e);
    for (const e of w.staking) this.onStakingEvent(e);
  }

  /**
   * A token transfer into or out of the escrow or the staking contract is explained by the
   * contract event of its own transaction that moves those tokens: an open pulls the cost from the
   * requester (or a vault), a top-up pulls its extra cost from the job's requester, a release pays
   * the provider, a refund the requester; a stake pulls from
   * the staker, a withdrawal or a slash pays out. Anything else moved tokens outside the contracts' rules.
   */
  private explainTransfers(w: ChainWindow): void {
    const byTx = new Map<string, { transfers: TokenTransfer[]; events: TokenMovingEvent[] }>();
    const of = (tx: string) => {
      let g = byTx.get(tx);
      if (!g) byTx.set(tx, (g = { transfers: [], events: [] }));
      return g;
    };
    for (const t of w.transfers) of(t.txHash).transfers.push(t);
    for (const e of [...w.escrow, ...w.staking]) if (movesTokens(e)) of(e.txHash).events.push(e);
    for (const [txHash, g] of byTx) {
      const unused = [...g.events];
      for (const t of g.transfers) {
        this.figures.transfers += 1;
        const i = unused.findIndex((e) => this.moves(e, t));
        if (i >= 0) {
          unused.splice(i, 1);
          this.figures.transfersExplained += 1;
          continue;
        }
        this.add({
          subject: `transfer ${txHash}`,
          message: `${t.valueWei} wei moved from ${this.name(t.from)} to ${this.name(t.to)} in block ${t.block} with no event of the contract to explain it: tokens moved outside the contract's rules`,
          expected: { explainedBy: 'an open, top-up, release or refund of the escrow, or a stake, withdrawal or slash of the staking contract, in the same transaction' },
          actual: { txHash, block: t.block, from: t.from, to: t.to, valueWei: t.valueWei },
        });
      }
      for (const e of unused) {
        this.add({
          subject: `transfer ${txHash}`,
          message: `the ${e.kind} event in block ${e.block} has no token transfer of its amount: the contract's books and the token disagree`,
          expected: { transferOf: amountOf(e) },
          actual: { transfers: g.transfers.map((t) => ({ from: t.from, to: t.to, valueWei: t.valueWei })) },
        });
      }
    }
  }

  private moves(e: TokenMovingEvent, t: TokenTransfer): boolean {
    switch (e.kind) {
      case 'opened':
        return t.to === this.escrow && t.valueWei === e.costWei && (t.from === e.requester || t.from === this.vaults);
      case 'toppedUp':
        return t.to === this.escrow && t.valueWei === e.extraCostWei && t.from === this.requesterOf(e.key);
      case 'reassigned':
        return t.from === this.escrow && t.valueWei === e.returnedWei && t.to === this.requesterOf(e.key);
      case 'released':
        return t.from === this.escrow && t.to === e.provider && t.valueWei === e.costWei;
      case 'refunded':
        return t.from === this.escrow && t.to === e.requester && t.valueWei === e.costWei;
      case 'staked':
        return t.to === this.staking && t.from === e.staker && t.valueWei === e.amountWei;
      case 'withdrawn':
        return t.from === this.staking && t.to === e.staker && t.valueWei === e.amountWei;
      case 'slashed':
        return t.from === this.staking && t.to === e.recipient && t.valueWei === e.amountWei;
      default:
        return assertNever(e);
    }
  }

  private onEscrowEvent(e: EscrowChainEvent): void {
    if (e.kind === 'disputed') return; // moves no tokens; the record's status is read per job
    if (e.kind === 'toppedUp') {
      this.figures.escrowToppedUp += 1;
      this.figures.openEscrowsChainWei += e.extraCostWei;
    } else if (e.kind === 'reassigned') {
      this.figures.escrowReassigned += 1;
      this.figures.openEscrowsChainWei -= e.returnedWei;
    } else if (e.kind === 'opened') {
      this.figures.escrowOpened += 1;
      this.figures.openEscrowsChain += 1;
      this.figures.openEscrowsChainWei += e.costWei;
    } else {
      this.figures.escrowSettled += 1;
      this.figures.openEscrowsChain -= 1;
      this.figures.openEscrowsChainWei -= e.costWei;
    }
    const j = this.ledger.byKey.get(e.key);
    if (!j) {
      if (this.unknownKeys.has(e.key)) return;
      this.unknownKeys.add(e.key);
      this.add({
        subject: `job key ${e.key}`,
        message: `${e.kind} on chain (tx ${e.txHash}, block ${e.block}) for a job the log never matched: an escrow the platform did not open`,
        expected: { onTheLog: 'JobMatched and ContractOpened of this job' },
        actual: chainSide(e),
      });
      return;
    }
    if (e.kind === 'toppedUp') {
      this.onToppedUp(j, e);
      return;
    }
    if (e.kind === 'reassigned') {
      this.onReassigned(j, e);
      return;
    }
    if (e.kind === 'opened') {
      if (!j.terms) return; // matched and not recorded yet, or recorded failed: the record's status decides
      const t = j.terms;
      const wrong = [
        t.requester !== e.requester && 'requester',
        t.provider !== e.provider && 'provider',
        t.costWei !== e.costWei && 'cost',
        t.deadlineUnixSec !== e.deadlineSec && 'deadline',
        t.termsHash !== e.termsHash && 'terms hash',
      ].filter((x): x is string => x !== false);
      if (wrong.length > 0) {
        this.add({
          subject: `job ${j.jobId}`,
          message: `opened on chain (tx ${e.txHash}) with another ${wrong.join(', ')} than the log's ContractOpened (#${j.lastSeq})`,
          expected: { requester: t.requester, provider: t.provider, costWei: t.costWei, deadlineSec: t.deadlineUnixSec, termsHash: t.termsHash },
          actual: chainSide(e),
        });
      } else if (j.openTxHash !== null && j.openTxHash !== e.txHash) {
        this.add({
          subject: `job ${j.jobId}`,
          message: `opened on chain in tx ${e.txHash}, but the log records the open in tx ${j.openTxHash}`,
          expected: { openTxHash: j.openTxHash },
          actual: { openTxHash: e.txHash, block: e.block },
        });
      }
      return;
    }
    const settled: LoggedStatus = e.kind;
    const payee = e.kind === 'released' ? e.provider : e.requester;
    if (j.status !== settled) return; // the record's status tells the story (released where the log holds it open, ...)
    const wrong = [
      j.settleAmountWei !== undefined && j.settleAmountWei !== e.costWei && 'amount',
      j.settlePayee !== undefined && j.settlePayee !== payee && (e.kind === 'released' ? 'provider' : 'requester'),
      j.settleTxHash !== null && j.settleTxHash !== e.txHash && 'transaction',
    ].filter((x): x is string => x !== false);
    if (wrong.length > 0) {
      this.add({
        subject: `job ${j.jobId}`,
        message: `${e.kind} on chain (tx ${e.txHash}) with another ${wrong.join(', ')} than the log's Contract${e.kind === 'released' ? 'Released' : 'Refunded'}`,
        expected: { amountWei: j.settleAmountWei, payee: j.settlePayee, txHash: j.settleTxHash },
        actual: chainSide(e),
      });
    }
  }

  /** A top-up on chain: the log records it (ContractToppedUp of the same transaction) with the same amounts. */
  private onToppedUp(j: LoggedJob, e: Extract<EscrowChainEvent, { kind: 'toppedUp' }>): void {
    const logged = j.topUps?.find((t) => t.txHash === e.txHash);
    if (!logged) {
      this.add({
        subject: `job ${j.jobId}`,
        message: `topped up on chain (tx ${e.txHash}, block ${e.block}: ${e.extraCostWei} wei more), but the log has no ContractToppedUp of that transaction: escrow the log does not know of`,
        expected: { onTheLog: 'ContractToppedUp with this transaction' },
        actual: chainSide(e),
      });
      return;
    }
    const wrong = [
      logged.extraCostWei !== e.extraCostWei && 'extra cost',
      logged.newCostWei !== e.newCostWei && 'new cost',
      logged.newDeadlineUnixSec !== e.newDeadlineSec && 'deadline',
    ].filter((x): x is string => x !== false);
    if (wrong.length > 0) {
      this.add({
        subject: `job ${j.jobId}`,
        message: `topped up on chain (tx ${e.txHash}) with another ${wrong.join(', ')} than the log's ContractToppedUp (#${logged.seq})`,
        expected: { extraCostWei: logged.extraCostWei, newCostWei: logged.newCostWei, newDeadlineSec: logged.newDeadlineUnixSec },
        actual: chainSide(e),
      });
    }
  }

  /** A move to another attempt on chain: the log records it (ContractReassigned of the same transaction) with the same node, cost and deadline. */
  private onReassigned(j: LoggedJob, e: Extract<EscrowChainEvent, { kind: 'reassigned' }>): void {
    const logged = j.reassigns?.find((r) => r.txHash === e.txHash);
    if (!logged) {
      this.add({
        subject: `job ${j.jobId}`,
        message: `moved on chain to attempt ${e.attempt} (tx ${e.txHash}, block ${e.block}: provider ${e.newProvider}), but the log has no ContractReassigned of that transaction: a payee the log does not know of`,
        expected: { onTheLog: 'ContractReassigned with this transaction' },
        actual: chainSide(e),
      });
      return;
    }
    const wrong = [
      logged.attempt !== e.attempt && 'attempt',
      logged.provider !== e.newProvider && 'provider',
      logged.newCostWei !== e.newCostWei && 'cost',
      logged.returnedWei !== e.returnedWei && 'returned amount',
      logged.deadlineUnixSec !== e.newDeadlineSec && 'deadline',
    ].filter((x): x is string => x !== false);
    if (wrong.length > 0) {
      this.add({
        subject: `job ${j.jobId}`,
        message: `moved on chain (tx ${e.txHash}) with another ${wrong.join(', ')} than the log's ContractReassigned (#${logged.seq})`,
        expected: { attempt: logged.attempt, provider: logged.provider, newCostWei: logged.newCostWei, returnedWei: logged.returnedWei, newDeadlineSec: logged.deadlineUnixSec },
        actual: chainSide(e),
      });
    }
  }

  /** Who pays a job's top-ups: the requester its open showed on chain, else the log's. */
  private requesterOf(key: string): string | undefined {
    return this.requesterByKey.get(key) ?? this.ledger.byKey.get(key)?.terms?.requester;
  }

  private onStakingEvent(e: StakingChainEvent): void {
    if (e.kind === 'staked') {
      this.figures.stakedWei += e.amountWei;
      return;
    }
    if (e.kind === 'withdrawn') {
      this.figures.withdrawnWei += e.amountWei;
      return;
    }
    this.figures.slashedWei += e.amountWei;
    this.figures.slashes += 1;
    this.seenSlash.add(e.key);
    const j = this.ledger.byKey.get(e.key);
    const s = j?.slash;
    if (!j || !s) {
      this.add({
        subject: j ? `job ${j.jobId}` : `job key ${e.key}`,
        message: `stake slashed on chain (tx ${e.txHash}: ${e.amountWei} wei of ${e.staker} to ${e.recipient}), but the log has no StakeSlashed for the job`,
        expected: { onTheLog: 'StakeSlashed' },
        actual: chainSide(e),
      });
      return;
    }
    const wrong = [s.amountWei !== e.amountWei && 'amount', s.recipient !== e.recipient && 'recipient', s.txHash !== e.txHash && 'transaction'].filter((x): x is string => x !== false);
    if (wrong.length > 0) {
      this.add({
        subject: `job ${j.jobId}`,
        message: `stake slashed on chain (tx ${e.txHash}) with another ${wrong.join(', ')} than the log's StakeSlashed (#${s.seq})`,
        expected: { amountWei: s.amountWei, recipient: s.recipient, txHash: s.txHash },
        actual: chainSide(e),
      });
    }
  }

  // ------------------------------------------------------------------ slashes the chain did not show

  /** Slashes on the log that no Slashed event up to the snapshot showed: the command looks up their blocks. */
  unseenSlashes(): { jobId: string; txHash: string }[] {
    const out: { jobId: string; txHash: string }[] = [];
    for (const j of this.ledger.byKey.values()) if (j.slash && !this.seenSlash.has(j.key)) out.push({ jobId: j.jobId, txHash: j.slash.txHash });
    return out;
  }

  /** A slash the log records and the chain did not show: in flight when its transaction is after the snapshot. */
  onUnseenSlash(jobId: string, txBlock: bigint | undefined): void {
    const j = this.ledger.byKey.get(this.ledger.keyOf.get(jobId) ?? '');
    if (!j?.slash) return;
    if (txBlock !== undefined && txBlock > this.snapshotBlock) return;
    this.add({
      subject: `job ${jobId}`,
      message: `the log records a slash (StakeSlashed #${j.slash.seq}, tx ${j.slash.txHash}), but the staking contract shows no Slashed for the job${txBlock === undefined ? ' and the chain has no such transaction' : ''}`,
      expected: { slashed: { amountWei: j.slash.amountWei, recipient: j.slash.recipient, txHash: j.slash.txHash } },
      actual: { slashed: null, txBlock: txBlock ?? null },
    });
  }

  // ------------------------------------------------------------------ records per job

  /** One batch of jobs (ledger order) with their records at the snapshot. */
  onJobRecords(jobs: readonly LoggedJob[], reads: readonly ChainJobRead[]): void {
    if (jobs.length !== reads.length) throw new RangeError(`${jobs.length} jobs but ${reads.length} records`);
    jobs.forEach((j, i) => this.onJobRecord(j, reads[i]!));
  }

  private onJobRecord(j: LoggedJob, read: ChainJobRead): void {
    this.figures.jobsChecked += 1;
    const status = this.statusAtSnapshot(j);
    const expect = expectedChainStatuses(status, j.outcome);
    if (expect.inFlight.includes(read.status)) this.figures.jobsInFlight += 1;
    if (j.terms && loggedEscrowHeld({ ...j, status })) {
      this.figures.openEscrowsLog += 1;
      this.figures.openEscrowsLogWei += loggedCostWei(j, this.snapshotBlock);
    }
    if (!expect.allowed.includes(read.status)) {
      this.add({
        subject: `job ${j.jobId}`,
        message: `${read.status} on chain, but the log ${describeLogged(status, j)} (last contract event #${j.lastSeq})`,
        expected: { status: expect.allowed.length === 1 ? expect.allowed[0] : expect.allowed, ...(j.terms ? { requester: j.terms.requester, provider: j.terms.provider, costWei: j.terms.costWei } : {}) },
        actual: { status: read.status, snapshotBlock: this.snapshotBlock },
      });
      return;
    }
    if (j.terms && j.terms.contractAddress !== this.escrow) {
      this.add({
        subject: `job ${j.jobId}`,
        message: `the log names escrow ${j.terms.contractAddress} for the job, the market's escrow is ${this.escrow}`,
        expected: { contractAddress: this.escrow },
        actual: { contractAddress: j.terms.contractAddress },
      });
      return;
    }
    if (read.status !== 'none' && read.termsMatch === false) {
      this.add({
        subject: `job ${j.jobId}`,
        message: `the escrow's record commits to other parties or another cost than the log's ContractOpened: the chain would pay someone else`,
        expected: { requester: j.terms!.requester, ...loggedTermsAt(j, this.snapshotBlock) },
        actual: { matchesTerms: false },
      });
    }
  }

  /** The job as the log stood at the snapshot block: an effect recorded in a later block has not happened yet there. */
  private statusAtSnapshot(j: LoggedJob): LoggedStatus {
    const after = (b: bigint | null): boolean => b !== null && b > this.snapshotBlock;
    if ((j.status === 'released' || j.status === 'refunded') && after(j.settleBlock)) return 'settling';
    if (j.status === 'open' && after(j.openBlock)) return 'matched';
    return j.status;
  }

  // ------------------------------------------------------------------ totals

  /**
   * The balances at the snapshot against the contracts' events and the log: the escrow holds
   * exactly its open escrows; the log's open escrows are the chain's (unless jobs are in flight);
   * the staking contract holds what was staked less what left it.
   */
  onBalances(b: { escrowWei: bigint; stakingWei?: bigint }): void {
    const f = this.figures;
    f.escrowBalanceWei = b.escrowWei;
    f.stakingBalanceWei = b.stakingWei;
    if (f.jobsInFlight === 0 && (f.openEscrowsLog !== f.openEscrowsChain || f.openEscrowsLogWei !== f.openEscrowsChainWei)) {
      this.add({
        subject: `escrow ${this.escrow}`,
        message: `the log holds ${f.openEscrowsLog} escrows open (${f.openEscrowsLogWei} wei), the chain ${f.openEscrowsChain} (${f.openEscrowsChainWei} wei)`,
        expected: { openEscrows: f.openEscrowsLog, openEscrowsWei: f.openEscrowsLogWei },
        actual: { openEscrows: f.openEscrowsChain, openEscrowsWei: f.openEscrowsChainWei },
      });
    }
    if (b.escrowWei !== f.openEscrowsChainWei) {
      this.add({
        subject: `escrow ${this.escrow}`,
        message: `holds ${b.escrowWei} wei at block ${this.snapshotBlock}, but its open escrows come to ${f.openEscrowsChainWei} wei: ${signed(b.escrowWei - f.openEscrowsChainWei)} wei no escrow explains`,
        expected: { balanceWei: f.openEscrowsChainWei },
        actual: { balanceWei: b.escrowWei },
      });
    }
    if (this.staking && b.stakingWei !== undefined) {
      const bookedWei = f.stakedWei - f.withdrawnWei - f.slashedWei;
      if (b.stakingWei !== bookedWei) {
        this.add({
          subject: `staking ${this.staking}`,
          message: `holds ${b.stakingWei} wei at block ${this.snapshotBlock}, but stakes less withdrawals and slashes come to ${bookedWei} wei: ${signed(b.stakingWei - bookedWei)} wei no stake explains`,
          expected: { balanceWei: bookedWei },
          actual: { balanceWei: b.stakingWei },
        });
      }
    }
  }

  private add(d: Difference): void {
    this.diffs.push(d);
  }

  private name(address: string): string {
    if (address === this.escrow) return `the escrow ${address}`;
    if (address === this.staking) return `the staking contract ${address}`;
    if (address === '0x0000000000000000000000000000000000000000') return 'nowhere (minted)';
    return address;
  }
}

/**
 * Which record statuses the chain may show for a job the log holds at `status`; `inFlight`: those
 * of them that mean the log has yet to record what the chain did (or the chain has yet to do what
 * the log decided).
 */
export function expectedChainStatuses(status: LoggedStatus, outcome?: 'release' | 'refund'): { allowed: ComputeContractStatus[]; inFlight: ComputeContractStatus[] } {
  switch (status) {
    case 'matched':
      return { allowed: ['none', 'open'], inFlight: ['open'] }; // the deployer may be recording an open
    case 'open':
      return { allowed: ['open'], inFlight: [] };
    case 'settling': {
      // decided, the transaction not recorded yet (a refund before the deadline disputes first)
      const allowed: ComputeContractStatus[] = outcome === 'release' ? ['open', 'released'] : ['open', 'disputed', 'refunded'];
      return { allowed, inFlight: allowed };
    }
    case 'released':
      return { allowed: ['released'], inFlight: [] };
    case 'refunded':
      return { allowed: ['refunded'], inFlight: [] };
    case 'open-failed':
      return { allowed: ['none'], inFlight: [] };
    case 'settle-lost':
      return { allowed: ['open', 'disputed'], inFlight: [] };
    default:
      return assertNever(status);
  }
}

function describeLogged(status: LoggedStatus, j: LoggedJob): string {
  switch (status) {
    case 'matched':
      return 'has no contract for it yet';
    case 'open':
      return `holds it open (opened in tx ${j.openTxHash ?? 'unrecorded'})`;
    case 'settling':
      return `decided a ${j.outcome ?? 'settlement'} not yet carried out`;
    case 'released':
      return `records it released (tx ${j.settleTxHash ?? 'unrecorded'})`;
    case 'refunded':
      return `records it refunded (tx ${j.settleTxHash ?? 'unrecorded'})`;
    case 'open-failed':
      return 'records its open as failed';
    case 'settle-lost':
      return `records its ${j.outcome ?? 'settlement'} as lost`;
    default:
      return assertNever(status);
  }
}

function chainSide(e: EscrowChainEvent | StakingChainEvent): Record<string, unknown> {
  const { kind, txHash, block, ...rest } = e;
  return { event: kind, txHash, block, ...rest };
}

/** The tokens a contract event moves. */
function amountOf(e: TokenMovingEvent): bigint {
  if ('amountWei' in e) return e.amountWei;
  if (e.kind === 'reassigned') return e.returnedWei;
  return e.kind === 'toppedUp' ? e.extraCostWei : e.costWei;
}

const signed = (n: bigint): string => (n > 0n ? `+${n}` : `${n}`);

function assertNever(x: never): never {
  throw new Error(`unexpected ${JSON.stringify(x)}`);
}
