import { fakeFetch, fakeSleep, json } from '../test/fake-fetch';
import { createClient } from './client';
import type { MarketStats, PriceHistory } from './types';

const BASE = 'http://gateway.test';

const HISTORY: PriceHistory = {
  gpuModel: 'A100',
  region: 'us-east',
  tier: 'economy',
  intervalSec: 300,
  candles: [{ startAt: '2026-03-01T12:00:00.000Z', openWeiPerGpuHour: '100', highWeiPerGpuHour: '120', lowWeiPerGpuHour: '90', closeWeiPerGpuHour: '110', utilizationMultiplierBps: 11_000 }],
};

describe('the market charts through the SDK', () => {
  it('getPriceHistory sends the market, tier, interval and window as query parameters (Dates as ISO 8601), without the API key it does not need', async () => {
    const f = fakeFetch([json(200, HISTORY), json(200, { ...HISTORY, candles: [] })]);
    const sm = createClient({ baseUrl: BASE, fetch: f.fetch, sleep: fakeSleep().sleep });
    const answer = await sm.getPriceHistory({ gpuModel: 'A100', region: 'us-east', tier: 'economy', intervalSec: 300, from: new Date('2026-03-01T12:00:00Z'), to: '2026-03-01T13:00:00Z' });
    await sm.getPriceHistory({ gpuModel: 'A100', region: 'us east' });
    expect(answer).toEqual(HISTORY);
    expect(f.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /v1/market/prices/history?gpuModel=A100&region=us-east&tier=economy&intervalSec=300&from=2026-03-01T12%3A00%3A00.000Z&to=2026-03-01T13%3A00%3A00Z',
      'GET /v1/market/prices/history?gpuModel=A100&region=us+east',
    ]);
    expect(f.calls[0]!.headers.authorization).toBeUndefined();
  });

  it('getMarketStats reads GET /v1/market/stats', async () => {
    const stats: MarketStats = {
      at: '2026-03-01T12:00:59.500Z',
      supply: [
        { gpuModel: 'A100', region: 'us-east', nodesOnline: 1, gpusOnline: 4, nodesRegistered: 2, surge: { sinceAt: '2026-03-01T11:50:00.000Z' } },
        { gpuModel: 'H100', region: 'us-east', nodesOnline: 0, gpusOnline: 0, nodesRegistered: 1, surge: null },
      ],
      matches: { lastMinute: 0, perSecond: [] },
      queues: { 'ai-training': 0, inference: 1, rendering: 0, simulation: 0 },
    };
    const f = fakeFetch([json(200, stats)]);
    const sm = createClient({ baseUrl: BASE, apiKey: 'sm_key', fetch: f.fetch, sleep: fakeSleep().sleep });
    expect(await sm.getMarketStats()).toEqual(stats);
    expect(f.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /v1/market/stats']);
  });
});
