import { CATEGORIES, EXAMPLE_EVENT_DATA, LIMITS } from '@starminer/events';
import { DEFAULT_ENGINE_CONFIG, priceWeiPerGpuHour } from '@starminer/matching';
import { createClient, StarMinerApiError, type StarMinerClient } from '@starminer/sdk';
import { appendDrafts, eventually } from '@starminer/service-testing';
import { startMarket, type Market } from './market-harness';

/**
 * The market charts over HTTP, on the gateway alone (real NATS, Postgres, anvil; no other
 * service): events put on the log as the services would append them, then the candles, the
 * stats and the markets' surges read through the SDK, every answer checked against the OpenAPI
 * document the gateway serves.
 */
const DAY_MS = 86_400_000;
/** Yesterday 00:00 UTC: the price moves are put there, so the candles asked of it are fixed. */
const B = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS;
const REGION = 'charts-http';
const pricing = DEFAULT_ENGINE_CONFIG.pricing;
const A100 = pricing.basePricesWeiPerGpuHour.A100!;
const price = (tier: 'priority' | 'standard' | 'economy', bps: number) => priceWeiPerGpuHour(A100, pricing.tierMultiplierBps[tier], bps).toString();
const iso = (ms: number) => new Date(ms).toISOString();

describe('the market charts over HTTP: price candles and market stats', () => {
  let market: Market;
  let sm: StarMinerClient;
  const moved = (multiplierBps: number, atMs: number) =>
    appendDrafts(market.log, 'market', 'A100', [{ type: 'PriceChanged', data: { gpuClass: 'A100', region: REGION, atMs, previousMultiplierBps: 10_000, multiplierBps, utilizationBps: 9_000, smoothedUtilizationBps: 8_000 } }], {
      occurredAt: new Date(atMs),
      actor: 'service:matching',
    });

  beforeAll(async () => {
    market = await startMarket({ services: [] });
    sm = createClient({ baseUrl: market.gatewayUrl, fetch: market.api.fetch });
    await moved(11_000, B + 30_000);
    await moved(12_000, B + 90_000);
    await moved(9_500, B + 100_000);
    await moved(10_000, B + 250_000);
    // the view has every move once the window's one candle closes at the last of them (events apply in log order)
    await eventually(
      async () => (await sm.getPriceHistory({ gpuModel: 'A100', region: REGION, intervalSec: 300, from: new Date(B), to: new Date(B + 300_000) })).candles[0]?.closeWeiPerGpuHour === price('standard', 10_000),
      15_000,
      100,
    );
  }, 180_000);

  afterEach(() => {
    // every answer (refusals included) is what the document says
    expect(market.api.take()).toEqual([]);
  });

  afterAll(async () => {
    await market?.stop();
  });

  it('answers the candles of a window: opens at the close before, flat where nothing moved, in the tier asked', async () => {
    let history: Awaited<ReturnType<StarMinerClient['getPriceHistory']>> | undefined;
    await eventually(async () => (history = await sm.getPriceHistory({ gpuModel: 'A100', region: REGION, from: new Date(B), to: new Date(B + 5 * 60_000) })).candles.length === 5, 15_000, 100);
    const std = (bps: number) => price('standard', bps);
    expect(history).toEqual({
      gpuModel: 'A100',
      region: REGION,
      tier: 'standard',
      intervalSec: 60,
      candles: [
        { startAt: iso(B), openWeiPerGpuHour: std(11_000), highWeiPerGpuHour: std(11_000), lowWeiPerGpuHour: std(11_000), closeWeiPerGpuHour: std(11_000), utilizationMultiplierBps: 11_000 },
        { startAt: iso(B + 60_000), openWeiPerGpuHour: std(11_000), highWeiPerGpuHour: std(12_000), lowWeiPerGpuHour: std(9_500), closeWeiPerGpuHour: std(9_500), utilizationMultiplierBps: 9_500 },
        { startAt: iso(B + 120_000), openWeiPerGpuHour: std(9_500), highWeiPerGpuHour: std(9_500), lowWeiPerGpuHour: std(9_500), closeWeiPerGpuHour: std(9_500), utilizationMultiplierBps: 9_500 },
        { startAt: iso(B + 180_000), openWeiPerGpuHour: std(9_500), highWeiPerGpuHour: std(9_500), lowWeiPerGpuHour: std(9_500), closeWeiPerGpuHour: std(9_500), utilizationMultiplierBps: 9_500 },
        { startAt: iso(B + 240_000), openWeiPerGpuHour: std(9_500), highWeiPerGpuHour: std(10_000), lowWeiPerGpuHour: std(9_500), closeWeiPerGpuHour: std(10_000), utilizationMultiplierBps: 10_000 },
      ],
    });

    // five minutes a candle, in the priority tier: one candle of all of it
    const five = await sm.getPriceHistory({ gpuModel: 'A100', region: REGION, tier: 'priority', intervalSec: 300, from: iso(B), to: iso(B + 300_000) });
    expect(five.candles).toEqual([
      { startAt: iso(B), openWeiPerGpuHour: price('priority', 11_000), highWeiPerGpuHour: price('priority', 12_000), lowWeiPerGpuHour: price('priority', 9_500), closeWeiPerGpuHour: price('priority', 10_000), utilizationMultiplierBps: 10_000 },
    ]);
  }, 30_000);

  it('by default, answers the last intervals up to now: continuous, the last one the current one', async () => {
    const before = Date.now();
    const history = await sm.getPriceHistory({ gpuModel: 'A100', region: REGION, intervalSec: 3600 });
    const after = Date.now();
    const starts = history.candles.map((c) => Date.parse(c.startAt));
    // from the hour of the first move (yesterday 00:00) on, every hour
    expect(starts[0]).toBe(B);
    expect(starts.every((t, i) => i === 0 || t - starts[i - 1]! === 3_600_000)).toBe(true);
    expect(starts[starts.length - 1]).toBeGreaterThanOrEqual(Math.floor(before / 3_600_000) * 3_600_000);
    expect(starts[starts.length - 1]).toBeLessThanOrEqual(after);
    expect(history.candles.length).toBeLessThanOrEqual(LIMITS.priceCandlesMax);
    expect(history.candles.slice(1).every((c) => c.openWeiPerGpuHour === price('standard', 10_000) && c.closeWeiPerGpuHour === price('standard', 10_000))).toBe(true);
  }, 30_000);

  it('answers an empty list for a market with no price move', async () => {
    expect(await sm.getPriceHistory({ gpuModel: 'A100', region: 'nowhere' })).toMatchObject({ gpuModel: 'A100', region: 'nowhere', tier: 'standard', intervalSec: 60, candles: [] });
  });

  it('refuses a window of more than LIMITS.priceCandlesMax candles, and an interval it does not build, with VALIDATION_FAILED naming the field', async () => {
    const refusal = (p: Parameters<StarMinerClient['getPriceHistory']>[0]) => sm.getPriceHistory(p).then(
      () => undefined,
      (e: unknown) => e as StarMinerApiError,
    );
    const tooLong = await refusal({ gpuModel: 'A100', region: REGION, from: iso(B - 2 * DAY_MS) });
    expect(tooLong).toBeInstanceOf(StarMinerApiError);
    expect(tooLong).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', details: { violations: [expect.objectContaining({ field: 'query.from', limit: LIMITS.priceCandlesMax })] } });
    const backwards = await refusal({ gpuModel: 'A100', region: REGION, from: iso(B + 60_000), to: iso(B) });
    expect(backwards).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', details: { violations: [expect.objectContaining({ field: 'query.from' })] } });

    const res = await market.api.fetch(`${market.gatewayUrl}/v1/market/prices/history?gpuModel=A100&region=${REGION}&intervalSec=30`);
    const body = (await res.json()) as { error: { code: string; details: { violations: { field: string }[] } } };
    expect([res.status, body.error.code, body.error.details.violations.map((v) => v.field)]).toEqual([400, 'VALIDATION_FAILED', ['query.intervalSec']]);
    const missing = await market.api.fetch(`${market.gatewayUrl}/v1/market/prices/history?gpuModel=A100`);
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as typeof body).error.details.violations.map((v) => v.field)).toEqual(['query.region']);
  });

  it('answers the market stats: supply per market, the matches of the last minute per second, queues', async () => {
    const node = (nodeId: string, n: number, gpuCount: number) => ({ ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId, nodeAddress: `0x${(0x7000 + n).toString(16).padStart(40, '0')}`, gpuModel: 'L40S', region: REGION, gpuCount });
    await appendDrafts(market.log, 'node', 'stats-n1', [{ type: 'NodeRegistered', data: node('stats-n1', 1, 4) }, { type: 'NodeAvailabilityChanged', data: { nodeId: 'stats-n1', online: true, reason: 'heartbeat' } }]);
    await appendDrafts(market.log, 'node', 'stats-n2', [{ type: 'NodeRegistered', data: node('stats-n2', 2, 2) }]);
    await appendDrafts(market.log, 'job', 'stats-j1', [{ type: 'JobSubmitted', data: { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId: 'stats-j1' } }]);
    await appendDrafts(market.log, 'job', 'stats-j2', [{ type: 'JobSubmitted', data: { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId: 'stats-j2', category: 'rendering' } }]);
    const matchedAt = new Date();
    await appendDrafts(market.log, 'job', 'stats-j1', [{ type: 'JobMatched', data: { ...EXAMPLE_EVENT_DATA.JobMatched, jobId: 'stats-j1', nodeId: 'stats-n1', nodeAddress: node('stats-n1', 1, 4).nodeAddress } }], { occurredAt: matchedAt });

    let stats: Awaited<ReturnType<StarMinerClient['getMarketStats']>> | undefined;
    await eventually(async () => (stats = await sm.getMarketStats()).matches.lastMinute === 1 && stats.supply.length > 0, 15_000, 100);
    expect(stats!.supply).toEqual([{ gpuModel: 'L40S', region: REGION, nodesOnline: 1, gpusOnline: 4, nodesRegistered: 2, surge: null }]);
    const { perSecond } = stats!.matches;
    expect(perSecond).toHaveLength(60);
    expect(perSecond.find((s) => s.count > 0)).toEqual({ at: iso(Math.floor(matchedAt.getTime() / 1000) * 1000), count: 1 });
    expect(Date.parse(perSecond[59]!.at)).toBe(Math.floor(Date.parse(stats!.at) / 1000) * 1000);
    expect(Object.keys(stats!.queues).sort()).toEqual([...CATEGORIES].sort());
    expect(stats!.queues).toMatchObject({ rendering: 1, inference: 0 });
  }, 30_000);

  it("answers each market's surge on the price board and in the stats: since when, null once it ended, a late older start ignored", async () => {
    const T = Date.now() - 60 * 60_000;
    const surge = { trigger: 'queue-depth', smoothedUtilizationBps: 8_000, queueDepth: 140 } as const;
    const ended = { smoothedUtilizationBps: 6_900, queueDepth: 12 };
    // H100 here surged, calmed down, then its start came back late (older than the end); A100 here surges now
    await appendDrafts(market.log, 'node', 'surge-n1', [
      { type: 'NodeRegistered', data: { ...EXAMPLE_EVENT_DATA.NodeRegistered, nodeId: 'surge-n1', nodeAddress: `0x${'7e'.repeat(20)}`, gpuModel: 'H100', region: REGION } },
    ]);
    await appendDrafts(market.log, 'market', 'H100', [
      { type: 'SurgeStarted', data: { gpuClass: 'H100', region: REGION, atMs: T, ...surge } },
      { type: 'SurgeEnded', data: { gpuClass: 'H100', region: REGION, atMs: T + 20 * 60_000, startedAtMs: T, calmSinceMs: T + 15 * 60_000, ...ended } },
      { type: 'SurgeStarted', data: { gpuClass: 'H100', region: REGION, atMs: T, ...surge } },
    ]);
    await appendDrafts(market.log, 'market', 'A100', [{ type: 'SurgeStarted', data: { gpuClass: 'A100', region: REGION, atMs: T + 30 * 60_000, ...surge } }]);

    // events apply in log order: once A100's surge shows, H100's changes are in too
    let board: Awaited<ReturnType<StarMinerClient['getPrices']>> | undefined;
    await eventually(async () => (board = await sm.getPrices({ region: REGION })).markets.some((m) => m.gpuModel === 'A100' && m.surge !== null), 15_000, 100);
    const byModel = Object.fromEntries(board!.markets.map((m) => [m.gpuModel, m.surge]));
    expect(byModel).toMatchObject({ A100: { sinceAt: iso(T + 30 * 60_000) }, H100: null });

    const stats = await sm.getMarketStats();
    const supply = stats.supply.filter((s) => s.region === REGION);
    expect(supply.find((s) => s.gpuModel === 'H100')).toEqual({ gpuModel: 'H100', region: REGION, nodesOnline: 0, gpusOnline: 0, nodesRegistered: 1, surge: null });
    // a market in surge without a node here is on the board (it has a price move), not in the supply
    expect(supply.find((s) => s.gpuModel === 'A100')).toBeUndefined();

    // the board filtered to the surging market only
    expect((await sm.getPrices({ gpuModel: 'A100', region: REGION })).markets.map((m) => m.surge)).toEqual([{ sinceAt: iso(T + 30 * 60_000) }]);
  }, 30_000);
});
