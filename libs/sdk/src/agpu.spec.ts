import fc from 'fast-check';
import { formatAgpu, parseAgpu } from './agpu';
import { AgpuFormatError } from './errors';

const AGPU = 10n ** 18n;

describe('parseAgpu', () => {
  it.each([
    ['1.5', 1_500_000_000_000_000_000n],
    ['50', 50n * AGPU],
    ['0', 0n],
    ['0.000000000000000001', 1n],
    ['1.000000000000000000', AGPU],
    ['007.5', 7n * AGPU + AGPU / 2n],
    ['-2.25', -(2n * AGPU + AGPU / 4n)],
    ['115792089237316195423570985008687907853269984665640564039457.584007913129639935', 2n ** 256n - 1n],
    // as viem's parseUnits reads them: an empty side of the point is 0
    ['.5', AGPU / 2n],
    ['1.', AGPU],
    ['-.25', -(AGPU / 4n)],
    ['0.', 0n],
    // zeros past the 18th decimal are exact: nothing is dropped
    ['1.0000000000000000000', AGPU],
    ['0.00000000000000000100000', 1n],
    ['.000000000000000001000', 1n],
  ])('given %j, gives exactly %s base units', (text, wei) => {
    expect(parseAgpu(text)).toBe(wei);
  });

  it.each([['0.0000000000000000001'], ['1.0000000000000000001'], ['.0000000000000000015']])(
    'given %j (a nonzero digit past the 18th decimal), refuses with AGPU_TOO_MANY_DECIMALS rather than dropping a part of the amount',
    (text) => {
      expect(() => parseAgpu(text)).toThrow(expect.objectContaining({ name: 'AgpuFormatError', code: 'AGPU_TOO_MANY_DECIMALS' }));
    },
  );

  it.each([[''], ['.'], ['-'], ['-.'], ['+1'], ['+.5'], ['-+1'], ['abc'], ['1e18'], ['1,5'], ['1_000'], [' 1'], ['1 '], ['. 5'], ['1..'], ['..5'], ['0x10'], ['1.5.5'], ['--1'], ['１'], ['1'.repeat(101)]])(
    'given %j (not a plain decimal), refuses with AGPU_MALFORMED',
    (text) => {
      expect(() => parseAgpu(text)).toThrow(AgpuFormatError);
      expect(() => parseAgpu(text)).toThrow(expect.objectContaining({ code: 'AGPU_MALFORMED' }));
    },
  );

  it('given something that is not a string, refuses with AGPU_MALFORMED', () => {
    expect(() => parseAgpu(1.5 as unknown as string)).toThrow(expect.objectContaining({ code: 'AGPU_MALFORMED' }));
  });
});

describe('formatAgpu', () => {
  it.each([
    [1_500_000_000_000_000_000n, '1.5'],
    [0n, '0'],
    [1n, '0.000000000000000001'],
    [50n * AGPU, '50'],
    [-(AGPU / 2n), '-0.5'],
    ['1500000000000000000', '1.5'],
    ['-1', '-0.000000000000000001'],
  ])('given %s, gives %j', (wei, text) => {
    expect(formatAgpu(wei)).toBe(text);
  });

  it.each([['1.5'], [''], ['0x10'], ['1e18'], [' 1']])('given the string %j (not base units), refuses with AGPU_MALFORMED', (wei) => {
    expect(() => formatAgpu(wei)).toThrow(expect.objectContaining({ code: 'AGPU_MALFORMED' }));
  });

  it('is the exact inverse of parseAgpu for every amount', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 256n), max: 2n ** 256n }), (wei) => {
        expect(parseAgpu(formatAgpu(wei))).toBe(wei);
      }),
      { numRuns: 2000 },
    );
  });
});
