import { decodeEvent, encodeEvent, type TradeEvent } from '@starminer/events';
import { audit } from '../testing/run-audit';
import { startAuditedMarket, type AuditedMarket } from '../testing/audited-market';

/** A scratch copy of the market's log (same sequences), so a tampered match never reaches the running market. */
const COPY_STREAM = 'AUDIT_MATCHING_COPY';
const COPY_PREFIX = 'auditcopy';

describe('audit matching: every JobMatched on the log re-run on the matching engine', () => {
  let m: AuditedMarket;

  beforeAll(async () => {
    m = await startAuditedMarket({ settled: 6, deadlineRefunded: 1 });
  }, 300_000);

  afterAll(async () => {
    await m?.stop();
  });

  it('gives every match the node, GPUs, price and receipt the log has', async () => {
    const { code, summary, stderr } = await audit(m.auditEnv, ['matching']);
    expect({ code, firstDifference: summary.firstDifference, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, firstDifference: undefined, stderr: '' });
    expect(summary).toMatchObject({ audit: 'matching', ok: true, differences: 0, undecodable: 0, refused: 0, rerunUnverifiable: {} });
    const jobs = m.jobs.settled.length + m.jobs.deadlineRefunded.length;
    expect(summary.matches).toBeGreaterThanOrEqual(jobs);
    expect(summary.rerunIdentical).toBe(summary.matches);
    expect(summary.pricesChecked).toBe(summary.matches);
  }, 180_000);

  it('names the job and carries both receipts when a match on a copy of the log was moved to another node', async () => {
    const jobId = m.jobs.settled[2]!;
    const log = m.market.log;
    const jsm = await log.jsm();
    await jsm.streams.add({ name: COPY_STREAM, subjects: [`${COPY_PREFIX}.>`] });
    let moved: { from: string; to: string } | undefined;
    try {
      const lastSeq = await log.lastSeq();
      const stored: { subject: string; data: Uint8Array; event: TradeEvent }[] = [];
      for (let seq = 1; seq <= lastSeq; seq++) {
        const msg = (await jsm.streams.getMessage(log.streamName, { seq }))!;
        stored.push({ subject: msg.subject, data: msg.data, event: decodeEvent(msg.data) as TradeEvent });
      }
      const nodes = stored.flatMap((s) => (s.event.type === 'NodeRegistered' ? [s.event.data] : []));
      for (const s of stored) {
        let data = s.data;
        const event = s.event;
        if (event.type === 'JobMatched' && event.data.jobId === jobId) {
          const to = nodes.find((n) => n.nodeId !== event.data.nodeId && n.gpuModel === 'L40S')!;
          moved = { from: event.data.nodeId, to: to.nodeId };
          const receipt = { ...event.data.receipt, winner: { ...(event.data.receipt.winner as object), nodeId: to.nodeId } };
          data = encodeEvent({ ...event, data: { ...event.data, nodeId: to.nodeId, nodeAddress: to.nodeAddress, receipt } });
        }
        await log.js.publish(`${COPY_PREFIX}${s.subject.slice(log.subjectPrefix.length)}`, data);
      }
      const { code, summary, differences } = await audit({ ...m.auditEnv, TRADE_STREAM: COPY_STREAM, TRADE_SUBJECT_PREFIX: COPY_PREFIX }, ['matching']);
      expect(code).toBe(1);
      expect(String(summary.firstDifference)).toContain(`job ${jobId}: JobMatched #`);
      // the re-run's difference (the node's own check may come first: the node it was moved to may be full)
      const rerun = differences.find((x) => x.subject === `job ${jobId}` && x.message.includes(`puts it on node ${moved!.to}`) && x.message.includes(`the engine re-run on the log's state gives node ${moved!.from}`));
      expect(rerun).toBeDefined();
      const d = rerun as { expected: { nodeId: string; receipt: { winner: { nodeId: string } } }; actual: { nodeId: string; receipt: { winner: { nodeId: string } } } };
      expect({ engine: d.expected.nodeId, engineReceipt: d.expected.receipt.winner.nodeId, log: d.actual.nodeId, logReceipt: d.actual.receipt.winner.nodeId }).toEqual({
        engine: moved!.from,
        engineReceipt: moved!.from,
        log: moved!.to,
        logReceipt: moved!.to,
      });
    } finally {
      await jsm.streams.delete(COPY_STREAM).catch(() => undefined);
    }
  }, 180_000);
});
