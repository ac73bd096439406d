import { agpu, bps, duration, fields, instant, table, toJson } from './output';

describe('output: how the CLI writes answers for people and for --json', () => {
  it('writes bigints as decimal strings in JSON, the API own form', () => {
    expect(toJson({ amountWei: 10n ** 30n, n: 1 }, { compact: true })).toBe('{"amountWei":"1000000000000000000000000000000","n":1}');
  });

  it('shows amounts as exact AGPU, and what is missing as -', () => {
    expect(agpu('1500000000000000000')).toBe('1.5 AGPU');
    expect(agpu(1n)).toBe('0.000000000000000001 AGPU');
    expect(agpu('0')).toBe('0 AGPU');
    expect(agpu(null)).toBe('-');
    expect(agpu(undefined)).toBe('-');
    // an amount the API would never send is shown as it came, not hidden
    expect(agpu('12abc')).toBe('12abc');
  });

  it('shows basis points as factors, seconds as durations, instants to the second in UTC', () => {
    expect([bps(12_500), bps(10_000), bps(8_333), bps(null)]).toEqual(['x1.25', 'x1', 'x0.8333', '-']);
    expect([duration(0), duration(45), duration(60), duration(125), duration(3600), duration(11_400)]).toEqual(['0s', '45s', '1m', '2m 5s', '1h', '3h 10m']);
    expect(instant('2026-11-24T12:00:05.123+01:00')).toBe('2026-11-24 11:00:05Z');
    expect(instant(null)).toBe('-');
    expect(instant('not a date')).toBe('not a date');
  });

  it('prints tables as aligned columns without borders or colours, and no trailing spaces', () => {
    expect(table(['A', 'LONGER'], [['x', null], ['yyyy', 2]])).toBe('A     LONGER\nx     -\nyyyy  2');
  });

  it('prints fields aligned, leaving out the ones without a value', () => {
    expect(fields([['job', 'j1'], ['waiting', undefined], ['status', 'queued']])).toBe('job     j1\nstatus  queued');
  });
});
