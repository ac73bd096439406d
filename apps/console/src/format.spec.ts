import {
  agpu,
  agpuNumber,
  formatAgpuAmount,
  formatAgpuExact,
  formatClock,
  formatDurationSec,
  formatMultiplierBps,
  formatPercentBps,
  formatTime,
  humanize,
  isFinalStatus,
  shortHex,
  statusTone,
  sumWei,
  toWei,
} from './format';

const AGPU = 10n ** 18n;

describe('formatAgpuAmount', () => {
  it.each<[string | bigint, number, string]>([
    ['0', 4, '0'],
    [AGPU, 4, '1'],
    ['1500000000000000000', 4, '1.5'],
    [1234n * AGPU + 567_890_000_000_000_000n, 5, '1,234.56789'],
    [1234n * AGPU + 567_890_000_000_000_000n, 2, '1,234.57'],
    ['999999999999999999999999', 4, '1,000,000'], // rounds up across the point
    ['123456789012345678901234567890', 0, '123,456,789,012'], // far past 2^53, exact
    ['1', 4, '<0.0001'],
    ['-1', 4, '>-0.0001'],
    [-(3n * AGPU) / 2n, 4, '-1.5'],
    ['50000', 18, '0.00000000000005'],
  ])('%s at %i decimals is %s', (wei, decimals, text) => {
    expect(formatAgpuAmount(wei, decimals)).toBe(text);
  });
  it('refuses what is not wei', () => {
    expect(() => formatAgpuAmount('1.5')).toThrow(TypeError);
    expect(() => formatAgpuAmount('1e18')).toThrow(TypeError);
    expect(() => formatAgpuAmount('')).toThrow(TypeError);
    expect(() => formatAgpuAmount('1', 19)).toThrow(RangeError);
  });
  it('agpu adds the unit', () => {
    expect(agpu('2500000000000000000')).toBe('2.5 AGPU');
  });
});

describe('exact amounts', () => {
  it('formatAgpuExact keeps every digit', () => {
    expect(formatAgpuExact('123456789012345678901')).toBe('123.456789012345678901');
  });
  it('sumWei adds strings and bigints exactly', () => {
    expect(sumWei(['9007199254740993000', 7n, '0'])).toBe(9007199254740993007n);
  });
  it('toWei reads decimal strings only', () => {
    expect(toWei('-12')).toBe(-12n);
    expect(() => toWei('0x10')).toThrow(TypeError);
  });
  it('agpuNumber is a chart coordinate in AGPU', () => {
    expect(agpuNumber('1500000000000000000')).toBe(1.5);
    expect(agpuNumber('1')).toBe(0);
  });
});

describe('multipliers and shares', () => {
  it.each([
    [10_000, '×1'],
    [12_500, '×1.25'],
    [9_876, '×0.9876'],
  ])('%i bps is %s', (bps, text) => expect(formatMultiplierBps(bps)).toBe(text));
  it('percent', () => {
    expect(formatPercentBps(6250)).toBe('62.5%');
    expect(formatPercentBps(10_000)).toBe('100%');
    expect(formatPercentBps(null)).toBe('—');
  });
});

describe('times', () => {
  it('formatTime writes UTC', () => {
    expect(formatTime('2026-11-28T15:04:05.123+01:00')).toBe('2026-11-28 14:04:05 UTC');
    expect(formatTime(null)).toBe('—');
    expect(formatTime('not a time')).toBe('—');
  });
  it('formatClock', () => expect(formatClock('2026-11-28T15:04:05Z')).toBe('15:04:05'));
  it.each<[number | null, string]>([
    [0, '0 s'],
    [45, '45 s'],
    [200, '3 min 20 s'],
    [180, '3 min'],
    [7500, '2 h 5 min'],
    [3 * 86_400 + 4 * 3600, '3 d 4 h'],
    [null, '—'],
    [-1, '—'],
  ])('duration %s is %s', (sec, text) => expect(formatDurationSec(sec)).toBe(text));
});

describe('statuses and codes', () => {
  it.each([
    ['queued', 'waiting'],
    ['running', 'active'],
    ['settled', 'good'],
    ['failed', 'bad'],
    ['cancelled', 'neutral'],
    ['something-new', 'neutral'],
  ])('%s reads %s', (status, tone) => expect(statusTone(status)).toBe(tone));
  it('final statuses', () => {
    expect(['settled', 'refunded', 'failed', 'cancelled'].every(isFinalStatus)).toBe(true);
    expect(isFinalStatus('completed')).toBe(false);
  });
  it('humanize', () => {
    expect(humanize('ai-training')).toBe('AI training');
    expect(humanize('priceFit')).toBe('Price fit');
    expect(humanize('no-supply-for-gpu-model')).toBe('No supply for GPU model');
  });
  it('shortHex', () => {
    expect(shortHex(`0x${'ab'.repeat(32)}`)).toBe('0xababab…ababab');
    expect(shortHex('0x12')).toBe('0x12');
    expect(shortHex(null)).toBe('—');
  });
});
