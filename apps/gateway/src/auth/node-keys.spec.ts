import fc from 'fast-check';
import { secp256k1 } from '@noble/curves/secp256k1';
import { bytesToHex, hashMessage, hexToBytes, verifyMessage, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { NodeKeys, verifyWithPoint } from './node-keys';

const N = secp256k1.CURVE.n;
const keyOf = (i: number): Hex => `0x${(BigInt(i) + 0x1234567n).toString(16).padStart(64, '0')}`;
/** The same signature with s replaced by n - s and v flipped: also valid (viem accepts high-s). */
function malleate(sig: Hex): Hex {
  const s = BigInt(`0x${sig.slice(66, 130)}`);
  const v = Number.parseInt(sig.slice(130), 16);
  return `${sig.slice(0, 66)}${(N - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}` as Hex;
}
function tamper(sig: Hex, at: number): Hex {
  const bytes = hexToBytes(sig);
  bytes[at % 65] ^= 1 << at % 8;
  return bytesToHex(bytes);
}

describe('NodeKeys: node signatures checked against a kept point, with the answers of viem verifyMessage', () => {
  it('given a key seen once, when later signatures are checked against its point, then each answer equals verifyMessage, for good, tampered, malleated, wrong-v and other-key signatures', async () => {
    const accounts = [0, 1, 2].map((i) => privateKeyToAccount(keyOf(i)));
    const keys = new NodeKeys();
    for (const a of accounts) expect(await keys.verify(a.address, 'first', await a.signMessage({ message: 'first' }))).toBe(true);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.string({ maxLength: 64 }), fc.oneof(fc.constant('good'), fc.constant('malleated'), fc.constant('wrong-v'), fc.integer({ min: 0, max: 519 })), async (signer, claimed, message, change) => {
        const good = await accounts[signer]!.signMessage({ message });
        const sig: Hex = change === 'good' ? good : change === 'malleated' ? malleate(good) : change === 'wrong-v' ? (`${good.slice(0, 130)}${good.endsWith('1b') ? '1c' : '1b'}` as Hex) : tamper(good, change);
        const expected = await verifyMessage({ address: accounts[claimed]!.address, message, signature: sig }).catch(() => false);
        expect(await keys.verify(accounts[claimed]!.address, message, sig)).toBe(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('given a first signature that is not the claimed key\'s, then it is refused and no point is kept for that key', async () => {
    const [a, b] = [privateKeyToAccount(keyOf(7)), privateKeyToAccount(keyOf(8))];
    const keys = new NodeKeys();
    expect(await keys.verify(a.address, 'm', await b.signMessage({ message: 'm' }))).toBe(false);
    expect(await keys.verify(a.address, 'm', await a.signMessage({ message: 'm' }))).toBe(true);
    expect(await keys.verify(a.address, 'm', await b.signMessage({ message: 'm' }))).toBe(false);
  });

  it('given malformed signatures (short, v out of range, r or s zero or past n), then they are refused without throwing', () => {
    const p = secp256k1.ProjectivePoint.fromHex(secp256k1.getPublicKey(hexToBytes(keyOf(1)), false));
    const h = hashMessage('x');
    const hex64 = (x: bigint) => x.toString(16).padStart(64, '0');
    for (const sig of ['0x1234', `0x${hex64(1n)}${hex64(1n)}1d`, `0x${hex64(0n)}${hex64(1n)}1b`, `0x${hex64(1n)}${hex64(N)}1b`, `0x${hex64(N)}${hex64(1n)}1c`]) {
      expect(verifyWithPoint(p, h, sig as Hex)).toBe(false);
    }
  });
});
