import { jobIdToBytes32 } from '@starminer/chain';
import { decodeEvent } from '@starminer/events';
import { AuditSourceError } from '../shared/config';
import { scanLog } from '../shared/log-reader';
import { Differences } from '../shared/outcome';
import type { AuditCommand, AuditRun } from '../shared/run';
import { blockOfTx, CHAIN_LOG_BLOCKS_MAX, JOB_READS_PER_BATCH, readBalances, readChainWindow, readJobRecords } from './chain-reads';
import { emptyLedger, foldChainEvent, loggedTermsAt, type ChainLedger, type LoggedJob } from './log-fold';
import { ChainReconciler } from './reconcile';

/**
 * `npm run audit -- chain`: the market's contracts against the trade log, read-only.
 *
 * 1. The chain's head is taken as the snapshot block first, so everything on chain up to it
 *    happened before the log is read (a chain that moves on during the audit changes nothing).
 * 2. The whole log is folded into what each job's escrow must be (log-fold.ts).
 * 3. The chain's logs from the market's deploy block to the snapshot, CHAIN_LOG_BLOCKS_MAX blocks
 *    at a time: every token transfer into or out of the escrow and the staking contract must be
 *    explained by the contract event of its transaction, and every open, release, refund and slash
 *    must agree with the log (parties, amounts, transactions).
 * 4. Each job's escrow record at the snapshot, JOB_READS_PER_BATCH jobs at a time: its status is
 *    what the log says, and it commits to the log's requester, provider and cost.
 * 5. The balances: the escrow holds exactly its open escrows, which are the log's; the staking
 *    contract holds what was staked less what left it.
 */
export const chainCommand: AuditCommand = {
  command: 'chain',
  describe: "every job's escrow on chain against the log; every token movement of the escrow and staking contracts explained by an event; open escrows on chain equal the log's",
  options: (y) => y,
  run: (run) => auditChain(run),
};

export async function auditChain(run: AuditRun): Promise<ReturnType<Differences['outcome']>> {
  const { publicClient, addresses } = run.chain();
  const log = await run.openLog();
  const snapshotBlock = await publicClient.getBlockNumber().catch((err: unknown) => {
    throw new AuditSourceError(`the chain at ${run.cfg.rpcUrl} cannot be reached: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  });
  const differences = new Differences();

  const { ledger, messages } = await foldLog(run, log, differences);
  const reconciler = new ChainReconciler(ledger, addresses, snapshotBlock);
  const flush = (): void => reconciler.takeDifferences().forEach((d) => differences.add(d));

  const fromBlock = BigInt(addresses.deployBlock ?? 0);
  const blocksTotal = snapshotBlock >= fromBlock ? snapshotBlock - fromBlock + 1n : 0n;
  const blocks = run.progress('chain: blocks', 'blocks');
  for (let from = fromBlock; from <= snapshotBlock; from += CHAIN_LOG_BLOCKS_MAX + 1n) {
    const to = from + CHAIN_LOG_BLOCKS_MAX < snapshotBlock ? from + CHAIN_LOG_BLOCKS_MAX : snapshotBlock;
    reconciler.onWindow(await readChainWindow(publicClient, addresses, from, to));
    flush();
    blocks.update(Number(to - fromBlock + 1n), Number(blocksTotal));
  }
  blocks.stop();

  for (const s of reconciler.unseenSlashes()) reconciler.onUnseenSlash(s.jobId, await blockOfTx(publicClient, s.txHash));
  flush();

  const jobs = run.progress('chain: jobs', 'jobs');
  let batch: LoggedJob[] = [];
  let done = 0;
  const readBatch = async (): Promise<void> => {
    // the escrow commits to the cost with the top-ups made by the snapshot block
    const asOfSnapshot = batch.map((j) => (j.terms ? { key: j.key, terms: { ...j.terms, ...loggedTermsAt(j, snapshotBlock) } } : { key: j.key }));
    reconciler.onJobRecords(batch, await readJobRecords(publicClient, addresses, asOfSnapshot, snapshotBlock));
    flush();
    done += batch.length;
    batch = [];
    jobs.update(done, ledger.byKey.size);
  };
  for (const j of ledger.byKey.values()) {
    batch.push(j);
    if (batch.length === JOB_READS_PER_BATCH) await readBatch();
  }
  if (batch.length > 0) await readBatch();
  jobs.stop();

  reconciler.onBalances(await readBalances(publicClient, addresses, snapshotBlock));
  flush();

  const f = reconciler.figures;
  if (f.jobsInFlight > 0) run.say(`chain: ${f.jobsInFlight} jobs in flight (the log has yet to record what the chain did, or the reverse): open escrows log vs chain not compared`);
  return differences.outcome('chain', {
    events: messages,
    jobs: ledger.byKey.size,
    snapshotBlock,
    blocks: blocksTotal,
    ...f,
  });
}

/** The whole log, a bounded batch at a time, folded into the ledger; an event that cannot be read is a difference. */
async function foldLog(run: AuditRun, log: Awaited<ReturnType<AuditRun['openLog']>>, differences: Differences): Promise<{ ledger: ChainLedger; messages: number }> {
  const ledger = emptyLedger();
  const lastSeq = await log.lastSeq();
  const progress = run.progress('chain: log', 'events');
  const scanned = await scanLog(log, { toSeq: lastSeq }, (batch) => {
    for (const m of batch) {
      let event;
      try {
        event = decodeEvent(m.data);
      } catch (err) {
        differences.add({ subject: `log #${m.seq}`, message: `the event on ${m.subject} cannot be read, so the chain cannot be checked against it: ${(err as Error).message}` });
        continue;
      }
      foldChainEvent(ledger, event, m.seq, jobIdToBytes32);
    }
    progress.update(batch[batch.length - 1]!.seq, lastSeq);
  });
  progress.stop();
  return { ledger, messages: scanned.messages };
}
