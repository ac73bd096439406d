import { readChainId, readNodeKey } from './node-key';

describe('readNodeKey', () => {
  const hex = 'ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
  it('reads a key with or without 0x, trimmed', () => {
    expect(readNodeKey(`0x${hex}\n`)).toEqual({ ok: true, key: `0x${hex}` });
    expect(readNodeKey(hex.toUpperCase())).toEqual({ ok: true, key: `0x${hex}` });
  });
  it('refuses what is not a key', () => {
    expect(readNodeKey('0x1234').ok).toBe(false);
    expect(readNodeKey(`0x${'0'.repeat(64)}`).ok).toBe(false);
    expect(readNodeKey('').ok).toBe(false);
  });
});

describe('readChainId', () => {
  it('reads positive integers only', () => {
    expect(readChainId(' 31337 ')).toBe(31337);
    expect(readChainId('0')).toBeUndefined();
    expect(readChainId('1.5')).toBeUndefined();
    expect(readChainId('')).toBeUndefined();
  });
});
