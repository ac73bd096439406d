import { DomainError, parseWei } from './errors';

describe('parseWei', () => {
  it('given a decimal amount in base units, then it is that bigint (up to uint256 width)', () => {
    expect(parseWei('budgetWei', '0')).toBe(0n);
    expect(parseWei('budgetWei', '50000000000000000000')).toBe(50n * 10n ** 18n);
    expect(parseWei('budgetWei', '9'.repeat(78))).toBe(10n ** 78n - 1n);
  });

  it.each(['', '-1', '1.5', '007', '1e18', ' 1', '9'.repeat(79)])('given %j, then BAD_AMOUNT naming the field', (bad) => {
    expect(() => parseWei('stakeWei', bad)).toThrow(DomainError);
    expect(() => parseWei('stakeWei', bad)).toThrow(expect.objectContaining({ code: 'BAD_AMOUNT', kind: 'invalid', details: { field: 'stakeWei' } }));
  });
});
