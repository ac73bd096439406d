import { uuidv7 } from 'uuidv7';
import { EXAMPLE_EVENT_DATA, makeEvent, subjectFor, type EventData, type EventType, type TradeEvent } from '@starminer/events';
import { startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import type { TradeLog } from '@starminer/trade-log';
import { MatchingModule } from '../matching.module';
import { RequeueFailedConsumer } from './requeue-failed.consumer';

const AGPU = 10n ** 18n;
const ADDRESS_A = `0x${'4a'.repeat(20)}`;
const ADDRESS_B = `0x${'4b'.repeat(20)}`;

/**
 * Re-match on failure, matching's part, on the real log: a failed attempt queues the job again
 * (JobRequeued, for at most the escrow, without the failed node) and the engine matches it on
 * another node, naming the attempt; a failure read twice queues nothing twice; the last attempt's
 * failure queues nothing (its escrow is refunded).
 */
describe('requeue-failed: a failed attempt goes back to the queue', () => {
  let infra: TestInfra;
  let log: TradeLog;
  let app: ServiceUnderTest;

  const append = async <T extends EventType>(kind: 'node' | 'job' | 'contract', id: string, type: T, data: EventData<T>) => {
    const e = makeEvent(type, data, { id: uuidv7(), aggregateId: id, occurredAt: new Date().toISOString(), correlationId: id, causationId: id, actor: 'test' });
    await log.append(subjectFor(kind, id), [e], { expectedLastSubjectSeq: 'any' });
    return e;
  };
  const register = async (nodeId: string, nodeAddress: string, online: boolean) => {
    await append('node', nodeId, 'NodeRegistered', { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId, nodeAddress, gpuModel: 'H100', gpuCount: 1, vramGiB: 80, region: 'eu-west', stakeWei: 0n, poolId: undefined, runtimes: ['hash-chain'] });
    await append('node', nodeId, 'NodeAvailabilityChanged', { nodeId, online, reason: online ? 'registered' : 'no heartbeat' });
  };
  const jobEvents = async (jobId: string): Promise<TradeEvent[]> => (await log.readSubject(subjectFor('job', jobId))).events.map((s) => s.event as TradeEvent);
  const waitFor = async (jobId: string, ok: (events: TradeEvent[]) => boolean): Promise<TradeEvent[]> => {
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      const events = await jobEvents(jobId);
      if (ok(events)) return events;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${jobId}: ${(await jobEvents(jobId)).map((e) => e.type).join(', ')}`);
  };
  const submitted = (jobId: string): EventData<'JobSubmitted'> => ({
    ...EXAMPLE_EVENT_DATA.JobSubmitted,
    jobId,
    budgetWei: 100n * AGPU,
    requirements: { gpuModels: ['H100'], gpuCount: 1, minVramGiB: 0, tee: false, regions: ['eu-west'] },
  });

  beforeAll(async () => {
    infra = await startTestInfra();
    log = infra.log;
    app = await startService(MatchingModule, infra);
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await infra?.stop();
  });

  it('queues the job again for its next attempt and matches it on another node, never the failed one', async () => {
    await register('node-a', ADDRESS_A, true);
    await append('job', 'job-q1', 'JobSubmitted', submitted('job-q1'));
    const [first] = (await waitFor('job-q1', (es) => es.some((e) => e.type === 'JobMatched'))).filter((e) => e.type === 'JobMatched');
    expect(first!.data).toMatchObject({ nodeId: 'node-a' });
    const escrowWei = (first!.data as EventData<'JobMatched'>).costWei;
    // the contract as the deployer and settlement leave it: opened, then its attempt failed (node-a went silent)
    await append('contract', 'job-q1', 'ContractOpened', { ...EXAMPLE_EVENT_DATA.ContractOpened, jobId: 'job-q1', nodeAddress: ADDRESS_A, escrowWei });
    await append('node', 'node-a', 'NodeAvailabilityChanged', { nodeId: 'node-a', online: false, reason: 'no heartbeat' });
    const failed = await append('contract', 'job-q1', 'ContractAttemptFailed', {
      jobId: 'job-q1', attempt: 1, nodeId: 'node-a', nodeAddress: ADDRESS_A, code: 'NODE_OFFLINE', reason: 'node node-a went offline', exhausted: false, slash: 'not-slashed-no-rule',
    });
    const requeued = (await waitFor('job-q1', (es) => es.some((e) => e.type === 'JobRequeued'))).find((e) => e.type === 'JobRequeued')!;
    expect(requeued).toMatchObject({ actor: 'service:matching', causationId: failed.id, data: { attempt: 2, failedNodeId: 'node-a', excludedNodeIds: ['node-a'], budgetWei: escrowWei, submitted: { jobId: 'job-q1' } } });

    // node-a comes back before any other: the job still waits (excluded); node-b takes it
    await append('node', 'node-a', 'NodeAvailabilityChanged', { nodeId: 'node-a', online: true, reason: 'heartbeat' });
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await jobEvents('job-q1')).filter((e) => e.type === 'JobMatched')).toHaveLength(1);
    await register('node-b', ADDRESS_B, true);
    const matches = (await waitFor('job-q1', (es) => es.filter((e) => e.type === 'JobMatched').length === 2)).filter((e) => e.type === 'JobMatched');
    expect(matches[1]!.data).toMatchObject({ nodeId: 'node-b', attempt: 2 });
    expect((matches[1]!.data as EventData<'JobMatched'>).costWei).toBeLessThanOrEqual(escrowWei);

    // the failure read again (a redelivery): nothing queued twice
    await app.app.get(RequeueFailedConsumer).requeue(failed as never);
    expect((await jobEvents('job-q1')).filter((e) => e.type === 'JobRequeued')).toHaveLength(1);
  });

  it("queues nothing after the job's last attempt failed (its escrow is refunded)", async () => {
    const consumer = app.app.get(RequeueFailedConsumer);
    await append('job', 'job-q2', 'JobSubmitted', submitted('job-q2'));
    await append('contract', 'job-q2', 'ContractOpened', { ...EXAMPLE_EVENT_DATA.ContractOpened, jobId: 'job-q2', nodeAddress: ADDRESS_A });
    const exhausted = await append('contract', 'job-q2', 'ContractAttemptFailed', {
      jobId: 'job-q2', attempt: 3, nodeId: 'node-a', nodeAddress: ADDRESS_A, code: 'NODE_OFFLINE', reason: 'gone', exhausted: true, slash: 'not-slashed-no-rule',
    });
    await consumer.handle([{ seq: 1, subject: subjectFor('contract', 'job-q2'), redelivered: false, event: exhausted }]);
    expect((await jobEvents('job-q2')).some((e) => e.type === 'JobRequeued')).toBe(false);
  });
});
