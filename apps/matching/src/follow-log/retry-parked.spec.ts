import { COMMANDS, EXAMPLE_EVENT_DATA, type TradeEvent } from '@starminer/events';
import { appendDrafts, eventually, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import { ParkingLot } from '@starminer/trade-log';
import { DataSource } from 'typeorm';
import { MatchingModule } from '../matching.module';
import { FOLLOWER } from './log-follower';

const AGPU = 10n ** 18n;
let infra: TestInfra;
let matching: ServiceUnderTest | undefined;

beforeAll(async () => {
  infra = await startTestInfra();
}, 60_000);

afterAll(async () => {
  await matching?.stop();
  await infra?.stop();
});

const jobEvents = async (jobId: string): Promise<TradeEvent[]> => (await infra.log.readSubject(`trade.job.${jobId}`)).events.map((e) => e.event as TradeEvent);
const submit = (jobId: string) =>
  appendDrafts(infra.log, 'job', jobId, [
    {
      type: 'JobSubmitted',
      data: { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId, budgetWei: 100n * AGPU, requirements: { gpuModels: ['A40'], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] } },
    },
  ]);

describe('re-applying a parked event in the engine', () => {
  it('given a node event parked by an earlier version, when the operator re-applies it, then the node serves jobs, also after a restart', async () => {
    // an earlier version parked this node's registration (its engine refused it); the event is valid today
    const [registered, online] = await appendDrafts(infra.log, 'node', 'node-r', [
      { type: 'NodeRegistered', data: { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId: 'node-r', gpuModel: 'A40', vramGiB: 48, poolId: undefined } },
      { type: 'NodeAvailabilityChanged', data: { nodeId: 'node-r', online: true, reason: 'registered' } },
    ]);
    const ds = new DataSource({ type: 'postgres', url: infra.db.url });
    await ds.initialize();
    const lot = new ParkingLot(ds, 'matching');
    await lot.ensureTable();
    await lot.park(ds.manager, { reader: FOLLOWER, seq: registered, subject: 'trade.node.node-r', type: 'NodeRegistered', key: 'node-r', error: 'refused by engine 1.0', blockedBy: null, attempts: 1 });
    await ds.destroy();

    matching = await startService(MatchingModule, infra);
    await submit('job-r1');
    await eventually(async () => (await jobEvents('job-r1')).some((e) => e.type === 'JobWaiting'), 20_000);
    // the node's later event waits behind its parked registration
    expect((await matching.bus.send(COMMANDS.matching.listParked, {})).parked.map((p) => p.seq)).toEqual([registered, online]);

    const retried = await matching.bus.send(COMMANDS.matching.retryParked, { reader: FOLLOWER, key: 'node-r' });
    expect(retried).toEqual({ applied: 2, stillParked: [] });
    // committed with the re-apply: the snapshot holds the node, so a crash now would not lose it
    const snapshot = await matching.rt.db.query('SELECT body FROM matching.engine_snapshots');
    expect(snapshot[0].body.nodes.map((n: { nodeId: string }) => n.nodeId)).toContain('node-r');
    await eventually(async () => (await jobEvents('job-r1')).some((e) => e.type === 'JobMatched'), 20_000);

    // a restart rebuilds from the snapshot taken with the re-apply: the node is still there
    await matching.stop();
    matching = await startService(MatchingModule, infra);
    await appendDrafts(infra.log, 'job', 'job-r1', [{ type: 'JobFailed', data: { jobId: 'job-r1', code: 'TEST', reason: 'frees the node' } }]);
    await submit('job-r2');
    await eventually(async () => (await jobEvents('job-r2')).some((e) => e.type === 'JobMatched'), 20_000);
    const matched = (await jobEvents('job-r2')).find((e) => e.type === 'JobMatched');
    expect(matched?.type === 'JobMatched' && matched.data.nodeId).toBe('node-r');
    expect((await matching.bus.send(COMMANDS.matching.listParked, {})).parked).toEqual([]);
  }, 90_000);
});
