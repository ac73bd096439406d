import { Client } from 'pg';
import { uuidv7 } from 'uuidv7';
import { makeEvent, subjectFor, type EventData, type EventType, type TradeEvent } from '@starminer/events';
import { startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import type { TradeLog } from '@starminer/trade-log';
import { MatchingModule } from '../matching.module';

const AGPU = 10n ** 18n;
const NODE_ADDRESS = `0x${'42'.repeat(20)}`;

describe('matching service on the real log: rebuilt from a snapshot, never over capacity', () => {
  let infra: TestInfra;
  let log: TradeLog;
  let app: ServiceUnderTest | undefined;

  const boot = async () => {
    app = await startService(MatchingModule, infra);
  };
  const append = async <T extends EventType>(kind: 'node' | 'job', id: string, type: T, data: EventData<T>) => {
    const e = makeEvent(type, data, { id: uuidv7(), aggregateId: id, occurredAt: new Date().toISOString(), correlationId: id, causationId: id, actor: 'test' });
    await log.append(subjectFor(kind, id), [e], { expectedLastSubjectSeq: 'any' });
  };
  const submit = (jobId: string, gpuModel = 'RTX4090', gpuCount = 1) =>
    append('job', jobId, 'JobSubmitted', {
      jobId,
      orgId: 'org-1',
      requesterAddress: `0x${'11'.repeat(20)}`,
      category: 'rendering',
      budgetWei: 100n * AGPU,
      urgency: 'normal',
      latencyPreference: 'normal',
      requirements: { gpuModels: [gpuModel], gpuCount, minVramGiB: 0, tee: false, regions: [] },
      expectedRuntimeSec: 600,
      deadlineSec: 3600,
      green: false,
      workload: { kind: 'hash-chain', seed: jobId, iterations: 10 },
    });
  const eventsOf = async (jobId: string): Promise<TradeEvent[]> =>
    (await log.readSubject(subjectFor('job', jobId))).events.map((s) => s.event as TradeEvent);
  const waitFor = async (jobId: string, type: EventType): Promise<TradeEvent> => {
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      const found = (await eventsOf(jobId)).find((e) => e.type === type);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no ${type} on ${jobId}; it has ${JSON.stringify((await eventsOf(jobId)).map((e) => [e.type, e.data]), (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  };

  beforeAll(async () => {
    infra = await startTestInfra();
    log = infra.log;
  });

  afterAll(async () => {
    await app?.stop();
    await infra?.stop();
  });

  const register = async (nodeId: string, gpuModel: string, gpuCount: number) => {
    await append('node', nodeId, 'NodeRegistered', {
      nodeId,
      providerId: 'p',
      nodeAddress: NODE_ADDRESS,
      gpuModel,
      gpuCount,
      vramGiB: 80,
      region: 'eu-west',
      latencyMs: 10,
      tee: false,
      energy: { carbonGPerKwh: 100, renewableShare: 0.5 },
      benchmark: { kind: 'x', score: 100, measuredAt: '2026-11-24T00:00:00Z' },
      reputation: 0.5,
      stakeWei: 0n,
      runtimes: ['hash-chain'],
    });
    await append('node', nodeId, 'NodeAvailabilityChanged', { nodeId, online: true, reason: 'registered' });
  };

  it('matches from the log, snapshots at stop, restores, and keeps the reservations it had', async () => {
    await register('node-a', 'RTX4090', 2);
    await boot();
    await submit('job-1');
    const first = await waitFor('job-1', 'JobMatched');
    expect(first.type === 'JobMatched' && first.data.nodeId).toBe('node-a');

    await app!.stop(); // takes the final snapshot
    app = undefined;
    const pg = new Client({ connectionString: infra.db.url });
    await pg.connect();
    const rows = (await pg.query('SELECT "lastSeq" FROM matching.engine_snapshots')).rows;
    await pg.end();
    expect(rows).toHaveLength(1);
    expect(Number(rows[0].lastSeq)).toBeGreaterThan(0);

    // while matching is down, two more jobs arrive; the node has one GPU left
    await submit('job-2');
    await submit('job-3');
    await boot();
    const second = await waitFor('job-2', 'JobMatched');
    expect(second.type === 'JobMatched' && second.data.nodeId).toBe('node-a');
    const waiting = await waitFor('job-3', 'JobWaiting');
    expect(waiting.type === 'JobWaiting' && waiting.data.reason).toMatch(/RTX4090|capacity|free/i);
    expect((await eventsOf('job-3')).some((e) => e.type === 'JobMatched')).toBe(false);
    expect((await eventsOf('job-1')).filter((e) => e.type === 'JobMatched')).toHaveLength(1);

    // what an auditor re-runs each match on: the log folded to decidedAfterSeq (past the job's
    // submission, before the match), the configuration, and the demand mix (logged in full by the
    // first receipt of an instance, then once per change)
    for (const jobId of ['job-1', 'job-2']) {
      const stored = (await log.readSubject(subjectFor('job', jobId))).events;
      const submitted = stored.find((s) => s.event.type === 'JobSubmitted')!;
      const matched = stored.find((s) => s.event.type === 'JobMatched')!.event as TradeEvent<'JobMatched'>;
      const matchedSeq = stored.find((s) => s.event.type === 'JobMatched')!.seq;
      expect(matched.data.decidedAfterSeq).toBeGreaterThanOrEqual(submitted.seq);
      expect(matched.data.decidedAfterSeq).toBeLessThan(matchedSeq);
      expect(matched.data.receipt).toMatchObject({ config: { hash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), delta: expect.any(Object) }, mix: { digest: expect.stringMatching(/^sha256:/), applied: expect.any(Object) } });
    }
  }, 60_000);

  it('a large job holds a node as it drains; the hold is on the log and survives a restart without a snapshot', async () => {
    await app?.stop(); // one matching instance at a time, configured for this test
    app = undefined;
    process.env.MATCHING_HOLD_AFTER_MS = '0';
    try {
      await register('node-h', 'A100', 8);
      await boot();
      await submit('small-1', 'A100', 1);
      await waitFor('small-1', 'JobMatched');
      await submit('big', 'A100', 8);
      const held = await waitFor('big', 'JobWaiting');
      expect(held.type === 'JobWaiting' && held.data.hold).toMatchObject({ nodeId: 'node-h', gpuCount: 8 });
      expect(held.type === 'JobWaiting' && held.data.reason).toMatch(/holding node node-h until 8 of its GPUs are free/);

      // restart from the log alone, with holds that this instance would never take itself: only
      // the replayed hold can keep a small job off node-h
      await app!.stop();
      app = undefined;
      const pg = new Client({ connectionString: infra.db.url });
      await pg.connect();
      await pg.query('DELETE FROM matching.engine_snapshots');
      await pg.end();
      process.env.MATCHING_HOLD_AFTER_MS = String(7 * 24 * 3600_000);
      await boot();
      await submit('small-2', 'A100', 1);
      const small2 = await waitFor('small-2', 'JobWaiting');
      expect(small2.type === 'JobWaiting' && small2.data.reason).toMatch(/^waiting for capacity/);

      // small-1 ends: node-h is whole again and goes to the job holding it, not to small-2
      await append('job', 'small-1', 'JobFailed', { jobId: 'small-1', code: 'TEST', reason: 'ended by the test' });
      const matched = await waitFor('big', 'JobMatched');
      expect(matched.type === 'JobMatched' && matched.data).toMatchObject({ nodeId: 'node-h', gpuCount: 8 });
      expect(matched.type === 'JobMatched' && matched.data.receipt.hold).toMatchObject({ nodeId: 'node-h' });
      expect((await eventsOf('small-2')).some((e) => e.type === 'JobMatched')).toBe(false);
    } finally {
      delete process.env.MATCHING_HOLD_AFTER_MS;
    }
  }, 60_000);
});
