import { keccak256, type Hex } from 'viem';
import { artifacts, buildAnchorTree, postAnchor, verifyAnchoredEvent } from '@starminer/chain';
import { EXAMPLE_EVENT_DATA, type EventData } from '@starminer/events';
import { appendDrafts, countEvents, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import { DeployerModule } from '../deployer.module';
import { AnchorService } from './anchor.service';

let infra: TestInfra;
let deployer: ServiceUnderTest;
let anchors: AnchorService;

beforeAll(async () => {
  infra = await startTestInfra({ chain: true });
  // the spec drives the rounds itself: the ticker's first round would come after a day
  deployer = await startService(DeployerModule, infra, { ANCHOR_INTERVAL_MS: String(24 * 3600_000) });
  anchors = deployer.app.get(AnchorService);
}, 120_000);

afterAll(async () => {
  await deployer?.stop();
  await infra?.stop();
});

const chain = () => ({ publicClient: infra.chain!.clients.publicClient, addresses: infra.chain!.addresses });
const abi = () => artifacts().AuditAnchor.abi;
const onChain = (index: number) => chain().publicClient.readContract({ address: chain().addresses.anchor, abi: abi(), functionName: 'getAnchor', args: [BigInt(index)] });
const anchorCount = () => chain().publicClient.readContract({ address: chain().addresses.anchor, abi: abi(), functionName: 'anchorCount' });
const lastSeq = () => infra.log.lastSeq();
const anchorPosted = async (index: number) => (await infra.log.readSubject(`trade.anchor.${index}`)).events.map((e) => e.event);
/** The leaves of [fromSeq, toSeq] computed here, from the stream's stored bytes. */
async function leavesOf(fromSeq: number, toSeq: number): Promise<{ seq: bigint; eventHash: Hex }[]> {
  const jsm = await infra.log.jsm();
  const leaves = [];
  for (let seq = fromSeq; seq <= toSeq; seq += 1) leaves.push({ seq: BigInt(seq), eventHash: keccak256((await jsm.streams.getMessage(infra.log.streamName, { seq }))!.data) });
  return leaves;
}
const someJobEvents = (jobId: string) => appendDrafts(infra.log, 'job', jobId, [{ type: 'JobSubmitted', data: { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId } }]);

describe('anchoring the log on chain', () => {
  it('given events not yet anchored, when anchorOnce runs, then their Merkle root is on chain and AnchorPosted is on the log once; a second round appends nothing', async () => {
    await someJobEvents('job-anchor-1');
    await someJobEvents('job-anchor-2');
    const toSeq = await lastSeq();
    const range = await anchors.anchorOnce();
    expect(range).toEqual({ index: 0, fromSeq: 1, toSeq });
    const tree = buildAnchorTree(await leavesOf(1, toSeq));
    expect(await onChain(0)).toMatchObject({ fromSeq: 1n, toSeq: BigInt(toSeq), root: tree.root });
    const [posted, ...more] = await anchorPosted(0);
    expect(more).toEqual([]);
    expect(posted).toMatchObject({ type: 'AnchorPosted', actor: 'service:deployer', data: { index: 0, fromSeq: 1, toSeq, root: tree.root, txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) } });
    // anyone can prove an event's place in the anchored range
    const [leaf] = await leavesOf(toSeq, toSeq);
    expect(await verifyAnchoredEvent(chain().publicClient, { addresses: chain().addresses, index: 0, seq: leaf.seq, eventHash: leaf.eventHash, proof: tree.proof(leaf.seq) })).toBe(true);

    // only its own AnchorPosted is new: nothing to anchor, nothing appended
    const before = await countEvents(infra.log, 'trade.>');
    expect(await anchors.anchorOnce()).toBeUndefined();
    expect(await countEvents(infra.log, 'trade.>')).toBe(before);
    expect(await anchorCount()).toBe(1n);
  });

  it('given new market events after an anchor, then the next round anchors from where the chain stopped, AnchorPosted of the round before included', async () => {
    const fromSeq = Number((await onChain(Number(await anchorCount()) - 1)).toSeq) + 1;
    await someJobEvents('job-anchor-3');
    const toSeq = await lastSeq();
    const range = await anchors.anchorOnce();
    expect(range).toMatchObject({ fromSeq, toSeq });
    expect((await anchorPosted(range!.index)).map((e) => (e.data as EventData<'AnchorPosted'>).root)).toEqual([buildAnchorTree(await leavesOf(fromSeq, toSeq)).root]);
  });

  it('given rounds at once (a tick and an operator), then each range is anchored once', async () => {
    await someJobEvents('job-anchor-4');
    const countBefore = await anchorCount();
    const ranges = await Promise.all([anchors.anchorOnce(), anchors.anchorOnce(), anchors.anchorOnce()]);
    expect(ranges.filter((r) => r !== undefined)).toHaveLength(1);
    expect(await anchorCount()).toBe(countBefore + 1n);
  });

  it('given an anchor posted on chain whose AnchorPosted never reached the log (a crash in between), then the next round records it from the chain, once', async () => {
    await someJobEvents('job-anchor-5');
    const index = Number(await anchorCount());
    const fromSeq = Number((await onChain(index - 1)).toSeq) + 1;
    const toSeq = await lastSeq();
    const root = buildAnchorTree(await leavesOf(fromSeq, toSeq)).root;
    // the deployer's post, without its event
    const wallet = infra.chain!.clients.wallet(infra.chain!.roles.deployer);
    const posted = await postAnchor(wallet, chain().publicClient, { addresses: chain().addresses, fromSeq: BigInt(fromSeq), toSeq: BigInt(toSeq), root });
    expect(posted.index).toBe(index);
    expect(await anchorPosted(index)).toEqual([]);

    expect(await anchors.anchorOnce()).toBeUndefined(); // the recorded event is the only new one
    const [recorded, ...more] = await anchorPosted(index);
    expect(more).toEqual([]);
    expect(recorded.data).toEqual({ index, fromSeq, toSeq, root, txHash: posted.txHash });
    await anchors.anchorOnce();
    expect(await anchorPosted(index)).toHaveLength(1);
  });

  it('given a chain rolled back under a recorded anchor, then the next round posts the recorded range and root again at the same index, once', async () => {
    await someJobEvents('job-anchor-rollback');
    const snapshot = await chain().publicClient.request({ method: 'evm_snapshot', params: [] } as never);
    const range = await anchors.anchorOnce();
    expect(range).toBeDefined();
    const [recorded] = await anchorPosted(range!.index);
    const data = recorded.data as EventData<'AnchorPosted'>;
    await chain().publicClient.request({ method: 'evm_revert', params: [snapshot] } as never);
    expect(await anchorCount()).toBe(BigInt(range!.index));

    expect(await anchors.anchorOnce()).toBeUndefined(); // only its own AnchorPosted is new
    expect(await anchorCount()).toBe(BigInt(range!.index + 1));
    expect(await onChain(range!.index)).toMatchObject({ fromSeq: BigInt(data.fromSeq), toSeq: BigInt(data.toSeq), root: data.root });
    expect(await anchorPosted(range!.index)).toHaveLength(1);
    await anchors.anchorOnce();
    expect(await anchorCount()).toBe(BigInt(range!.index + 1));
  });
});
