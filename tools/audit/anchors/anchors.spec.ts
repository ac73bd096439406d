import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { keccak256, type Hex } from 'viem';
import { findAnchorOfSeq, readAnchor, readAnchorCount, verifyAnchoredEvent } from '@starminer/chain';
import { createClient, StarMinerApiError } from '@starminer/sdk';
import { connectTradeLog, type TradeLog } from '@starminer/trade-log';
import { jobRequest, OPERATOR_TOKEN } from '../../../apps/gateway/test/market-harness';
import { startAuditedMarket, type AuditedMarket } from '../testing/audited-market';
import { audit } from '../testing/run-audit';

/** What `audit prove --out` writes. */
interface ProofDocument {
  event: { id: string; type: string; seq: number; subject: string; eventHash: Hex; message: string };
  leaf: { encoding: string[]; value: [string, Hex] };
  anchor: { index: number; fromSeq: number; toSeq: number; root: Hex; txHash: Hex | null };
  proof: Hex[];
  chain: { chainId: number; anchorContract: Hex };
  checks: { merkleTree: boolean; chainVerifyEvent: boolean };
  howToVerify: string[];
}

const TAMPER_STREAM = 'AUDITTAMPER';
const TAMPER_PREFIX = 'audittamper';

describe('audit anchors and prove: the log anchored on chain, event by event', () => {
  let m: AuditedMarket;
  let dir: string;

  beforeAll(async () => {
    m = await startAuditedMarket({ settled: 3 });
    dir = mkdtempSync(join(tmpdir(), 'audit-anchors-'));
  }, 300_000);

  afterAll(async () => {
    await m?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // every answer of the gateway is one its OpenAPI document describes
  afterEach(() => {
    expect(m.market.api.take()).toEqual([]);
  });

  it("anchors: every anchor on chain equals its AnchorPosted and the root of its range's events; the tail not anchored is a figure", async () => {
    const { code, summary, stderr } = await audit(m.auditEnv, ['anchors']);
    expect({ code, firstDifference: summary.firstDifference, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, firstDifference: undefined, stderr: '' });
    expect(summary).toMatchObject({ audit: 'anchors', ok: true, differences: 0 });
    const anchors = summary.anchors as number;
    expect(anchors).toBeGreaterThan(0);
    expect(summary.rangesVerified).toBe(anchors);
    // the deployer goes on anchoring: an anchor posted after the audit read the chain's count may be on the log too
    expect(summary.anchorEventsOnLog as number).toBeGreaterThanOrEqual(anchors);
    expect(summary.anchoredThroughSeq as number).toBeGreaterThan(0);
    expect(summary.unanchoredEvents).toBe((summary.lastSeq as number) - (summary.anchoredThroughSeq as number));
    expect(summary.eventsRead).toBe(summary.lastSeq);
  }, 120_000);

  it('prove <event-id>: writes a proof anyone checks with @openzeppelin/merkle-tree and the chain', async () => {
    const jobId = m.jobs.settled[0]!;
    const { events } = await m.market.log.readSubject(`trade.job.${jobId}`);
    const submitted = events.find((e) => e.event.type === 'JobSubmitted')!;
    const out = join(dir, 'proof.json');
    const { code, summary, stderr } = await audit(m.auditEnv, ['prove', submitted.event.id, '--out', out]);
    expect({ code, firstDifference: summary.firstDifference, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, firstDifference: undefined, stderr: '' });
    expect(summary).toMatchObject({ audit: 'prove', ok: true, seq: submitted.seq, merkleTree: true, chainVerifyEvent: true });

    // the auditor's reader checks it with the library and the chain alone
    const doc = JSON.parse(readFileSync(out, 'utf8')) as ProofDocument;
    expect(doc.event).toMatchObject({ id: submitted.event.id, type: 'JobSubmitted', seq: submitted.seq, subject: `trade.job.${jobId}` });
    expect(keccak256(new TextEncoder().encode(doc.event.message))).toBe(doc.event.eventHash);
    expect(doc.leaf).toEqual({ encoding: ['uint64', 'bytes32'], value: [String(submitted.seq), doc.event.eventHash] });
    expect(StandardMerkleTree.verify(doc.anchor.root, doc.leaf.encoding, [BigInt(doc.event.seq), doc.event.eventHash], doc.proof)).toBe(true);
    expect(StandardMerkleTree.verify(doc.anchor.root, doc.leaf.encoding, [BigInt(doc.event.seq), keccak256(new TextEncoder().encode(`${doc.event.message} `))], doc.proof)).toBe(false);
    const onChain = await readAnchor(m.market.chain.publicClient, { addresses: m.market.addresses, index: doc.anchor.index });
    expect({ root: onChain.root, fromSeq: Number(onChain.fromSeq), toSeq: Number(onChain.toSeq) }).toEqual({ root: doc.anchor.root, fromSeq: doc.anchor.fromSeq, toSeq: doc.anchor.toSeq });
    expect(doc.chain).toEqual({ chainId: m.market.anvil.chainId, anchorContract: m.market.addresses.anchor });
    expect(await verifyAnchoredEvent(m.market.chain.publicClient, { addresses: m.market.addresses, index: doc.anchor.index, seq: BigInt(doc.event.seq), eventHash: doc.event.eventHash, proof: doc.proof })).toBe(true);
    expect(doc.anchor.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(doc.howToVerify.join('\n')).toContain('StandardMerkleTree.verify');
  }, 120_000);

  it('prove --seq: the proof on stderr; a sequence past the log: exit 1', async () => {
    const { code, summary, stderr } = await audit(m.auditEnv, ['prove', '--seq', '1']);
    expect({ code, firstDifference: summary.firstDifference }).toEqual({ code: 0, firstDifference: undefined });
    expect(summary).toMatchObject({ seq: 1, anchorIndex: 0, merkleTree: true, chainVerifyEvent: true });
    expect(stderr).toContain('"proof": [');

    const past = (await m.market.log.lastSeq()) + 1_000;
    const missing = await audit(m.auditEnv, ['prove', '--seq', String(past)]);
    expect(missing.code).toBe(1);
    expect(String(missing.summary.firstDifference)).toBe(`event #${past}: is not on the log TRADE (trade.>)`);
    expect((await audit(m.auditEnv, ['prove'])).code).toBe(2);
  }, 120_000);

  it("GET /v1/jobs/:id/proofs: the job's events as stored, each proven in its anchor, to its own org only", async () => {
    const jobId = m.jobs.settled[1]!;
    const proofs = await m.requester.getJobProofs({ jobId });
    expect(proofs).toMatchObject({ jobId, chainId: m.market.anvil.chainId, anchorContract: m.market.addresses.anchor, leafEncoding: ['uint64', 'bytes32'] });
    const [job, contract] = await Promise.all([m.market.log.readSubject(`trade.job.${jobId}`), m.market.log.readSubject(`trade.contract.${jobId}`)]);
    const onLog = [...job.events, ...contract.events].sort((a, b) => a.seq - b.seq);
    expect(proofs.events.map((e) => [e.seq, e.subject, e.envelope.id])).toEqual(onLog.map((e) => [e.seq, e.subject, e.event.id]));
    expect(proofs.events.some((e) => e.subject === `trade.contract.${jobId}`)).toBe(true);
    // the fixture waited for an anchor past the job's end: every event is proven
    expect(proofs.anchoredThroughSeq).toBeGreaterThanOrEqual(onLog[onLog.length - 1]!.seq);
    const jsm = await m.market.log.jsm();
    for (const e of proofs.events) {
      const stored = await jsm.streams.getMessage(m.market.log.streamName, { seq: e.seq });
      expect(new TextDecoder().decode(stored!.data)).toBe(e.message);
      expect(e.eventHash).toBe(keccak256(stored!.data));
      expect(JSON.parse(e.message)).toEqual(e.envelope);
      expect(e.anchor).not.toBeNull();
      expect(e.seq).toBeGreaterThanOrEqual(e.anchor!.fromSeq);
      expect(e.seq).toBeLessThanOrEqual(e.anchor!.toSeq);
      expect(StandardMerkleTree.verify(e.anchor!.root, proofs.leafEncoding, [BigInt(e.seq), e.eventHash], e.proof!)).toBe(true);
    }
    const last = proofs.events[proofs.events.length - 1]!;
    const chainAnchor = await findAnchorOfSeq(m.market.chain.publicClient, { addresses: m.market.addresses, seq: BigInt(last.seq) });
    expect(chainAnchor).toMatchObject({ index: last.anchor!.index, root: last.anchor!.root });
    expect(await verifyAnchoredEvent(m.market.chain.publicClient, { addresses: m.market.addresses, index: last.anchor!.index, seq: BigInt(last.seq), eventHash: last.eventHash as Hex, proof: last.proof as Hex[] })).toBe(true);
    // asked again, the trees come from the gateway's cache: the same answer
    expect(await m.requester.getJobProofs({ jobId })).toEqual(proofs);

    const admin = createClient({ baseUrl: m.market.gatewayUrl, fetch: m.market.api.fetch });
    const other = await admin.createOrg({ operatorToken: OPERATOR_TOKEN, name: 'Someone else' });
    const stranger = createClient({ baseUrl: m.market.gatewayUrl, fetch: m.market.api.fetch, apiKey: other.apiKey });
    const refused = await stranger.getJobProofs({ jobId }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(StarMinerApiError);
    expect({ status: (refused as StarMinerApiError).status, code: (refused as StarMinerApiError).code }).toEqual({ status: 404, code: 'JOB_NOT_FOUND' });
    const unknown = await m.requester.getJobProofs({ jobId: 'no-such-job' }).catch((err: unknown) => err);
    expect({ status: (unknown as StarMinerApiError).status, code: (unknown as StarMinerApiError).code }).toEqual({ status: 404, code: 'JOB_NOT_FOUND' });
  }, 120_000);

  describe('a scratch copy of the log with one event altered', () => {
    let copy: TradeLog;
    let altered: { seq: number; subject: string };
    let extraSeq: number;
    const env = (): Record<string, string> => ({ ...m.auditEnv, TRADE_STREAM: TAMPER_STREAM, TRADE_SUBJECT_PREFIX: TAMPER_PREFIX });

    beforeAll(async () => {
      copy = await connectTradeLog({ servers: m.market.infra.nats.url, name: 'audit-tamper', streamName: TAMPER_STREAM, subjectPrefix: TAMPER_PREFIX });
      await copy.ensureStream();
      const jobId = m.jobs.settled[2]!;
      const target = (await m.market.log.readSubject(`trade.job.${jobId}`)).events.find((e) => e.event.type === 'JobSubmitted')!;
      altered = { seq: target.seq, subject: target.subject };
      // no anchor is posted while the log is copied: the copy then holds every anchored event and every AnchorPosted
      await m.market.stopService('deployer');
      const count = await readAnchorCount(m.market.chain.publicClient, { addresses: m.market.addresses });
      for (const until = Date.now() + 10_000; (await m.market.log.readSubject(`trade.anchor.${count - 1}`)).events.length === 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 100));
      const through = await m.market.log.lastSeq();
      // every message of the log in order, re-prefixed, so each keeps its sequence; one event's budget changed
      const jsm = await m.market.log.jsm();
      for (let seq = 1; seq <= through; seq += 1) {
        const msg = (await jsm.streams.getMessage(m.market.log.streamName, { seq }))!;
        let data = msg.data;
        if (seq === altered.seq) {
          const text = new TextDecoder().decode(data);
          const changed = text.replace(/"budgetWei":"(\d)/, (_all, d: string) => `"budgetWei":"${d === '9' ? '8' : '9'}`);
          expect(changed).not.toBe(text);
          data = new TextEncoder().encode(changed);
        }
        const ack = await copy.js.publish(`${TAMPER_PREFIX}.${msg.subject.slice('trade.'.length)}`, data);
        expect(ack.seq).toBe(seq);
      }
      // and one event after the last anchor: on the copy, not anchored
      const tail = (await jsm.streams.getMessage(m.market.log.streamName, { seq: altered.seq }))!;
      extraSeq = (await copy.js.publish(`${TAMPER_PREFIX}.job.${jobId}`, tail.data)).seq;
    }, 180_000);

    afterAll(async () => {
      await copy?.close();
    });

    it('anchors --stream <copy> --prefix: exit 1, naming the anchor, its range and both roots', async () => {
      const anchor = (await findAnchorOfSeq(m.market.chain.publicClient, { addresses: m.market.addresses, seq: BigInt(altered.seq) }))!;
      const { code, summary, stderr } = await audit(env(), ['anchors', '--stream', TAMPER_STREAM, '--prefix', TAMPER_PREFIX]);
      expect(code).toBe(1);
      expect(summary).toMatchObject({ audit: 'anchors', ok: false, differences: 1 });
      expect(String(summary.firstDifference)).toMatch(new RegExp(`^anchor #${anchor.index} \\[${anchor.fromSeq}, ${anchor.toSeq}\\]: root on chain ${anchor.root}, root of the log's events 0x[0-9a-f]{64}$`));
      const line = stderr.split('\n').find((l) => l.startsWith('{"difference"'))!;
      const d = JSON.parse(line).difference as { expected: { root: string }; actual: { root: string } };
      expect(d.expected.root).toBe(anchor.root);
      expect(d.actual.root).not.toBe(anchor.root);
    }, 120_000);

    it('prove on the copy: the altered event fails its anchor; one past the anchors is not anchored yet (exit 1)', async () => {
      const tampered = await audit(env(), ['prove', '--seq', String(altered.seq), '--stream', TAMPER_STREAM, '--prefix', TAMPER_PREFIX]);
      expect(tampered.code).toBe(1);
      expect(String(tampered.summary.firstDifference)).toMatch(/^anchor #\d+ \[\d+, \d+\]: .*root on chain 0x[0-9a-f]{64}, root of the log's events 0x[0-9a-f]{64}$/);
      const unanchored = await audit(env(), ['prove', '--seq', String(extraSeq), '--stream', TAMPER_STREAM, '--prefix', TAMPER_PREFIX]);
      expect(unanchored.code).toBe(1);
      expect(String(unanchored.summary.firstDifference)).toMatch(new RegExp(`^event #${extraSeq}: #${extraSeq} is not anchored yet`));
    }, 120_000);

    it('GET /v1/jobs/:id/proofs of a job submitted after the last anchor (the deployer is stopped): its events with anchor and proof null', async () => {
      const { jobId } = await m.requester.submitJob({ job: jobRequest({ requirements: { gpuModels: ['L40S'], minVramGiB: 0 } }) as never });
      const proofs = await m.requester.getJobProofs({ jobId });
      expect(proofs.events.length).toBeGreaterThan(0);
      expect(proofs.events[0]!.envelope.type).toBe('JobSubmitted');
      for (const e of proofs.events) {
        expect(e.seq).toBeGreaterThan(proofs.anchoredThroughSeq);
        expect({ anchor: e.anchor, proof: e.proof }).toEqual({ anchor: null, proof: null });
        expect(e.eventHash).toBe(keccak256(new TextEncoder().encode(e.message)));
      }
    }, 120_000);
  });
});

