import { COMMANDS, EXAMPLE_EVENT_DATA, toJson, type TradeEvent } from '@starminer/events';
import { appendDrafts, eventually, getJson, publishRaw, rawEvent, serviceUnderTest } from '@starminer/service-testing';
import { MatchingModule } from '../matching.module';

const AGPU = 10n ** 18n;
const under = serviceUnderTest(MatchingModule);

const node = (nodeId: string, over: Record<string, unknown> = {}) => ({
  ...EXAMPLE_EVENT_DATA.NodeRegistered,
  nodeId,
  nodeAddress: `0x${nodeId.length.toString(16).padStart(2, '0').repeat(20)}`,
  gpuModel: 'L40S',
  vramGiB: 48,
  gpuCount: 4,
  region: 'eu-central',
  poolId: undefined,
  ...over,
});
const job = (jobId: string) => ({
  ...EXAMPLE_EVENT_DATA.JobSubmitted,
  jobId,
  budgetWei: 100n * AGPU,
  requirements: { gpuModels: ['L40S'], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] },
  deadlineSec: 3600,
  expectedRuntimeSec: 600,
});
const jobEvents = async (jobId: string): Promise<TradeEvent[]> => (await under.infra.log.readSubject(`trade.job.${jobId}`)).events.map((e) => e.event as TradeEvent);

describe('the engine follows the log, and no single event stops it', () => {
  it('parks a 32-GPU node an older version let onto the log (and its later events), and goes on under.service with the rest', async () => {
    // written by an older gateway, past today's encoder: the catalogue now refuses more than LIMITS.gpusPerNodeMax GPUs
    const big = rawEvent('NodeRegistered', 'node-huge', { ...JSON.parse(toJson(node('node-huge'))), gpuCount: 32 });
    const bigSeq = await publishRaw(under.infra.log, 'trade.node.node-huge', big);
    const [onlineSeq] = await appendDrafts(under.infra.log, 'node', 'node-huge', [{ type: 'NodeAvailabilityChanged', data: { nodeId: 'node-huge', online: true, reason: 'registered' } }]);
    await appendDrafts(under.infra.log, 'node', 'node-ok', [
      { type: 'NodeRegistered', data: node('node-ok') },
      { type: 'NodeAvailabilityChanged', data: { nodeId: 'node-ok', online: true, reason: 'registered' } },
    ]);
    await appendDrafts(under.infra.log, 'job', 'job-f1', [{ type: 'JobSubmitted', data: job('job-f1') }]);
    await eventually(async () => (await jobEvents('job-f1')).some((e) => e.type === 'JobMatched'), 20_000);
    const matched = (await jobEvents('job-f1')).find((e) => e.type === 'JobMatched');
    expect(matched?.type === 'JobMatched' && matched.data.nodeId).toBe('node-ok');

    const listed = await under.service.bus.send(COMMANDS.matching.listParked, {});
    expect(listed.parked.map((p) => [p.reader, p.seq, p.key, p.blockedBy])).toEqual([
      ['engine', bigSeq, 'node-huge', null],
      ['engine', onlineSeq, 'node-huge', bigSeq],
    ]);
    expect(listed.parked[0].error).toMatch(/gpuCount/);
    // the follower is not critical: under.service stays ready, and says what it parked
    const ready = await getJson(`${under.service.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.details.readers.engine).toMatchObject({ kind: 'follower', state: 'running', parked: 2, critical: false });

    // re-applying cannot help while the event is still over the limit: it stays parked with its error
    const retried = await under.service.bus.send(COMMANDS.matching.retryParked, { reader: 'engine', key: 'node-huge' });
    expect(retried.applied).toBe(0);
    expect(retried.stillParked.map((p) => p.seq)).toEqual([bigSeq, onlineSeq]);
  }, 60_000);

  it('parks a job event it cannot decode, and the next job is matched', async () => {
    const badSeq = await publishRaw(under.infra.log, 'trade.job.job-bad', 'not json {');
    await appendDrafts(under.infra.log, 'job', 'job-f2', [{ type: 'JobSubmitted', data: job('job-f2') }]);
    await eventually(async () => (await jobEvents('job-f2')).some((e) => e.type === 'JobMatched'), 20_000);
    const listed = await under.service.bus.send(COMMANDS.matching.listParked, { after: { seq: badSeq - 1, reader: '' } });
    expect(listed.parked[0]).toMatchObject({ seq: badSeq, key: 'job-bad', type: null });
    expect((await getJson(`${under.service.url}/health/live`)).status).toBe(200);
  }, 60_000);

  it('parks a node whose GPU model the price book lacks, naming the model, and the next job is matched', async () => {
    // the registry refuses such a node today; one on the log (an older catalogue, a model since dropped) must not stop the engine
    const [b200Seq] = await appendDrafts(under.infra.log, 'node', 'node-b200', [{ type: 'NodeRegistered', data: node('node-b200', { gpuModel: 'B200', vramGiB: 192, gpuCount: 8 }) }]);
    await appendDrafts(under.infra.log, 'job', 'job-f3', [{ type: 'JobSubmitted', data: job('job-f3') }]);
    await eventually(async () => (await jobEvents('job-f3')).some((e) => e.type === 'JobMatched'), 20_000);
    const listed = await under.service.bus.send(COMMANDS.matching.listParked, { after: { seq: b200Seq! - 1, reader: '' } });
    expect(listed.parked[0]).toMatchObject({ reader: 'engine', seq: b200Seq, key: 'node-b200', type: 'NodeRegistered', blockedBy: null });
    expect(listed.parked[0].error).toBe("the engine refused NodeRegistered: node node-b200: unknown GPU model 'B200' (not in the price book)");
    expect((await getJson(`${under.service.url}/health/ready`)).status).toBe(200);
  }, 60_000);
});
