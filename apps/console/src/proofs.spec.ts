import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { keccak256, stringToBytes } from 'viem';
import { processProof, standardLeafHash, verifyProvenEvent } from './proofs';

const ENCODING = ['uint64', 'bytes32'];
const messages = Array.from({ length: 7 }, (_, i) => JSON.stringify({ type: 'JobQueued', n: i, text: 'é' }));
const leaves: [number, string][] = messages.map((m, i) => [100 + i, keccak256(stringToBytes(m))]);
const tree = StandardMerkleTree.of(leaves, ENCODING);

describe('standard Merkle proofs (as @openzeppelin/merkle-tree builds them)', () => {
  it('hashes a leaf as the library does', () => {
    expect(standardLeafHash(ENCODING, [BigInt(leaves[2][0]), leaves[2][1]])).toBe(tree.leafHash(leaves[2]));
  });
  it.each(leaves.map((_, i) => i))('rebuilds the root from leaf %i and its proof', (i) => {
    expect(processProof(tree.leafHash(leaves[i]) as `0x${string}`, tree.getProof(i) as `0x${string}`[])).toBe(tree.root);
  });
});

describe('verifyProvenEvent', () => {
  const event = (i: number, change: Partial<{ message: string; eventHash: string; proof: string[] | null; root: string }> = {}) => ({
    seq: leaves[i][0],
    message: change.message ?? messages[i],
    eventHash: change.eventHash ?? leaves[i][1],
    anchor: change.proof === null ? null : { root: change.root ?? tree.root },
    proof: change.proof === undefined ? tree.getProof(i) : change.proof,
  });
  it('verifies an anchored event', () => {
    expect(verifyProvenEvent(event(3), ENCODING)).toMatchObject({ state: 'verified' });
  });
  it('says an event is not anchored yet, and whether its hash matches', () => {
    expect(verifyProvenEvent(event(3, { proof: null }), ENCODING)).toEqual({ state: 'not-anchored', eventHashMatches: true });
  });
  it('fails a message that is not the hashed one', () => {
    expect(verifyProvenEvent(event(3, { message: messages[3].replace('é', 'e') }), ENCODING)).toMatchObject({ state: 'failed', eventHashMatches: false, rootMatches: true });
  });
  it('fails a proof of another leaf, and another root', () => {
    expect(verifyProvenEvent(event(3, { proof: tree.getProof(4) }), ENCODING)).toMatchObject({ state: 'failed', rootMatches: false });
    expect(verifyProvenEvent(event(3, { root: `0x${'00'.repeat(32)}` }), ENCODING)).toMatchObject({ state: 'failed', rootMatches: false });
  });
  it('fails what is not a hash', () => {
    expect(verifyProvenEvent(event(3, { root: '0x12' }), ENCODING)).toMatchObject({ state: 'failed', reason: /32-byte/ });
  });
});
