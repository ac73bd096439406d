import { DomainError } from '@starminer/domain';
import { COMMANDS, EXAMPLE_EVENT_DATA, toJson, type PayloadOf, type TradeEvent } from '@starminer/events';
import { appendDrafts, eventually, startService, startTestInfra, type ServiceUnderTest, type TestInfra } from '@starminer/service-testing';
import { EngineState } from '../engine/engine-state';
import { matchingConfigSchema } from '../matching.config';
import { MatchingModule } from '../matching.module';
import { QUOTE_RETRY_AFTER_SEC, QUOTES_PER_SEC_MAX, QuoteHandler } from './quote.handler';

const AGPU = 10n ** 18n;
type Spec = PayloadOf<typeof COMMANDS.matching.quote>['spec'];

const node = (nodeId: string, over: Record<string, unknown>) => ({
  ...EXAMPLE_EVENT_DATA.NodeRegistered,
  nodeId,
  nodeAddress: `0x${(nodeId.length + 16).toString(16).repeat(20)}`,
  region: 'eu-west',
  poolId: undefined,
  ...over,
});
const spec = (over: Partial<Spec> = {}): Spec => ({
  category: 'inference',
  budgetWei: 50n * AGPU,
  urgency: 'normal',
  latencyPreference: 'normal',
  requirements: { gpuModels: ['A100'], gpuCount: 1, minVramGiB: 40, tee: false, regions: [] },
  expectedRuntimeSec: 600,
  deadlineSec: 3600,
  green: false,
  workload: { kind: 'hash-chain', seed: 'quote', iterations: 1000 },
  ...over,
});

describe('cmd.matching.quote on the real log: the engine answers a dry run and appends nothing', () => {
  let infra: TestInfra;
  let matching: ServiceUnderTest;
  const subjectEvents = async (subject: string): Promise<TradeEvent[]> => (await infra.log.readSubject(subject)).events.map((e) => e.event as TradeEvent);

  beforeAll(async () => {
    infra = await startTestInfra();
    // the supply is on the log before the engine starts: it catches up with all of it at once,
    // and its first round moves both markets' prices (the next move is a reprice interval away)
    for (const [id, data] of [
      ['a100-eu', node('a100-eu', { gpuModel: 'A100', gpuCount: 2, vramGiB: 80 })],
      ['l40s-eu', node('l40s-eu', { gpuModel: 'L40S', gpuCount: 4, vramGiB: 48 })],
    ] as const) {
      await appendDrafts(infra.log, 'node', id, [
        { type: 'NodeRegistered', data },
        { type: 'NodeAvailabilityChanged', data: { nodeId: id, online: true, reason: 'registered' } },
      ]);
    }
    matching = await startService(MatchingModule, infra);
    await eventually(async () => (await subjectEvents('trade.market.A100')).length > 0 && (await subjectEvents('trade.market.L40S')).length > 0, 20_000);
  }, 120_000);

  afterAll(async () => {
    await matching?.stop();
    await infra?.stop();
  });

  it('quotes the price the job then gets, names the exact budget where it is short, refuses what submit refuses, and appends nothing', async () => {
    const lastSeq = await infra.log.lastSeq();

    const q = await matching.bus.send(COMMANDS.matching.quote, { spec: spec() });
    const short = await matching.bus.send(COMMANDS.matching.quote, { spec: spec({ budgetWei: 1n }) });
    const elsewhere = await matching.bus.send(COMMANDS.matching.quote, { spec: spec({ requirements: { ...spec().requirements, gpuModels: ['H100'] } }) });
    const refused = await matching.bus.send(COMMANDS.matching.quote, { spec: spec({ requirements: { ...spec().requirements, gpuCount: 0 } }) }).catch((err: unknown) => err);

    expect(await infra.log.lastSeq()).toBe(lastSeq);
    expect(q).toMatchObject({ feasible: true, nodeId: 'a100-eu', waitBasis: 'free-capacity-now', reasons: [], nearest: [], price: { gpuModel: 'A100', region: 'eu-west', tier: 'standard', gpuCount: 1, runtimeSec: 600 } });
    expect(q.markets.map((m) => [m.price.gpuModel, m.nodesEligible, m.nodesFree, m.freeGpus])).toEqual([['A100', 1, 1, 2]]);
    expect(short).toMatchObject({ feasible: false, price: null, waitBasis: 'not-feasible', reasons: [{ code: 'budget-below-price' }] });
    expect(short.nearest).toEqual([{ change: 'budget', value: q.price!.costWei, price: q.price, nodeId: 'a100-eu' }]);
    expect(elsewhere).toMatchObject({ feasible: false, reasons: [{ code: 'no-supply-for-gpu-model' }], nearest: [{ change: 'gpuModel', value: 'A100', nodeId: 'a100-eu' }] });
    expect(refused).toBeInstanceOf(DomainError);
    expect((refused as DomainError).code).toBe('GPU_COUNT_REQUIRED');

    // submitted unchanged, with nothing else moving, the job is matched at the quoted price on the quoted node
    await appendDrafts(infra.log, 'job', 'job-q1', [{ type: 'JobSubmitted', data: { ...spec(), jobId: 'job-q1', orgId: 'org-1', requesterAddress: `0x${'11'.repeat(20)}` } }]);
    await eventually(async () => (await subjectEvents('trade.job.job-q1')).some((e) => e.type === 'JobMatched'), 20_000);
    const matched = (await subjectEvents('trade.job.job-q1')).find((e) => e.type === 'JobMatched');
    expect(matched?.type === 'JobMatched' && [matched.data.nodeId, matched.data.costWei.toString()]).toEqual([q.nodeId, q.price!.costWei]);

    // that job now holds one of the node's two GPUs: the next quote sees it
    const after = await matching.bus.send(COMMANDS.matching.quote, { spec: spec() });
    expect(after.markets.map((m) => [m.nodesEligible, m.nodesFree, m.freeGpus])).toEqual([[1, 1, 1]]);
  }, 60_000);

  it('answers QUOTE_UNAVAILABLE with a retry time while the engine has not caught up with the log', async () => {
    const rebuilding = new EngineState(matchingConfigSchema.parse({ ...infra.env }));
    const handler = new QuoteHandler(rebuilding);
    const wire = JSON.parse(toJson({ spec: spec() })) as never;

    const err = await Promise.resolve(handler.quote(wire)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: 'QUOTE_UNAVAILABLE', details: { retryAfterSec: QUOTE_RETRY_AFTER_SEC } });
  });

  it('answers at most QUOTES_PER_SEC_MAX quotes a second, then QUOTE_UNAVAILABLE for a second, so quotes cannot starve the match rounds', async () => {
    const state = new EngineState(matchingConfigSchema.parse({ ...infra.env }));
    state.caughtUp = true;
    const handler = new QuoteHandler(state);
    const wire = JSON.parse(toJson({ spec: spec() })) as never;
    const answers = await Promise.all(Array.from({ length: QUOTES_PER_SEC_MAX + 1 }, () => Promise.resolve(handler.quote(wire)).catch((e: unknown) => e)));

    expect(answers.slice(0, QUOTES_PER_SEC_MAX).every((a) => (a as { waitBasis?: string }).waitBasis === 'not-feasible')).toBe(true);
    expect(answers[QUOTES_PER_SEC_MAX]).toMatchObject({ code: 'QUOTE_UNAVAILABLE', details: { retryAfterSec: 1 } });
  });
});
