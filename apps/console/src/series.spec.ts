import { appendBounded, candleChartData, cumulativeEarnings, cumulativeSpend, fromZero } from './series';

const E18 = 10n ** 18n;

describe('cumulativeSpend', () => {
  it('sums the cost of settled jobs in time order, exactly', () => {
    const jobs = [
      { jobId: 'b', status: 'settled', costWei: (2n * E18).toString(), updatedAt: '2026-11-28T10:02:00Z' },
      { jobId: 'a', status: 'settled', costWei: '9007199254740993', updatedAt: '2026-11-28T10:01:00Z' },
      { jobId: 'c', status: 'running', costWei: E18.toString(), updatedAt: '2026-11-28T10:00:00Z' },
      { jobId: 'd', status: 'refunded', costWei: E18.toString(), updatedAt: '2026-11-28T10:00:00Z' },
      { jobId: 'e', status: 'settled', costWei: null, updatedAt: '2026-11-28T10:03:00Z' },
    ];
    const points = cumulativeSpend(jobs);
    expect(points.map((p) => p.jobId)).toEqual(['a', 'b']);
    expect(points[1].totalWei).toBe((2n * E18 + 9007199254740993n).toString());
    expect(points[1].totalAgpu).toBeCloseTo(2.009007199, 9);
  });
  it('is empty without settled jobs', () => expect(cumulativeSpend([])).toEqual([]));
});

describe('cumulativeEarnings', () => {
  it('counts paid amounts by settlement time, skipping unsettled', () => {
    const points = cumulativeEarnings([
      { jobId: 'x', paidWei: '5', settledAt: '2026-11-28T10:05:00Z' },
      { jobId: 'y', paidWei: '7', settledAt: null },
      { jobId: 'z', paidWei: '3', settledAt: '2026-11-28T10:04:00Z' },
    ]);
    expect(points.map((p) => [p.jobId, p.totalWei])).toEqual([
      ['z', '3'],
      ['x', '8'],
    ]);
  });
});

describe('candleChartData', () => {
  it('orders candles by time and writes them open, close, low, high', () => {
    const d = candleChartData([
      { startAt: '2026-11-28T10:01:00Z', openWeiPerGpuHour: (2n * E18).toString(), highWeiPerGpuHour: (3n * E18).toString(), lowWeiPerGpuHour: E18.toString(), closeWeiPerGpuHour: (25n * E18 / 10n).toString(), utilizationMultiplierBps: 12_000 },
      { startAt: '2026-11-28T10:00:00Z', openWeiPerGpuHour: E18.toString(), highWeiPerGpuHour: E18.toString(), lowWeiPerGpuHour: E18.toString(), closeWeiPerGpuHour: E18.toString(), utilizationMultiplierBps: 10_000 },
    ]);
    expect(d.times).toEqual(['2026-11-28T10:00:00Z', '2026-11-28T10:01:00Z']);
    expect(d.ohlc[1]).toEqual([2, 2.5, 1, 3]);
    expect(d.multiplier).toEqual([1, 1.2]);
  });
});

describe('appendBounded', () => {
  it('keeps the last max items', () => {
    expect(appendBounded([1, 2, 3], 4, 3)).toEqual([2, 3, 4]);
    expect(appendBounded([], 1, 3)).toEqual([1]);
  });
});

describe('fromZero', () => {
  it('starts a running total at zero a moment before its first point', () => {
    const points = cumulativeEarnings([{ jobId: 'x', paidWei: (2n * E18).toString(), settledAt: '2026-11-28T10:05:00Z' }]);
    const t = Date.parse('2026-11-28T10:05:00Z');
    expect(fromZero(points)).toEqual([
      [t - 60_000, 0],
      [t, 2],
    ]);
    expect(fromZero([])).toEqual([]);
  });
});
