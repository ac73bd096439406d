import type { Argv } from 'yargs';
import { readAnchorCount } from '@starminer/chain';
import { decodeEvent, type TradeEvent } from '@starminer/events';
import type { AuditRun, AuditCommand } from '../shared/run';
import { scanLog } from '../shared/log-reader';
import { Differences, type AuditOutcome } from '../shared/outcome';
import { AnchorCheck, type RecordedAnchor } from './anchor-check';
import { cachedAnchorReader, fromChain, requireAnchorContract } from './chain-reads';

/**
 * `audit anchors`: every anchor on chain against the log. Each chain anchor and the log's
 * AnchorPosted of its index agree (range and root); the ranges are contiguous from #1; each root
 * equals the root rebuilt from the raw messages of its range (read in bounded batches, one range
 * in memory at a time). How much of the log's tail is not anchored yet is a figure, not a failure:
 * the deployer anchors every ANCHOR_INTERVAL_MS.
 */
export const anchorsCommand: AuditCommand = {
  command: 'anchors',
  describe: "check every anchor on chain against the log: its AnchorPosted, contiguous ranges from #1, each root rebuilt from the log's events",
  options: (y: Argv) => y,
  run: auditAnchors,
};

async function auditAnchors(run: AuditRun): Promise<AuditOutcome> {
  const { publicClient, addresses } = run.chain();
  const contract = requireAnchorContract(addresses);
  const log = await run.openLog();
  // the chain first: an anchor posted after this count is not checked, and every event it covers is already on the log
  const count = await fromChain('anchorCount', () => readAnchorCount(publicClient, { addresses }));
  const lastSeq = await log.lastSeq();
  const differences = new Differences();
  const read = cachedAnchorReader(publicClient, addresses);
  const readPostedSince = async (index: number) => (index < (await fromChain('anchorCount', () => readAnchorCount(publicClient, { addresses }))) ? read(index) : undefined);
  const check = new AnchorCheck({ count, read, readPostedSince, subjectPrefix: run.cfg.subjectPrefix, differences });
  const anchoredThrough = await check.anchoredThrough();
  run.say(`anchors: ${count} on chain (${contract}) covering #1..#${anchoredThrough}; the log ${run.cfg.stream} holds #1..#${lastSeq}`);
  await check.start();
  const progress = run.progress('anchors', 'events');
  let eventsRead = 0;
  const scanned = await scanLog(log, { toSeq: lastSeq }, async (batch) => {
    for (const m of batch) await check.add(m);
    eventsRead += batch.length;
    progress.update(batch[batch.length - 1]!.seq, lastSeq);
  });
  progress.stop();
  // an AnchorPosted appended after the scan's end (its anchor was on chain before the count): read it now
  let lastNotRecorded = false;
  for (const index of await check.finish()) {
    const { events } = await log.readSubject<TradeEvent>(`${run.cfg.subjectPrefix}.anchor.${index}`, { decode: decodeEvent });
    const e = events[0]?.event;
    if (e?.type === 'AnchorPosted') await check.compareRecorded(e.data as RecordedAnchor, `#${events[0]!.seq}, after the scan`);
    // the deployer posts, then records: its last post may wait for its next round to be recorded (a crash, a stop in between), never an earlier one
    else if (index === count - 1) lastNotRecorded = true;
    else differences.add({ subject: `anchor #${index}`, message: `is on chain but the log has no AnchorPosted for it (${run.cfg.subjectPrefix}.anchor.${index} is empty)` });
  }
  if (lastNotRecorded) run.say(`anchors: the chain's last anchor #${count - 1} is not recorded on the log yet: the deployer records it on its next round`);
  const unanchored = Math.max(0, lastSeq - Number(anchoredThrough));
  run.say(`anchors: ${check.rangesVerified} of ${count} roots rebuilt from the log and equal; ${unanchored} event(s) at the log's tail not anchored yet`);
  return differences.outcome('anchors', {
    anchors: count,
    rangesVerified: check.rangesVerified,
    anchorEventsOnLog: check.anchorEventsOnLog,
    eventsRead,
    lastSeq: scanned.toSeq,
    anchoredThroughSeq: Number(anchoredThrough),
    unanchoredEvents: unanchored,
    lastAnchorRecorded: count === 0 || !lastNotRecorded,
  });
}
