import { DomainError } from '@starminer/domain';
import { candleWindow, priceCandles, type CandleWindow, type PricePoint } from './candles';

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0); // 12:00:00 UTC, a minute's (and an hour's) start
const MIN = 60_000;
let seq = 0;
const point = (atMs: number, price: bigint, multiplierBps = 10_000): PricePoint => ({ atMs, seq: ++seq, priceWeiPerGpuHour: price, utilizationMultiplierBps: multiplierBps });
const minutes = (fromMs: number, count: number): CandleWindow => ({ fromMs, toMs: fromMs + count * MIN, intervalSec: 60, count });
const ohlc = (c: { openWeiPerGpuHour: string; highWeiPerGpuHour: string; lowWeiPerGpuHour: string; closeWeiPerGpuHour: string }) => [c.openWeiPerGpuHour, c.highWeiPerGpuHour, c.lowWeiPerGpuHour, c.closeWeiPerGpuHour];

describe('price candles', () => {
  it('given moves inside one interval, then open is the first, high and low the extremes, close the last with its multiplier', () => {
    const candles = priceCandles([point(T0 + 5_000, 100n, 10_000), point(T0 + 20_000, 130n, 13_000), point(T0 + 30_000, 90n, 9_000), point(T0 + 50_000, 110n, 11_000)], minutes(T0, 1));
    expect(candles).toEqual([
      { startAt: '2026-11-24T12:00:00.000Z', openWeiPerGpuHour: '100', highWeiPerGpuHour: '130', lowWeiPerGpuHour: '90', closeWeiPerGpuHour: '110', utilizationMultiplierBps: 11_000 },
    ]);
  });

  it('given a price before the window and quiet intervals, then each opens at the close before it and a quiet one is flat at that close, up to to', () => {
    const candles = priceCandles([point(T0 - 10 * MIN, 100n, 10_000), point(T0 + MIN + 1_000, 120n, 12_000), point(T0 + MIN + 2_000, 80n, 8_000)], minutes(T0, 4));
    expect(candles.map((c) => c.startAt)).toEqual(['2026-11-24T12:00:00.000Z', '2026-11-24T12:01:00.000Z', '2026-11-24T12:02:00.000Z', '2026-11-24T12:03:00.000Z']);
    expect(candles.map(ohlc)).toEqual([
      ['100', '100', '100', '100'], // flat: the price from before the window
      ['100', '120', '80', '80'], // opens at the close before, its high and low take the open in
      ['80', '80', '80', '80'],
      ['80', '80', '80', '80'],
    ]);
    expect(candles.map((c) => c.utilizationMultiplierBps)).toEqual([10_000, 8_000, 8_000, 8_000]);
  });

  it("given the market's first price inside the window, then the intervals before it are left out and the first candle opens at that price", () => {
    const candles = priceCandles([point(T0 + 2 * MIN + 30_000, 150n, 15_000)], minutes(T0, 4));
    expect(candles.map((c) => [c.startAt, ...ohlc(c)])).toEqual([
      ['2026-11-24T12:02:00.000Z', '150', '150', '150', '150'],
      ['2026-11-24T12:03:00.000Z', '150', '150', '150', '150'],
    ]);
  });

  it('given no price at all, or only after to, then no candles', () => {
    expect(priceCandles([], minutes(T0, 3))).toEqual([]);
    expect(priceCandles([point(T0 + 3 * MIN, 100n)], minutes(T0, 3))).toEqual([]);
  });

  it('given points out of order, and two at one instant, then they count in time order, the later seq last', () => {
    const a = point(T0 + 10_000, 100n);
    const b = point(T0 + 40_000, 70n, 7_000);
    const c = point(T0 + 40_000, 75n, 7_500); // same instant, later on the log
    expect(priceCandles([c, b, a], minutes(T0, 1)).map((x) => [...ohlc(x), x.utilizationMultiplierBps])).toEqual([['100', '100', '70', '75', 7_500]]);
  });

  it('given only the first, last, highest and lowest point of each interval (what the read model hands), then the same candles as from every point', () => {
    const all = [point(T0 - MIN, 100n), ...Array.from({ length: 30 }, (_, i) => point(T0 + i * 7_000, BigInt(100 + ((i * 37) % 23) - 11)))];
    const window = minutes(T0, 4);
    const reduced = [all[0]!];
    for (let m = 0; m < 4; m++) {
      const inMinute = all.slice(1).filter((p) => Math.floor((p.atMs - T0) / MIN) === m);
      if (inMinute.length === 0) continue;
      const byPrice = [...inMinute].sort((x, y) => (x.priceWeiPerGpuHour < y.priceWeiPerGpuHour ? -1 : x.priceWeiPerGpuHour > y.priceWeiPerGpuHour ? 1 : 0));
      reduced.push(...new Set([inMinute[0]!, inMinute[inMinute.length - 1]!, byPrice[0]!, byPrice[byPrice.length - 1]!]));
    }
    expect(reduced.length).toBeLessThan(all.length);
    expect(priceCandles(reduced, window)).toEqual(priceCandles(all, window));
  });
});

describe('the window of a price history request', () => {
  const now = T0 + 30 * MIN + 12_345; // 12:30:12.345

  it('given no from or to, then the last candlesMax intervals up to now, the last one the current (partial) one', () => {
    const w = candleWindow({ intervalSec: 60 }, now, 10);
    expect(w).toEqual({ fromMs: T0 + 21 * MIN, toMs: now, intervalSec: 60, count: 10 });
  });

  it('given from and to, then the intervals from the one holding from, up to the one holding the instant before to', () => {
    const w = candleWindow({ intervalSec: 300, from: '2026-11-24T12:07:30Z', to: '2026-11-24T12:20:00Z' }, now);
    // 12:05, 12:10, 12:15: to at 12:20 sharp holds nothing of the 12:20 interval
    expect(w).toEqual({ fromMs: T0 + 5 * MIN, toMs: T0 + 20 * MIN, intervalSec: 300, count: 3 });
  });

  it('given a to later than now, then it reads as now; a day interval starts at 00:00 UTC', () => {
    expect(candleWindow({ intervalSec: 60, from: '2026-11-24T12:29:00Z', to: '2027-01-01T00:00:00Z' }, now)).toMatchObject({ toMs: now, count: 2 });
    expect(candleWindow({ intervalSec: 86400, from: '2026-11-20T15:00:00+02:00' }, now)).toMatchObject({ fromMs: Date.UTC(2026, 10, 20), count: 5 });
  });

  it('given a window of more than candlesMax intervals, then it refuses with VALIDATION_FAILED naming query.from and the limit', () => {
    const refused = (() => {
      try {
        candleWindow({ intervalSec: 60, from: '2026-11-24T12:00:00Z' }, now, 30);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ code: 'VALIDATION_FAILED', details: { violations: [{ field: 'query.from', limit: 30, message: expect.stringContaining('holds 31 candles of 60 s') }] } });
    // exactly candlesMax is fine
    expect(candleWindow({ intervalSec: 60, from: '2026-11-24T12:01:00Z' }, now, 30).count).toBe(30);
  });

  it('given a from not before to, then it refuses with VALIDATION_FAILED naming query.from', () => {
    expect(() => candleWindow({ intervalSec: 60, from: '2026-11-24T12:10:00Z', to: '2026-11-24T12:10:00Z' }, now)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED', details: { violations: [expect.objectContaining({ field: 'query.from' })] } }),
    );
    expect(() => candleWindow({ intervalSec: 60, from: '2026-11-25T00:00:00Z' }, now)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});
