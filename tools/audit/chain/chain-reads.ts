import type { Address, Hex } from 'viem';
import { artifacts, COMPUTE_CONTRACT_STATUSES, escrowAbi, tokenAbi, type ChainPublicClient, type ComputeContractStatus, type MarketAddresses } from '@starminer/chain';
import { AuditSourceError } from '../shared/config';

/**
 * Blocks one getLogs call spans: small enough for RPCs that cap a range (many allow 2k-10k), and a
 * window's logs stay a bounded batch in memory.
 */
export const CHAIN_LOG_BLOCKS_MAX = 2_000n;
/** Jobs whose escrow record is read at once (two reads each, sent together): bounded load on the RPC. */
export const JOB_READS_PER_BATCH = 32;

/** Where a chain log sits: its transaction and its place in the block. */
interface At {
  readonly txHash: string;
  readonly block: bigint;
  readonly logIndex: number;
}

/** The escrow's events, as the auditor compares them (lowercase addresses and hashes). */
export type EscrowChainEvent =
  | (At & { readonly kind: 'opened'; readonly key: string; readonly requester: string; readonly provider: string; readonly costWei: bigint; readonly deadlineSec: number; readonly termsHash: string })
  | (At & { readonly kind: 'released'; readonly key: string; readonly provider: string; readonly costWei: bigint; readonly settledBy: string })
  | (At & { readonly kind: 'refunded'; readonly key: string; readonly requester: string; readonly costWei: bigint; readonly settledBy: string })
  /** A top-up (issue 16): `extraCostWei` from the job's requester into the escrow; release and refund then move `newCostWei`. */
  | (At & { readonly kind: 'toppedUp'; readonly key: string; readonly topUpKey: string; readonly extraCostWei: bigint; readonly newCostWei: bigint; readonly newDeadlineSec: number })
  /** A move to the job's next attempt (re-match on failure): `returnedWei` from the escrow back to the job's requester; release and refund then move `newCostWei`, to `newProvider`. */
  | (At & { readonly kind: 'reassigned'; readonly key: string; readonly attempt: number; readonly newProvider: string; readonly newCostWei: bigint; readonly returnedWei: bigint; readonly newDeadlineSec: number })
  | (At & { readonly kind: 'disputed'; readonly key: string });

/** The staking contract's events that move tokens (UnbondRequested moves none and is not read). */
export type StakingChainEvent =
  | (At & { readonly kind: 'staked'; readonly poolId: string; readonly staker: string; readonly amountWei: bigint })
  | (At & { readonly kind: 'withdrawn'; readonly poolId: string; readonly staker: string; readonly amountWei: bigint })
  | (At & { readonly kind: 'slashed'; readonly poolId: string; readonly staker: string; readonly key: string; readonly amountWei: bigint; readonly recipient: string });

export interface TokenTransfer extends At {
  readonly from: string;
  readonly to: string;
  readonly valueWei: bigint;
}

/** One window of blocks: the contracts' events and every token transfer into or out of them. */
export interface ChainWindow {
  readonly fromBlock: bigint;
  readonly toBlock: bigint;
  readonly escrow: readonly EscrowChainEvent[];
  readonly staking: readonly StakingChainEvent[];
  readonly transfers: readonly TokenTransfer[];
}

const lower = (s: string): string => s.toLowerCase();
const at = (log: { transactionHash: Hex; blockNumber: bigint; logIndex: number }): At => ({ txHash: lower(log.transactionHash), block: log.blockNumber, logIndex: log.logIndex });

/** Reads one window [fromBlock, toBlock] (at most CHAIN_LOG_BLOCKS_MAX + 1 blocks). */
export async function readChainWindow(client: ChainPublicClient, addresses: MarketAddresses, fromBlock: bigint, toBlock: bigint): Promise<ChainWindow> {
  if (toBlock < fromBlock || toBlock - fromBlock > CHAIN_LOG_BLOCKS_MAX) throw new RangeError(`chain window ${fromBlock}..${toBlock} is over ${CHAIN_LOG_BLOCKS_MAX} blocks`);
  const watched: Address[] = addresses.staking ? [addresses.escrow, addresses.staking] : [addresses.escrow];
  const range = { fromBlock, toBlock, strict: true } as const;
  const [escrowLogs, stakingLogs, into, outOf] = await sourced(`the chain's logs of blocks ${fromBlock}..${toBlock}`, () =>
    Promise.all([
      client.getContractEvents({ address: addresses.escrow, abi: escrowAbi(), ...range }),
      addresses.staking ? client.getContractEvents({ address: addresses.staking, abi: artifacts().StakingPools.abi, ...range }) : Promise.resolve([]),
      client.getContractEvents({ address: addresses.token, abi: tokenAbi(), eventName: 'Transfer', args: { to: watched }, ...range }),
      client.getContractEvents({ address: addresses.token, abi: tokenAbi(), eventName: 'Transfer', args: { from: watched }, ...range }),
    ]),
  );
  const escrow: EscrowChainEvent[] = [];
  for (const log of escrowLogs) {
    switch (log.eventName) {
      case 'ComputeContractOpened': {
        const a = log.args;
        escrow.push({ ...at(log), kind: 'opened', key: lower(a.jobId), requester: lower(a.requester), provider: lower(a.provider), costWei: a.costWei, deadlineSec: Number(a.deadline), termsHash: lower(a.termsHash) });
        break;
      }
      case 'ComputeContractReleased': {
        const a = log.args;
        escrow.push({ ...at(log), kind: 'released', key: lower(a.jobId), provider: lower(a.provider), costWei: a.costWei, settledBy: lower(a.settledBy) });
        break;
      }
      case 'ComputeContractRefunded': {
        const a = log.args;
        escrow.push({ ...at(log), kind: 'refunded', key: lower(a.jobId), requester: lower(a.requester), costWei: a.costWei, settledBy: lower(a.settledBy) });
        break;
      }
      case 'ComputeContractToppedUp': {
        const a = log.args;
        escrow.push({ ...at(log), kind: 'toppedUp', key: lower(a.jobId), topUpKey: lower(a.topUpId), extraCostWei: a.extraCostWei, newCostWei: a.newCostWei, newDeadlineSec: Number(a.newDeadline) });
        break;
      }
      case 'ComputeContractReassigned': {
        const a = log.args;
        escrow.push({ ...at(log), kind: 'reassigned', key: lower(a.jobId), attempt: a.attempt, newProvider: lower(a.newProvider), newCostWei: a.newCostWei, returnedWei: a.returnedWei, newDeadlineSec: Number(a.newDeadline) });
        break;
      }
      case 'ComputeContractDisputed':
        escrow.push({ ...at(log), kind: 'disputed', key: lower(log.args.jobId) });
        break;
      default:
        break; // role grants and the like move no tokens
    }
  }
  const staking: StakingChainEvent[] = [];
  for (const log of stakingLogs) {
    switch (log.eventName) {
      case 'Staked':
        staking.push({ ...at(log), kind: 'staked', poolId: lower(log.args.poolId), staker: lower(log.args.staker), amountWei: log.args.amountWei });
        break;
      case 'Withdrawn':
        staking.push({ ...at(log), kind: 'withdrawn', poolId: lower(log.args.poolId), staker: lower(log.args.staker), amountWei: log.args.amountWei });
        break;
      case 'Slashed': {
        const a = log.args;
        staking.push({ ...at(log), kind: 'slashed', poolId: lower(a.poolId), staker: lower(a.staker), key: lower(a.jobId), amountWei: a.amountWei, recipient: lower(a.recipient) });
        break;
      }
      default:
        break;
    }
  }
  // a transfer between the two watched contracts is in both answers: kept once
  const seen = new Set<string>();
  const transfers: TokenTransfer[] = [];
  for (const log of [...into, ...outOf]) {
    const t: TokenTransfer = { ...at(log), from: lower(log.args.from), to: lower(log.args.to), valueWei: log.args.value };
    const id = `${t.txHash}:${t.logIndex}`;
    if (seen.has(id)) continue;
    seen.add(id);
    transfers.push(t);
  }
  const order = (a: At, b: At): number => (a.block === b.block ? a.logIndex - b.logIndex : a.block < b.block ? -1 : 1);
  return { fromBlock, toBlock, escrow: escrow.sort(order), staking: staking.sort(order), transfers: transfers.sort(order) };
}

/** A job's escrow record at the snapshot block, and whether it commits to the log's terms. */
export interface ChainJobRead {
  readonly status: ComputeContractStatus;
  /** `matchesTerms` with the log's (requester, provider, cost); undefined when the log has no terms. */
  readonly termsMatch?: boolean;
}

/** Reads the records of up to JOB_READS_PER_BATCH jobs at `blockNumber`. */
export async function readJobRecords(
  client: ChainPublicClient,
  addresses: MarketAddresses,
  jobs: readonly { key: string; terms?: { requester: string; provider: string; costWei: bigint } }[],
  blockNumber: bigint,
): Promise<ChainJobRead[]> {
  if (jobs.length > JOB_READS_PER_BATCH) throw new RangeError(`${jobs.length} job reads in one batch, over ${JOB_READS_PER_BATCH}`);
  return sourced(`the escrow's records at block ${blockNumber}`, () =>
    Promise.all(
      jobs.map(async (j) => {
        const key = j.key as Hex;
        const [record, termsMatch] = await Promise.all([
          client.readContract({ address: addresses.escrow, abi: escrowAbi(), functionName: 'getJob', args: [key], blockNumber }),
          j.terms
            ? client.readContract({
                address: addresses.escrow,
                abi: escrowAbi(),
                functionName: 'matchesTerms',
                args: [key, { requester: j.terms.requester as Address, provider: j.terms.provider as Address, costWei: j.terms.costWei }],
                blockNumber,
              })
            : Promise.resolve(undefined),
        ]);
        const status = COMPUTE_CONTRACT_STATUSES[record.status];
        if (!status) throw new AuditSourceError(`the escrow answered status ${record.status} for job key ${j.key}: not a ComputeEscrow status`);
        return termsMatch === undefined ? { status } : { status, termsMatch };
      }),
    ),
  );
}

/** The token balances the contracts hold at `blockNumber`. */
export async function readBalances(client: ChainPublicClient, addresses: MarketAddresses, blockNumber: bigint): Promise<{ escrowWei: bigint; stakingWei?: bigint }> {
  const balanceOf = (account: Address): Promise<bigint> => client.readContract({ address: addresses.token, abi: tokenAbi(), functionName: 'balanceOf', args: [account], blockNumber });
  return sourced(`the token balances at block ${blockNumber}`, async () => {
    const [escrowWei, stakingWei] = await Promise.all([balanceOf(addresses.escrow), addresses.staking ? balanceOf(addresses.staking) : Promise.resolve(undefined)]);
    return stakingWei === undefined ? { escrowWei } : { escrowWei, stakingWei };
  });
}

/** The block of a transaction, or undefined when the chain has no receipt for it. */
export async function blockOfTx(client: ChainPublicClient, txHash: string): Promise<bigint | undefined> {
  try {
    return (await client.getTransactionReceipt({ hash: txHash as Hex })).blockNumber;
  } catch (err) {
    if ((err as { name?: string }).name === 'TransactionReceiptNotFoundError') return undefined;
    throw new AuditSourceError(`the receipt of ${txHash} could not be read: ${(err as Error).message}`, { cause: err });
  }
}

/** Runs a read of the chain; a failure means the chain could not be read (exit 3), not a difference. */
async function sourced<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof AuditSourceError) throw err;
    throw new AuditSourceError(`${what} could not be read: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}
