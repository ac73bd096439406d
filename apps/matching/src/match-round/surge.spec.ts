import { Client } from 'pg';
import { uuidv7 } from 'uuidv7';
import { makeEvent, subjectFor, type EventData, type EventType, type TradeEvent } from '@starminer/events';
import { startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import type { TradeLog } from '@starminer/trade-log';
import { MatchingModule } from '../matching.module';

const AGPU = 10n ** 18n;
const GPU = 'L40S';
/** a surge starts at 3 queued jobs, ends once none is queued (and utilization is low) for 4 s; ticks every second */
const ENV = {
  MATCHING_REPRICE_INTERVAL_MS: '1000',
  MATCHING_SURGE_START_QUEUE_DEPTH: '3',
  MATCHING_SURGE_END_QUEUE_DEPTH: '1',
  MATCHING_SURGE_MIN_DWELL_MS: '4000',
};

/**
 * Issue 16's "done when" on the real log: a burst of demand on one market starts a surge
 * (SurgeStarted on trade.market.<gpuClass>), staked nodes win during it (also after a restart that
 * rebuilds the engine from the log alone), and not before or after it (SurgeEnded).
 */
describe('matching service: surges on the real log', () => {
  let infra: TestInfra;
  let log: TradeLog;
  let app: ServiceUnderTest | undefined;

  const boot = async () => {
    app = await startService(MatchingModule, infra, ENV);
  };
  const append = async <T extends EventType>(kind: 'node' | 'job', id: string, type: T, data: EventData<T>) => {
    const e = makeEvent(type, data, { id: uuidv7(), aggregateId: id, occurredAt: new Date().toISOString(), correlationId: id, causationId: id, actor: 'test' });
    await log.append(subjectFor(kind, id), [e], { expectedLastSubjectSeq: 'any' });
  };
  const submit = (jobId: string) =>
    append('job', jobId, 'JobSubmitted', {
      jobId,
      orgId: 'org-1',
      requesterAddress: `0x${'11'.repeat(20)}`,
      category: 'rendering',
      budgetWei: 100n * AGPU,
      urgency: 'normal',
      latencyPreference: 'normal',
      requirements: { gpuModels: [GPU], gpuCount: 1, minVramGiB: 0, tee: false, regions: [] },
      expectedRuntimeSec: 600,
      deadlineSec: 3600,
      green: false,
      workload: { kind: 'hash-chain', seed: jobId, iterations: 10 },
    });
  const end = (jobId: string) => append('job', jobId, 'JobFailed', { jobId, code: 'TEST', reason: 'ended by the test' });
  const register = async (nodeId: string, reputation: number, stake?: { poolId: string; stakeWei: bigint }) => {
    await append('node', nodeId, 'NodeRegistered', {
      nodeId,
      providerId: 'p',
      nodeAddress: `0x${'42'.repeat(20)}`,
      gpuModel: GPU,
      gpuCount: 1,
      vramGiB: 48,
      region: 'eu-west',
      latencyMs: 10,
      tee: false,
      energy: { carbonGPerKwh: 100, renewableShare: 0.5 },
      benchmark: { kind: 'x', score: 100, measuredAt: '2026-11-24T00:00:00Z' },
      reputation,
      stakeWei: stake?.stakeWei ?? 0n,
      ...(stake ? { poolId: stake.poolId } : {}),
      runtimes: ['hash-chain'],
    });
    await append('node', nodeId, 'NodeAvailabilityChanged', { nodeId, online: true, reason: 'registered' });
  };
  const until = async <T>(what: string, find: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const found = await find();
      if (found !== undefined) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const matched = (jobId: string) =>
    until(`JobMatched of ${jobId}`, async () => {
      const events = (await log.readSubject(subjectFor('job', jobId))).events.map((s) => s.event as TradeEvent);
      return events.find((e): e is TradeEvent<'JobMatched'> => e.type === 'JobMatched');
    });
  const marketEvents = async () => (await log.readSubject(subjectFor('market', GPU))).events.map((s) => s.event as TradeEvent);
  const surgeStarted = () => until('SurgeStarted', async () => (await marketEvents()).find((e): e is TradeEvent<'SurgeStarted'> => e.type === 'SurgeStarted'));
  const surgeEnded = () => until('SurgeEnded', async () => (await marketEvents()).find((e): e is TradeEvent<'SurgeEnded'> => e.type === 'SurgeEnded'));

  beforeAll(async () => {
    infra = await startTestInfra();
    log = infra.log;
  });

  afterAll(async () => {
    await app?.stop();
    await infra?.stop();
  });

  it('given an unstaked node of better reputation and a staked one, then: unstaked wins before; a burst starts a surge; staked wins in it (after a restart from the log too); unstaked wins after it ends', async () => {
    await register('free-1', 0.95);
    await register('staked-1', 0.5, { poolId: 'pool-1', stakeWei: 10n * AGPU });
    await boot();

    // before: routing by the normal terms
    await submit('before');
    const before = await matched('before');
    expect(before.data.nodeId).toBe('free-1');
    expect(before.data.receipt).toMatchObject({ surge: false });
    expect(before.data.receipt.surgePreference).toBeUndefined();
    await end('before');

    // a burst: 5 jobs on a market of 2 GPUs; two run, three queue, the tick sees a depth of 3
    for (const id of ['burst-1', 'burst-2', 'burst-3', 'burst-4', 'burst-5']) await submit(id);
    const started = await surgeStarted();
    expect(started.data).toMatchObject({ gpuClass: GPU, region: 'eu-west', trigger: 'queue-depth', queueDepth: 3 });
    expect(started.actor).toBe('service:matching');

    // the burst goes away: the queued jobs fail, the running ones end; the surge holds for the dwell
    for (const id of ['burst-3', 'burst-4', 'burst-5', 'burst-1', 'burst-2']) await end(id);

    // a restart from the log alone (no snapshot): the engine is in surge because SurgeStarted is on the log
    await app!.stop();
    app = undefined;
    const pg = new Client({ connectionString: infra.db.url });
    await pg.connect();
    await pg.query('DELETE FROM matching.engine_snapshots');
    await pg.end();
    await boot();

    // during: the staked node wins though its reputation is worse, and the receipt says why
    await submit('during');
    const during = await matched('during');
    expect(during.data.nodeId).toBe('staked-1');
    expect(during.data.receipt).toMatchObject({ surge: true, surgePreference: { sinceMs: started.data.atMs, winnerStaked: true } });
    expect((during.data.receipt as { winner: { score: { reservedLiquidity: number } } }).winner.score.reservedLiquidity).toBeGreaterThan(0);
    await end('during');

    // after: nothing queued for the dwell, SurgeEnded, and the unstaked node wins again
    const ended = await surgeEnded();
    expect(ended.data).toMatchObject({ gpuClass: GPU, region: 'eu-west', startedAtMs: started.data.atMs, queueDepth: 0 });
    expect(ended.data.atMs - ended.data.calmSinceMs).toBeGreaterThanOrEqual(4_000);
    await submit('after');
    const after = await matched('after');
    expect(after.data.nodeId).toBe('free-1');
    expect(after.data.receipt).toMatchObject({ surge: false });

    // one start and one end on the log: the restarted engine's replay and its own decisions agree
    expect((await marketEvents()).filter((e) => e.type === 'SurgeStarted' || e.type === 'SurgeEnded').map((e) => e.type)).toEqual(['SurgeStarted', 'SurgeEnded']);
  }, 90_000);
});
