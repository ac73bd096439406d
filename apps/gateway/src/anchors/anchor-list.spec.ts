import { cursorIndex, onChainOf } from './anchor-list';

const ROOT = `0x${'ab'.repeat(32)}`;
const recorded = { fromSeq: 101, toSeq: 250, root: ROOT };

describe("an anchor on the log against the contract's (onChainOf)", () => {
  it('given the same range and root (the root in any hex case), then verified', () => {
    expect(onChainOf(recorded, { fromSeq: 101n, toSeq: 250n, root: ROOT.toUpperCase().replace('0X', '0x') as `0x${string}` })).toBe('verified');
  });
  it.each([
    ['another root', { fromSeq: 101n, toSeq: 250n, root: `0x${'cd'.repeat(32)}` }],
    ['another end', { fromSeq: 101n, toSeq: 251n, root: ROOT }],
    ['another start', { fromSeq: 100n, toSeq: 250n, root: ROOT }],
  ])('given %s at that index, then mismatch', (_why, chain) => {
    expect(onChainOf(recorded, chain as never)).toBe('mismatch');
  });
  it('given no anchor at that index on chain, then missing', () => {
    expect(onChainOf(recorded, undefined)).toBe('missing');
  });
});

describe('the anchors cursor', () => {
  it('is the decimal index a page stopped above', () => {
    expect(cursorIndex('41')).toBe(41);
    expect(cursorIndex('0')).toBe(0);
  });
  it.each(['', 'abc', '-1', '01', '1.5', '12345678901'])('refuses %j as BAD_CURSOR', (cursor) => {
    expect(() => cursorIndex(cursor)).toThrow(expect.objectContaining({ code: 'BAD_CURSOR' }));
  });
});
