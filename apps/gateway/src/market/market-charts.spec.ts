import { EXAMPLE_EVENT_DATA, type EventData, type EventType } from '@starminer/events';
import { DEFAULT_ENGINE_CONFIG, priceWeiPerGpuHour } from '@starminer/matching';
import { applyStored, readModelPerSpec, storedEvent } from '../testing/read-model.testing';
import { JobView, MarketPricePoint, MarketPriceView, VIEW_ENTITIES } from '../views/entities';
import { applyViewsBatch } from '../views/views-batch';
import { applyToViews } from '../views/views.projection';
import { candleWindow, priceCandles } from './candles';
import { readMarketStats, readPriceHistory } from './market-queries';

/**
 * The market charts on the gateway's real read model (Postgres), written by its projection: the
 * price points PriceChanged appends (each event delivered twice), the candles read back from them,
 * and the market stats from the nodes and the jobs' match times.
 */
const model = readModelPerSpec(VIEW_ENTITIES);
const batched = readModelPerSpec(VIEW_ENTITIES);
let seq = 0;

const pricing = DEFAULT_ENGINE_CONFIG.pricing;
const A100 = pricing.basePricesWeiPerGpuHour.A100!;
const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);
const MIN = 60_000;

const logged: ReturnType<typeof storedEvent>[] = [];
async function apply<T extends EventType>(type: T, data: EventData<T>, atMs: number): Promise<void> {
  const stored = storedEvent(type, data, ++seq, new Date(atMs));
  logged.push(stored);
  // delivered twice (at least once): the same rows
  await applyStored(model.ds, applyToViews, stored, 2);
}
const priceChanged = (gpuClass: string, region: string, multiplierBps: number, atMs: number) =>
  apply('PriceChanged', { gpuClass, region, atMs, previousMultiplierBps: 10_000, multiplierBps, utilizationBps: 9_000, smoothedUtilizationBps: 8_000 }, atMs);

/** A100 in us-east: one move before the window, then a busy minute (many moves), a quiet one, and one more move. */
const MOVES: [multiplierBps: number, atMs: number][] = [
  [10_500, T0 - 5 * MIN],
  ...Array.from({ length: 12 }, (_, i): [number, number] => [10_000 + ((i * 7_919) % 4_000), T0 + i * 4_000]),
  [9_000, T0 + 2 * MIN + 15_000],
];

beforeAll(async () => {
  for (const [bps, at] of MOVES) await priceChanged('A100', 'us-east', bps, at);
  await priceChanged('A100', 'eu-west', 12_000, T0 + 30_000);
  await priceChanged('H900', 'us-east', 12_000, T0 + 30_000); // a class with no base price
}, 60_000);

describe('the price history: points on the log, candles read back', () => {
  it('given PriceChanged delivered twice, then one point per event, with the base the board prices by; none for a class without a base', async () => {
    const points = await model.ds.getRepository(MarketPricePoint).find({ order: { seq: 'ASC' } });
    expect(points).toHaveLength(MOVES.length + 1);
    expect(points[0]).toEqual({ seq: '1', gpuClass: 'A100', region: 'us-east', at: new Date(T0 - 5 * MIN), basePriceWeiPerGpuHour: A100, multiplierBps: 10_500, utilizationBps: 9_000 });
    expect(points.map((p) => p.multiplierBps)).toEqual([...MOVES.map(([bps]) => bps), 12_000]);
    expect(points.some((p) => p.gpuClass === 'H900')).toBe(false);
    // the board still shows the class's last move
    expect(await model.ds.getRepository(MarketPriceView).findOneBy({ gpuClass: 'H900' })).toMatchObject({ multiplierBps: 12_000 });
  });

  it('given a window, then candles of the tier asked, the busy minute from its extremes, the quiet one flat, up to now', async () => {
    const now = T0 + 3 * MIN + 20_000;
    const history = await readPriceHistory(model.ds.manager, { gpuModel: 'A100', region: 'us-east', tier: 'economy', intervalSec: 60, from: new Date(T0).toISOString() }, now);
    const price = (bps: number) => priceWeiPerGpuHour(A100, pricing.tierMultiplierBps.economy, bps).toString();
    const busy = MOVES.slice(1, 13).map(([bps]) => bps);
    expect(history).toMatchObject({ gpuModel: 'A100', region: 'us-east', tier: 'economy', intervalSec: 60 });
    expect(history.candles).toEqual([
      {
        startAt: '2026-11-24T12:00:00.000Z',
        openWeiPerGpuHour: price(10_500), // where the move before the window left it
        highWeiPerGpuHour: price(Math.max(10_500, ...busy)),
        lowWeiPerGpuHour: price(Math.min(10_500, ...busy)),
        closeWeiPerGpuHour: price(busy[busy.length - 1]!),
        utilizationMultiplierBps: busy[busy.length - 1],
      },
      { startAt: '2026-11-24T12:01:00.000Z', ...flat(price(busy[busy.length - 1]!)), utilizationMultiplierBps: busy[busy.length - 1] },
      { startAt: '2026-11-24T12:02:00.000Z', openWeiPerGpuHour: price(busy[busy.length - 1]!), highWeiPerGpuHour: price(busy[busy.length - 1]!), lowWeiPerGpuHour: price(9_000), closeWeiPerGpuHour: price(9_000), utilizationMultiplierBps: 9_000 },
      { startAt: '2026-11-24T12:03:00.000Z', ...flat(price(9_000)), utilizationMultiplierBps: 9_000 },
    ]);
    // what the read model hands (each minute's extremes) gives what every point gives
    const every = MOVES.map(([bps, at], i) => ({ atMs: at, seq: i + 1, priceWeiPerGpuHour: BigInt(price(bps)), utilizationMultiplierBps: bps }));
    expect(history.candles).toEqual(priceCandles(every, candleWindow({ intervalSec: 60, from: new Date(T0).toISOString() }, now)));
  });

  it('given the default window and a longer interval, then the last priceCandlesMax intervals up to now, from the first move on', async () => {
    const now = T0 + 3 * 3_600_000 + 1;
    const history = await readPriceHistory(model.ds.manager, { gpuModel: 'A100', region: 'us-east', tier: 'standard', intervalSec: 3600 }, now);
    const price = (bps: number) => priceWeiPerGpuHour(A100, pricing.tierMultiplierBps.standard, bps).toString();
    expect(history.candles.map((c) => c.startAt)).toEqual(['2026-11-24T11:00:00.000Z', '2026-11-24T12:00:00.000Z', '2026-11-24T13:00:00.000Z', '2026-11-24T14:00:00.000Z', '2026-11-24T15:00:00.000Z']);
    expect(history.candles[0]).toMatchObject(flat(price(10_500)));
    expect(history.candles[1]).toMatchObject({ openWeiPerGpuHour: price(10_500), closeWeiPerGpuHour: price(9_000) });
    expect(history.candles.slice(2).every((c) => c.closeWeiPerGpuHour === price(9_000) && c.highWeiPerGpuHour === price(9_000))).toBe(true);
  });

  it('given a market with no move, or none known, then no candles', async () => {
    const now = T0 + 10 * MIN;
    expect((await readPriceHistory(model.ds.manager, { gpuModel: 'H100', region: 'us-east', tier: 'standard', intervalSec: 60 }, now)).candles).toEqual([]);
    expect((await readPriceHistory(model.ds.manager, { gpuModel: 'H900', region: 'us-east', tier: 'standard', intervalSec: 60 }, now)).candles).toEqual([]);
    expect((await readPriceHistory(model.ds.manager, { gpuModel: 'A100', region: 'mars', tier: 'standard', intervalSec: 60 }, now)).candles).toEqual([]);
  });

  it('given the same events a batch at a time, then the same points', async () => {
    await batched.ds.transaction((em) => applyViewsBatch(em, [...logged, ...logged.slice(0, 3)]));
    const rows = (ds: typeof batched.ds) => ds.getRepository(MarketPricePoint).find({ order: { seq: 'ASC' } });
    expect(await rows(batched.ds)).toEqual(await rows(model.ds));
  });
});

const flat = (p: string) => ({ openWeiPerGpuHour: p, highWeiPerGpuHour: p, lowWeiPerGpuHour: p, closeWeiPerGpuHour: p });

describe('the market stats: supply from the nodes, matches by their match time', () => {
  const NOW = T0 + 10 * MIN + 30_500; // 12:10:30.500
  const node = (nodeId: string, i: number, gpuModel: string, region: string, gpuCount: number) => ({
    ...EXAMPLE_EVENT_DATA.NodeRegistered,
    nodeId,
    nodeAddress: `0x${(0x5000 + i).toString(16).padStart(40, '0')}`,
    gpuModel,
    region,
    gpuCount,
  });
  let matchedAtMs: number;

  beforeAll(async () => {
    const nodes = [
      ['n-1', 'H100', 'eu-west', 8, true],
      ['n-2', 'H100', 'eu-west', 4, true],
      ['n-3', 'H100', 'eu-west', 2, false],
      ['n-4', 'A100', 'us-east', 1, true],
      ['n-5', 'A100', 'eu-west', 2, false],
    ] as const;
    for (const [i, [nodeId, gpuModel, region, gpuCount, online]] of nodes.entries()) {
      await apply('NodeRegistered', node(nodeId, i, gpuModel, region, gpuCount), T0);
      if (online) await apply('NodeAvailabilityChanged', { nodeId, online: true, reason: 'heartbeat' }, T0);
    }
    // matched: two in the current second, one 59 s ago (the oldest second shown), one 60 s ago (not shown); one never matched
    const matches = [NOW - 100, NOW - 400, NOW - 59_000, NOW - 60_000];
    for (const [i, at] of matches.entries()) {
      const jobId = `job-m${i}`;
      await apply('JobSubmitted', { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId }, at - 5_000);
      await apply('JobMatched', { ...EXAMPLE_EVENT_DATA.JobMatched, jobId }, at);
    }
    await apply('JobSubmitted', { ...EXAMPLE_EVENT_DATA.JobSubmitted, jobId: 'job-queued' }, NOW - 1_000);
    matchedAtMs = matches[0]!;
    // H100 in eu-west surges; A100 in us-east surged and calmed down; a surge of a market with no node is not listed
    await apply('SurgeStarted', { ...EXAMPLE_EVENT_DATA.SurgeStarted, gpuClass: 'H100', region: 'eu-west', atMs: NOW - 3 * MIN }, NOW - 3 * MIN);
    await apply('SurgeStarted', { ...EXAMPLE_EVENT_DATA.SurgeStarted, gpuClass: 'A100', region: 'us-east', atMs: NOW - 9 * MIN }, NOW - 9 * MIN);
    await apply('SurgeEnded', { ...EXAMPLE_EVENT_DATA.SurgeEnded, gpuClass: 'A100', region: 'us-east', atMs: NOW - 2 * MIN, startedAtMs: NOW - 9 * MIN, calmSinceMs: NOW - 7 * MIN }, NOW - 2 * MIN);
    await apply('SurgeStarted', { ...EXAMPLE_EVENT_DATA.SurgeStarted, gpuClass: 'L40S', region: 'eu-west', atMs: NOW - MIN }, NOW - MIN);
  }, 60_000);

  it('given JobMatched, then the job view keeps its match time', async () => {
    expect((await model.ds.getRepository(JobView).findOneByOrFail({ jobId: 'job-m0' })).matchedAt).toEqual(new Date(matchedAtMs));
    expect((await model.ds.getRepository(JobView).findOneByOrFail({ jobId: 'job-queued' })).matchedAt).toBeNull();
  });

  it('given nodes on and off line, jobs matched and markets surging, then supply per market with its surge, and matches per second over the last minute', async () => {
    const stats = await readMarketStats(model.ds.manager, NOW);
    expect(stats.at).toBe('2026-11-24T12:10:30.500Z');
    expect(stats.supply).toEqual([
      { gpuModel: 'A100', region: 'eu-west', nodesOnline: 0, gpusOnline: 0, nodesRegistered: 1, surge: null },
      { gpuModel: 'A100', region: 'us-east', nodesOnline: 1, gpusOnline: 1, nodesRegistered: 1, surge: null },
      { gpuModel: 'H100', region: 'eu-west', nodesOnline: 2, gpusOnline: 12, nodesRegistered: 3, surge: { sinceAt: new Date(NOW - 3 * MIN).toISOString() } },
    ]);
    expect(stats.matches.lastMinute).toBe(3);
    expect(stats.matches.perSecond).toHaveLength(60);
    expect(stats.matches.perSecond[0]).toEqual({ at: '2026-11-24T12:09:31.000Z', count: 1 });
    expect(stats.matches.perSecond[59]).toEqual({ at: '2026-11-24T12:10:30.000Z', count: 2 });
    expect(stats.matches.perSecond.slice(1, 59).every((s) => s.count === 0)).toBe(true);
  });
});
