import { agpuBalance, artifacts } from '@starminer/chain';
import type { Market } from './market-harness';

/**
 * Events the market appends on its own, after an accepted request or on a timer (matching's
 * waiting reasons, matches and prices; the deployer's contracts and anchors; the registry's
 * liveness and reputation; settlement): never the effect of a refused request. Any other event
 * (an org's, a node's, the operator's, a mint) is what a request appends.
 */
const BACKGROUND: Record<string, readonly string[]> = {
  'service:matching': ['JobWaiting', 'JobMatched', 'JobRequeued', 'PriceChanged', 'SurgeStarted', 'SurgeEnded'],
  'service:deployer': ['ContractOpened', 'ContractOpenFailed', 'ContractReassigned', 'AnchorPosted'],
  'service:registry': ['NodeAvailabilityChanged', 'NodeReputationChanged', 'NodeStakeChanged'],
  // redundancy: a group's verdict on each copy, and a dissenting copy's rejection
  'service:settlement': ['ContractAttemptFailed', 'ContractRunwayLow', 'SettlementDecided', 'ContractReleased', 'ContractRefunded', 'StakeSlashed', 'RedundancyVerdictRecorded', 'ResultRejected'],
};

export interface LedgerState {
  readonly lastSeq: number;
  readonly supplyWei: bigint;
  readonly balancesWei: readonly bigint[];
}

/** The log's last sequence, the AGPU supply and the balances of `accounts`, read together. */
export async function ledgerState(market: Market, accounts: readonly `0x${string}`[]): Promise<LedgerState> {
  const chain = market.chain.publicClient;
  const [lastSeq, supplyWei, ...balancesWei] = await Promise.all([
    market.log.lastSeq(),
    chain.readContract({ address: market.addresses.token, abi: artifacts().AgpuToken.abi, functionName: 'totalSupply' }) as Promise<bigint>,
    ...accounts.map((account) => agpuBalance(chain, { token: market.addresses.token, account })),
  ]);
  return { lastSeq, supplyWei, balancesWei };
}

/** What the log gained in (from, to] that a request could have appended: everything but the market's own background. */
export async function foregroundEvents(market: Market, from: number, to: number): Promise<string[]> {
  const jsm = await market.log.jsm();
  const found: string[] = [];
  for (let seq = from + 1; seq <= to; seq += 1) {
    const m = await jsm.streams.getMessage(market.log.streamName, { seq });
    const e = JSON.parse(Buffer.from(m!.data).toString('utf8')) as { type: string; actor: string };
    if (!BACKGROUND[e.actor]?.includes(e.type)) found.push(`#${seq} ${e.type} by ${e.actor}`);
  }
  return found;
}
