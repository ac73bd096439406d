import { buildAnchorTree, eventHashOf, type PostedAnchor } from '@starminer/chain';
import { encodeEvent } from '@starminer/events';
import type { LogMessage } from '../shared/log-reader';
import { Differences } from '../shared/outcome';
import { ANCHOR_RANGE_EVENTS_MAX, AnchorCheck } from './anchor-check';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Message n of a made-up log: `{"n":n}` on a job subject. */
const message = (seq: number, text = `{"n":${seq}}`): LogMessage => ({ seq, subject: `trade.job.j${seq}`, data: bytes(text), storedAtMs: 0 });
const anchorOver = (index: number, from: number, to: number): PostedAnchor => ({
  index,
  fromSeq: BigInt(from),
  toSeq: BigInt(to),
  root: buildAnchorTree(Array.from({ length: to - from + 1 }, (_, i) => ({ seq: BigInt(from + i), eventHash: eventHashOf(message(from + i).data) }))).root,
});
/** The deployer's AnchorPosted for `a`, at `seq`. */
const posted = (seq: number, a: { index: number; fromSeq: bigint; toSeq: bigint; root: string }): LogMessage => {
  const subject = `trade.anchor.${a.index}`;
  const data = encodeEvent(
    {
      id: `anchor-event-${a.index}-${seq}`,
      type: 'AnchorPosted',
      schemaVersion: 1,
      aggregateId: String(a.index),
      occurredAt: '2026-11-28T12:00:00.000Z',
      correlationId: `anchor-${a.index}`,
      causationId: `anchor-${a.index}`,
      actor: 'service:deployer',
      data: { index: a.index, fromSeq: Number(a.fromSeq), toSeq: Number(a.toSeq), root: a.root, txHash: null },
    },
    subject,
  );
  return { seq, subject, data, storedAtMs: 0 };
};

/** Runs the check over `log` against the chain's `anchors`; answers the differences and what finish says is unrecorded. */
async function check(anchors: PostedAnchor[], log: LogMessage[], postedLater: PostedAnchor[] = []) {
  const differences = new Differences();
  const all = [...anchors, ...postedLater];
  const c = new AnchorCheck({
    count: anchors.length,
    read: async (i) => anchors[i]!,
    readPostedSince: async (i) => all[i],
    subjectPrefix: 'trade',
    differences,
  });
  await c.start();
  for (const m of log) await c.add(m);
  const unrecorded = await c.finish();
  return { differences: differences.list.map((d) => `${d.subject}: ${d.message}`), unrecorded, verified: c.rangesVerified, recorded: c.anchorEventsOnLog };
}

describe('AnchorCheck: the chain\'s anchors against the log, message by message', () => {
  const a0 = anchorOver(0, 1, 4);

  it('given a log whose ranges give the roots and whose AnchorPosted agree: no difference', async () => {
    // #5 is a0's AnchorPosted, anchored by a1 with #6..#7
    const log = [1, 2, 3, 4].map((n) => message(n));
    const p0 = posted(5, a0);
    const leaves = [p0, message(6), message(7)].map((m) => ({ seq: BigInt(m.seq), eventHash: eventHashOf(m.data) }));
    const a1: PostedAnchor = { index: 1, fromSeq: 5n, toSeq: 7n, root: buildAnchorTree(leaves).root };
    const r = await check([a0, a1], [...log, p0, message(6), message(7), posted(8, a1)]);
    expect(r).toEqual({ differences: [], unrecorded: [], verified: 2, recorded: 2 });
  });

  it('names the anchor, its range and both roots when one event of the range was altered', async () => {
    const r = await check([a0], [message(1), message(2), message(3, '{"n":3,"altered":true}'), message(4), posted(5, a0)]);
    expect(r.verified).toBe(0);
    expect(r.differences).toEqual([expect.stringMatching(new RegExp(`^anchor #0 \\[1, 4\\]: root on chain ${a0.root}, root of the log's events 0x[0-9a-f]{64}$`))]);
  });

  it('says how many events of a range the log lacks', async () => {
    const r = await check([a0], [message(1), message(2), message(4), posted(5, a0)]);
    expect(r.differences).toEqual(['anchor #0 [1, 4]: the log holds 3 of its 4 events']);
  });

  it('refuses ranges that are not contiguous from #1, and a range longer than an anchor may cover (never read into memory)', async () => {
    const late = anchorOver(0, 2, 4);
    expect((await check([late], [1, 2, 3, 4].map((n) => message(n)))).differences[0]).toBe('anchor #0 [2, 4]: ranges must be contiguous from #1: anchor #0 starts at #2, not #1');
    const huge: PostedAnchor = { index: 0, fromSeq: 1n, toSeq: BigInt(ANCHOR_RANGE_EVENTS_MAX + 1), root: a0.root };
    const r = await check([huge], [message(1)]);
    expect(r.differences).toEqual([`anchor #0 [1, ${ANCHOR_RANGE_EVENTS_MAX + 1}]: covers ${ANCHOR_RANGE_EVENTS_MAX + 1} events, more than an anchor may (${ANCHOR_RANGE_EVENTS_MAX}): its root is not rebuilt`]);
  });

  it('compares each AnchorPosted with the chain: another root, an anchor the chain lacks, one recorded twice', async () => {
    const log = [1, 2, 3, 4].map((n) => message(n));
    const forged = posted(5, { ...a0, root: `0x${'11'.repeat(32)}` });
    expect((await check([a0], [...log, forged])).differences).toEqual([
      `anchor #0 [1, 4]: the log's AnchorPosted (#5) says anchor #0 [1, 4] root 0x${'11'.repeat(32)}; the chain holds root ${a0.root}`,
    ]);
    const ghost = posted(6, { index: 1, fromSeq: 5n, toSeq: 5n, root: `0x${'22'.repeat(32)}` });
    expect((await check([a0], [...log, posted(5, a0), ghost])).differences).toEqual(['anchor #1 [5, 5]: the log records anchor #1 (#6), which the chain does not hold']);
    expect((await check([a0], [...log, posted(5, a0), posted(6, a0)])).differences).toEqual(['anchor #0 [1, 4]: the log records anchor #0 twice (#6)']);
  });

  it('an anchor posted after the count was read is compared with the chain read again; finish names the anchors the log has not recorded', async () => {
    const a1 = anchorOver(1, 5, 5);
    const r = await check([a0], [...[1, 2, 3, 4].map((n) => message(n)), posted(5, a1)], [a1]);
    expect(r).toMatchObject({ differences: [], unrecorded: [0], recorded: 1 });
  });
});
