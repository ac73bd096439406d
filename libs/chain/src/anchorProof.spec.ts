import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { ANCHOR_LEAF_ENCODING, buildAnchorTree } from './anchorTree';
import { AnchorMismatchError, anchorTreeOf, eventHashOf, verifyEventProof, type PostedAnchor } from './anchorProof';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Leaves of [from, to]: event n is the message `{"n":n}`. */
const leavesOf = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ({ seq: BigInt(from + i), eventHash: eventHashOf(bytes(`{"n":${from + i}}`)) }));
const anchorOver = (index: number, from: number, to: number): PostedAnchor => ({ index, fromSeq: BigInt(from), toSeq: BigInt(to), root: buildAnchorTree(leavesOf(from, to)).root });

describe('an anchor rebuilt from the log, and the proofs it gives', () => {
  it('given the events of the range, proves each of them, and the proof checks with @openzeppelin/merkle-tree as anyone would', () => {
    const anchor = anchorOver(3, 41, 57);
    const tree = anchorTreeOf(anchor, leavesOf(41, 57));
    for (const leaf of leavesOf(41, 57)) {
      const proof = tree.proof(leaf.seq);
      expect(verifyEventProof({ root: anchor.root, seq: leaf.seq, eventHash: leaf.eventHash, proof })).toBe(true);
      expect(StandardMerkleTree.verify(anchor.root, [...ANCHOR_LEAF_ENCODING], [leaf.seq, leaf.eventHash], proof)).toBe(true);
    }
  });

  it('refuses an altered event, the right event at another seq, and a malformed proof', () => {
    const anchor = anchorOver(0, 1, 9);
    const tree = anchorTreeOf(anchor, leavesOf(1, 9));
    const leaf = leavesOf(5, 5)[0]!;
    const proof = tree.proof(5n);
    expect(verifyEventProof({ root: anchor.root, seq: 5n, eventHash: eventHashOf(bytes('{"n":5,"x":1}')), proof })).toBe(false);
    expect(verifyEventProof({ root: anchor.root, seq: 6n, eventHash: leaf.eventHash, proof })).toBe(false);
    expect(verifyEventProof({ root: anchor.root, seq: 5n, eventHash: leaf.eventHash, proof: ['0x1234'] })).toBe(false);
  });

  it('throws AnchorMismatchError naming both roots when one event of the range was altered', () => {
    const anchor = anchorOver(2, 10, 20);
    const altered = leavesOf(10, 20).map((l) => (l.seq === 15n ? { ...l, eventHash: eventHashOf(bytes('{"n":15,"tampered":true}')) } : l));
    let caught: unknown;
    try {
      anchorTreeOf(anchor, altered);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AnchorMismatchError);
    const e = caught as AnchorMismatchError;
    expect(e.rebuiltRoot).toBe(buildAnchorTree(altered).root);
    expect(e.rebuiltRoot).not.toBe(anchor.root);
    expect(e.message).toContain('anchor #2 [10, 20]');
    expect(e.message).toContain(anchor.root);
  });

  it('throws AnchorMismatchError without a root when the events read do not fill the range', () => {
    const anchor = anchorOver(1, 10, 20);
    expect(() => anchorTreeOf(anchor, leavesOf(10, 19))).toThrow(/anchor #1 \[10, 20\]: the log holds 10 of its 11 events/);
    expect(() => anchorTreeOf(anchor, leavesOf(11, 21))).toThrow(/cover \[11, 21\]/);
  });
});
