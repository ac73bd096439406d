import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import type { Hex } from 'viem';

/** The leaf encoding AuditAnchor verifies: (stream sequence, hash of the event). */
export const ANCHOR_LEAF_ENCODING = ['uint64', 'bytes32'] as const;

export interface AnchorLeaf {
  seq: bigint;
  eventHash: Hex;
}

export interface AnchorTree {
  root: Hex;
  fromSeq: bigint;
  toSeq: bigint;
  /** The inclusion proof of the event at `seq` (throws RangeError if not in the tree). */
  proof(seq: bigint): Hex[];
}

/** Build the Merkle tree of a contiguous range of the trade log (pure; @openzeppelin/merkle-tree). */
export function buildAnchorTree(leaves: readonly AnchorLeaf[]): AnchorTree {
  if (leaves.length === 0) throw new RangeError('an anchor needs at least one event');
  const sorted = [...leaves].sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  sorted.forEach((leaf, i) => {
    if (i > 0 && leaf.seq !== sorted[i - 1]!.seq + 1n) throw new RangeError(`anchor range must be contiguous: ${sorted[i - 1]!.seq} then ${leaf.seq}`);
  });
  const tree = StandardMerkleTree.of(
    sorted.map((l) => [l.seq, l.eventHash]),
    [...ANCHOR_LEAF_ENCODING],
  );
  const index = new Map<bigint, number>();
  for (const [i, v] of tree.entries()) index.set(BigInt(v[0] as bigint), i);
  return {
    root: tree.root as Hex,
    fromSeq: sorted[0]!.seq,
    toSeq: sorted[sorted.length - 1]!.seq,
    proof(seq: bigint): Hex[] {
      const i = index.get(seq);
      if (i === undefined) throw new RangeError(`seq ${seq} is not in this anchor`);
      return tree.getProof(i) as Hex[];
    },
  };
}
