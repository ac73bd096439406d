import { MARKET_STATS_MATCH_SECONDS } from '@starminer/events';
import { matchesPerSecond, matchSeconds } from './stats';

const NOW = Date.UTC(2026, 10, 24, 12, 0, 30, 750); // 12:00:30.750
const SEC = 1000;
const second = (hh: number, mm: number, ss: number) => Date.UTC(2026, 10, 24, hh, mm, ss);

describe('matches per second over the last minute', () => {
  it('given now, then the seconds counted are the 60 up to and with the current one', () => {
    expect(MARKET_STATS_MATCH_SECONDS).toBe(60);
    expect(matchSeconds(NOW)).toEqual({ fromMs: second(11, 59, 31), toMs: second(12, 0, 31) });
  });

  it('given matches in some seconds, then every second is listed oldest first, zero where none, and lastMinute is their sum', () => {
    const { lastMinute, perSecond } = matchesPerSecond(
      [
        { secondMs: second(11, 59, 31), count: 2 },
        { secondMs: second(12, 0, 0), count: 1 },
        { secondMs: second(12, 0, 30), count: 4 },
      ],
      NOW,
    );
    expect(perSecond).toHaveLength(60);
    expect(perSecond[0]).toEqual({ at: '2026-11-24T11:59:31.000Z', count: 2 });
    expect(perSecond[29]).toEqual({ at: '2026-11-24T12:00:00.000Z', count: 1 });
    expect(perSecond[59]).toEqual({ at: '2026-11-24T12:00:30.000Z', count: 4 });
    expect(perSecond.filter((s) => s.count === 0)).toHaveLength(57);
    expect(perSecond.map((s) => Date.parse(s.at)).every((t, i, all) => i === 0 || t - all[i - 1]! === SEC)).toBe(true);
    expect(lastMinute).toBe(7);
  });

  it('given counts outside the minute or not on a second, then they are not shown', () => {
    const { lastMinute, perSecond } = matchesPerSecond(
      [
        { secondMs: second(11, 59, 30), count: 5 },
        { secondMs: second(12, 0, 31), count: 5 },
        { secondMs: second(12, 0, 10) + 500, count: 5 },
      ],
      NOW,
    );
    expect(lastMinute).toBe(0);
    expect(perSecond.every((s) => s.count === 0)).toBe(true);
  });
});
