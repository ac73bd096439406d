import { writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import {
  ANCHOR_LEAF_ENCODING, ANCHOR_PROOF_HOWTO, AnchorMismatchError, anchorTreeOf, eventHashOf, findAnchorOfSeq, readAnchorCount, verifyAnchoredEvent, verifyEventProof,
  type AnchorLeaf, type PostedAnchor,
} from '@starminer/chain';
import { decodeEvent, type TradeEvent } from '@starminer/events';
import type { TradeLog } from '@starminer/trade-log';
import { AuditUsageError } from '../shared/config';
import { scanLog, type LogMessage } from '../shared/log-reader';
import { auditJson, Differences, type AuditOutcome } from '../shared/outcome';
import type { AuditCommand, AuditRun } from '../shared/run';
import { ANCHOR_RANGE_EVENTS_MAX } from './anchor-check';
import { cachedAnchorReader, fromChain, requireAnchorContract } from './chain-reads';

/** Events one window of the search by event id reads before it looks whether it found it (the search stops at the first window that holds it). */
export const PROVE_SEARCH_WINDOW_EVENTS = 10_000;

interface ProveArgs {
  readonly event?: string;
  readonly seq?: number;
  readonly out?: string;
}

/**
 * `audit prove <event-id>` (or `--seq N`): the inclusion proof of one event of the log in its
 * anchor, as a JSON document anyone can check with @openzeppelin/merkle-tree and the chain's
 * AuditAnchor.verifyEvent; the command checks it both ways itself. Not anchored yet, or a check
 * that fails: exit 1.
 */
export const proveCommand: AuditCommand<ProveArgs> = {
  command: 'prove [event]',
  describe: "an event's inclusion proof in its anchor (by envelope id, or --seq), checked with @openzeppelin/merkle-tree and on chain",
  options: (y: Argv) =>
    y
      .positional('event', { type: 'string', describe: "the event's envelope id (the log is searched for it, from the start)" })
      .option('seq', { type: 'number', describe: "the event's stream sequence instead of its id" })
      .option('out', { type: 'string', describe: 'write the proof to this file (default: stderr)' }),
  run: prove,
};

async function prove(run: AuditRun, args: ProveArgs): Promise<AuditOutcome> {
  if ((args.event === undefined) === (args.seq === undefined)) throw new AuditUsageError('prove needs one event: its envelope id, or --seq N');
  if (args.seq !== undefined && !(Number.isSafeInteger(args.seq) && args.seq >= 1)) throw new AuditUsageError('--seq must be a stream sequence (an integer from 1)');
  const { publicClient, addresses, chainId } = run.chain();
  const contract = requireAnchorContract(addresses);
  const log = await run.openLog();
  const differences = new Differences();
  const what = args.event !== undefined ? `event ${args.event}` : `event #${args.seq}`;

  const message = args.event !== undefined ? await findById(run, log, args.event) : await messageAt(log, args.seq!);
  if (!message) {
    differences.add({ subject: what, message: `is not on the log ${run.cfg.stream} (${run.cfg.subjectPrefix}.>)` });
    return differences.outcome('prove', { found: false });
  }
  const seq = BigInt(message.seq);
  const eventHash = eventHashOf(message.data);
  const read = cachedAnchorReader(publicClient, addresses);
  const count = await fromChain('anchorCount', () => readAnchorCount(publicClient, { addresses }));
  const anchor = await findAnchorOfSeq(publicClient, { addresses, seq, count, read });
  if (!anchor) {
    const through = count === 0 ? 0n : (await read(count - 1)).toSeq;
    differences.add({ subject: what, message: `#${seq} is not anchored yet: the ${count} anchors on chain cover #1..#${through}; the deployer anchors the log every ANCHOR_INTERVAL_MS` });
    return differences.outcome('prove', { seq: message.seq, anchored: false, anchoredThroughSeq: Number(through) });
  }
  if (anchor.toSeq - anchor.fromSeq + 1n > BigInt(ANCHOR_RANGE_EVENTS_MAX)) {
    differences.add({ subject: `anchor #${anchor.index} [${anchor.fromSeq}, ${anchor.toSeq}]`, message: `covers more events than an anchor may (${ANCHOR_RANGE_EVENTS_MAX}): not rebuilt` });
    return differences.outcome('prove', { seq: message.seq, anchorIndex: anchor.index });
  }

  const leaves = await rangeLeaves(run, log, anchor);
  let proof: `0x${string}`[];
  try {
    proof = anchorTreeOf(anchor, leaves).proof(seq);
  } catch (err) {
    if (!(err instanceof AnchorMismatchError)) throw err;
    const subject = `anchor #${anchor.index} [${anchor.fromSeq}, ${anchor.toSeq}]`;
    differences.add({ subject, message: err.message.replace(`${subject}: `, ''), expected: { root: anchor.root }, actual: { root: err.rebuiltRoot } });
    return differences.outcome('prove', { seq: message.seq, anchorIndex: anchor.index });
  }
  const offChain = verifyEventProof({ root: anchor.root, seq, eventHash, proof });
  const onChain = await fromChain('verifyEvent', () => verifyAnchoredEvent(publicClient, { addresses, index: anchor.index, seq, eventHash, proof }));
  if (!offChain) differences.add({ subject: what, message: `the proof does not verify with StandardMerkleTree.verify against anchor #${anchor.index}'s root ${anchor.root}` });
  if (!onChain) differences.add({ subject: what, message: `the chain's verifyEvent(${anchor.index}, ${seq}, ${eventHash}, proof) answers false` });

  const text = new TextDecoder().decode(message.data);
  const envelope = envelopeOf(message.data);
  const document = {
    event: { id: envelope?.id ?? null, type: envelope?.type ?? null, seq: message.seq, subject: message.subject, eventHash, message: text },
    leaf: { encoding: [...ANCHOR_LEAF_ENCODING], value: [seq, eventHash] },
    anchor: { index: anchor.index, fromSeq: Number(anchor.fromSeq), toSeq: Number(anchor.toSeq), root: anchor.root, txHash: await anchorTxHash(run, log, anchor.index) },
    proof,
    chain: { chainId, anchorContract: contract },
    checks: { merkleTree: offChain, chainVerifyEvent: onChain },
    howToVerify: ANCHOR_PROOF_HOWTO,
  };
  const json = JSON.stringify(JSON.parse(auditJson(document)), null, 2);
  if (args.out) {
    writeFileSync(args.out, `${json}\n`);
    run.say(`prove: the proof of #${seq} in anchor #${anchor.index} is in ${args.out}`);
  } else {
    run.say(json);
  }
  return differences.outcome('prove', { seq: message.seq, anchorIndex: anchor.index, merkleTree: offChain, chainVerifyEvent: onChain, ...(args.out ? { out: args.out } : {}) });
}

/** The message at `seq`, when it is one of the market's (`<prefix>.>`). */
async function messageAt(log: TradeLog, seq: number): Promise<LogMessage | undefined> {
  const m = await (await log.jsm()).streams.getMessage(log.streamName, { seq }).catch(() => null);
  if (!m || !m.subject.startsWith(`${log.subjectPrefix}.`)) return undefined;
  return { seq: m.seq, subject: m.subject, data: m.data, storedAtMs: m.time.getTime() };
}

/** The first message whose envelope id is `id`, searched from the start in windows (progress on stderr). */
async function findById(run: AuditRun, log: TradeLog, id: string): Promise<LogMessage | undefined> {
  const lastSeq = await log.lastSeq();
  const progress = run.progress(`searching for ${id}`, 'events');
  const quoted = JSON.stringify(id);
  let found: LogMessage | undefined;
  try {
    for (let from = 1; from <= lastSeq && !found; from += PROVE_SEARCH_WINDOW_EVENTS) {
      await scanLog(log, { fromSeq: from, toSeq: Math.min(lastSeq, from + PROVE_SEARCH_WINDOW_EVENTS - 1) }, (batch) => {
        for (const m of batch) {
          // the id's JSON text is in the message before it is parsed: most messages are never parsed
          if (!found && Buffer.from(m.data).includes(quoted) && envelopeOf(m.data)?.id === id) found = m;
        }
        progress.update(batch[batch.length - 1]!.seq, lastSeq);
      });
    }
  } finally {
    progress.stop();
  }
  return found;
}

/** The leaves of the anchor's range, read from the log in bounded batches (at most ANCHOR_RANGE_EVENTS_MAX). */
async function rangeLeaves(run: AuditRun, log: TradeLog, anchor: PostedAnchor): Promise<AnchorLeaf[]> {
  const leaves: AnchorLeaf[] = [];
  await scanLog(log, { fromSeq: Number(anchor.fromSeq), toSeq: Number(anchor.toSeq) }, (batch) => {
    for (const m of batch) leaves.push({ seq: BigInt(m.seq), eventHash: eventHashOf(m.data) });
  });
  run.say(`prove: anchor #${anchor.index} [${anchor.fromSeq}, ${anchor.toSeq}]: ${leaves.length} events read from the log`);
  return leaves;
}

/** The anchor's transaction as the log's AnchorPosted records it (null when the log has none, or it was not recorded). */
async function anchorTxHash(run: AuditRun, log: TradeLog, index: number): Promise<string | null> {
  const { events } = await log.readSubject<TradeEvent>(`${run.cfg.subjectPrefix}.anchor.${index}`, { decode: decodeEvent });
  const e = events[0]?.event;
  return e?.type === 'AnchorPosted' ? e.data.txHash : null;
}

function envelopeOf(data: Uint8Array): { id?: string; type?: string } | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(data)) as unknown;
    return v !== null && typeof v === 'object' ? (v as { id?: string; type?: string }) : undefined;
  } catch {
    return undefined;
  }
}
