import { COMMANDS, EXAMPLE_EVENT_DATA, toJson, type TradeEvent } from '@starminer/events';
import { appendDrafts, countEvents, eventually, getJson, publishRaw, rawEvent, serviceUnderTest } from '@starminer/service-testing';
import { NodeRow } from '../nodes/node-row.entity';
import { NodesProjection } from '../nodes/nodes.projection';
import { nodeKey, nodeRegisteredDraft, registration } from '../registration.fixture';
import { RegistryModule } from '../registry.module';
import { OUTCOMES_DURABLE } from './outcomes.consumer';

const under = serviceUnderTest(RegistryModule);

const register = (nodeId: string, nodeAddress: string) => under.service.bus.send(COMMANDS.registry.registerNode, { nodeAddress, registration: registration(nodeId) });
const opened = (jobId: string, nodeAddress: string) => ({ type: 'ContractOpened' as const, data: { ...EXAMPLE_EVENT_DATA.ContractOpened, jobId, nodeAddress } });
const released = (jobId: string, nodeAddress: string) => ({ type: 'ContractReleased' as const, data: { ...EXAMPLE_EVENT_DATA.ContractReleased, jobId, nodeAddress } });
const refunded = (jobId: string) => ({ type: 'ContractRefunded' as const, data: { ...EXAMPLE_EVENT_DATA.ContractRefunded, jobId } });
const reputationMoves = async (nodeId: string) =>
  (await under.infra.log.readSubject<TradeEvent>(`trade.node.${nodeId}`)).events.flatMap((e) => (e.event.type === 'NodeReputationChanged' ? [{ ...e.event.data, causationId: e.event.causationId }] : []));
/** Resolves once the outcomes consumer has handled (or parked) everything up to `seq`. */
const outcomesReached = (seq: number) => eventually(() => (under.service.rt.reader(OUTCOMES_DURABLE)?.health().position ?? 0) >= seq);

describe(`the outcomes consumer (${OUTCOMES_DURABLE})`, () => {
  it('given a ContractReleased for a job opened on the node key, delivered twice (and released twice), then the reputation moves once', async () => {
    const key = nodeKey('31');
    await register('node-p1', key);
    const [, releaseSeq] = await appendDrafts(under.infra.log, 'contract', 'job-p1', [opened('job-p1', key), released('job-p1', key)]);
    const release = (await under.infra.log.readSubject('trade.contract.job-p1')).events.find((e) => e.seq === releaseSeq)!.event;
    // the same event again (same id: a redelivery as a consumer sees it), and a second release of the job
    await publishRaw(under.infra.log, 'trade.contract.job-p1', toJson(release));
    const [last] = await appendDrafts(under.infra.log, 'contract', 'job-p1', [released('job-p1', key)]);
    await outcomesReached(last);

    expect(await reputationMoves('node-p1')).toEqual([{ nodeId: 'node-p1', reputation: 0.55, jobId: 'job-p1', reason: 'job released', causationId: release.id }]);
    await eventually(async () => (await under.service.rt.db.getRepository(NodeRow).findOneBy({ nodeId: 'node-p1' }))?.reputation === 0.55);
  });

  it('given a ContractRefunded of a job opened on the node key, then the reputation moves down, found through the ContractOpened', async () => {
    const key = nodeKey('32');
    await register('node-p2', key);
    const [, last] = await appendDrafts(under.infra.log, 'contract', 'job-p2', [opened('job-p2', key), refunded('job-p2')]);
    await outcomesReached(last);
    expect((await reputationMoves('node-p2')).map((m) => [m.reputation, m.jobId, m.reason])).toEqual([[0.45, 'job-p2', 'job refunded']]);
  });

  it('given a node registered before keys were bound (no NodeKeyBound), then its outcome still moves its reputation (the read model knows the key)', async () => {
    const key = nodeKey('33');
    const [registered] = await appendDrafts(under.infra.log, 'node', 'node-p3', [nodeRegisteredDraft('node-p3', key)]);
    await under.service.app.get(NodesProjection).waitUntil(registered);
    const [, last] = await appendDrafts(under.infra.log, 'contract', 'job-p3', [opened('job-p3', key), released('job-p3', key)]);
    await outcomesReached(last);
    expect((await reputationMoves('node-p3')).map((m) => m.reputation)).toEqual([0.55]);
  });

  it('given outcomes with no node to move (a refund of a job that never opened, a key no node registered), then they are skipped and nothing is appended', async () => {
    const before = await countEvents(under.infra.log, 'trade.node.>');
    await appendDrafts(under.infra.log, 'contract', 'job-p4', [refunded('job-p4')]);
    const [last] = await appendDrafts(under.infra.log, 'contract', 'job-p5', [released('job-p5', nodeKey('3f'))]);
    await outcomesReached(last);
    expect(await countEvents(under.infra.log, 'trade.node.>')).toBe(before);
    expect((await under.service.bus.send(COMMANDS.registry.listParked, {})).parked).toEqual([]);
  });
});

describe('outcomes the under.service cannot handle', () => {
  it('an outcome the catalogue refuses is parked; the next outcomes are handled; readiness stays up; the operator lists it', async () => {
    const bad = rawEvent('ContractReleased', 'job-bad', { ...JSON.parse(toJson(EXAMPLE_EVENT_DATA.ContractReleased)), jobId: 'job-bad', amountWei: '-1' });
    const badSeq = await publishRaw(under.infra.log, 'trade.contract.job-bad', bad);
    const key = nodeKey('34');
    await register('node-p6', key);
    const [, last] = await appendDrafts(under.infra.log, 'contract', 'job-p6', [opened('job-p6', key), released('job-p6', key)]);
    await outcomesReached(last);
    expect((await reputationMoves('node-p6')).map((m) => m.reputation)).toEqual([0.55]);

    const { parked } = await under.service.bus.send(COMMANDS.registry.listParked, {});
    expect(parked).toEqual([expect.objectContaining({ reader: OUTCOMES_DURABLE, seq: badSeq, type: 'ContractReleased', key: 'job-bad', blockedBy: null })]);
    const ready = await getJson(`${under.service.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.details.readers[OUTCOMES_DURABLE]).toMatchObject({ parked: 1, critical: false });
  });

  it('an outcome for a node whose events cannot be read is parked at once (non-retryable), not retried for minutes', async () => {
    const key = nodeKey('35');
    await register('node-p7', key);
    // an older writer left an event on the node the catalogue refuses: its aggregate cannot be folded
    await publishRaw(under.infra.log, 'trade.node.node-p7', rawEvent('NodeReputationChanged', 'node-p7', { nodeId: 'node-p7', reputation: 7, jobId: 'job-x', reason: 'broken' }));
    const [, releaseSeq] = await appendDrafts(under.infra.log, 'contract', 'job-p7', [opened('job-p7', key), released('job-p7', key)]);
    await outcomesReached(releaseSeq);
    const { parked } = await under.service.bus.send(COMMANDS.registry.listParked, {});
    expect(parked).toContainEqual(expect.objectContaining({ reader: OUTCOMES_DURABLE, seq: releaseSeq, key: 'job-p7', attempts: 1, error: expect.stringMatching(/^non-retryable: .*trade.node.node-p7/) }));
  });
});
